"""Transfer maps: how cosmic-ray masks hold up on instruments they were not trained on.

A transfer map runs every method on the same held-out frames over a grid of one instrument
parameter (PSF sigma, read noise, sky-line density...) with the others fixed, and reports per
grid point the two numbers a pipeline cares about:

* the TPR at a fixed pixel false-positive rate (default 0.1 %): how good the method can be when
  its threshold is set for this instrument;
* the FPR at the method's default operating point (threshold 0.5 for a network, its documented
  defaults for a classical method): what an unsuspecting user gets.

A method is a :class:`MaskMethod`: a function of a :class:`~cosmicbook.deepcr.simulate.
TrainingFrame` that returns either a probability map (a network; its ROC curve comes from
thresholding it) or a boolean mask at the default, with optionally a knob swept to draw an
ROC curve through operating points (a classical method; the TPR at the fixed FPR is then
interpolated between sweep points, the best swept TPR when every point lies below the FPR, and
undefined -- NaN -- when none does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from astropy.table import Table

from cosmicbook.core.progress import progress as _progress
from cosmicbook.darks.library import CosmicLibrary
from cosmicbook.deepcr.evaluate import ROCCurve, roc_curve, score_mask, sweep_curve
from cosmicbook.deepcr.randomise import (
    CosmicAugmentation,
    instrument_grid,
    make_randomised_frames,
)
from cosmicbook.deepcr.simulate import TrainingFrame

__all__ = [
    "PLAIN",
    "MaskMethod",
    "TransferFrames",
    "classical_methods",
    "make_transfer_frames",
    "network_method",
    "plot_transfer_map",
    "transfer_map",
    "transfer_pivot",
    "describe_transfer",
    "transfer_verdict",
    "worst_case",
]

#: The library as it is (rotated and flipped, no amplitude scaling or synthetic tracks): the
#: held-out frames of a transfer map use it, so that no method is tested on the training
#: augmentation.
PLAIN = CosmicAugmentation(amplitude=(1.0, 1.0), track_fraction=0.0)


@dataclass(frozen=True)
class MaskMethod:
    """A cosmic-ray masking method as a transfer map calls it.

    Attributes
    ----------
    run : callable
        ``run(frame, **{knob: value}) -> array``: float probabilities in [0, 1], or a bool
        mask.
    knob : str, optional
        Keyword of ``run`` swept to draw a classical method's ROC curve.
    values : sequence of float
        Its values (the default operating point needs no knob: ``run(frame)``).
    threshold : float
        Probability above which a pixel is flagged at the default operating point (0.5).
    """

    run: Callable[..., np.ndarray]
    knob: str | None = None
    values: Sequence[float] = field(default_factory=tuple)
    threshold: float = 0.5


@dataclass(eq=False)
class TransferFrames:
    """Held-out frames on a grid of one instrument parameter.

    Attributes
    ----------
    parameter : str
        The parameter varied (``"psf_sigma"``, ``"read_noise"``, ``"n_sky_lines"``...).
    values : list of float
        The grid.
    frames : list of list of TrainingFrame
        ``frames[i]``: the frames at ``values[i]``.
    """

    parameter: str
    values: list
    frames: list


def network_method(model, device=None, tile: int | None = None,
                   threshold: float = 0.5) -> MaskMethod:
    """A :class:`MaskMethod` running :func:`~cosmicbook.deepcr.predict_mask` with ``model``
    on ``frame.image`` (electrons)."""
    from cosmicbook.deepcr.inference import DEFAULT_TILE, predict_mask

    tile = DEFAULT_TILE if tile is None else tile

    def run(frame: TrainingFrame) -> np.ndarray:
        return predict_mask(frame.image, model, tile=tile, device=device)

    return MaskMethod(run, threshold=threshold)


def classical_methods(sdss_c2fudge: Sequence[float] = (0.2, 0.3, 0.5, 1.0),
                      lacosmic_sigclip: Sequence[float] = (3.0, 4.5, 6.0, 10.0)
                      ) -> dict[str, MaskMethod]:
    """The SDSS method (DESI's defaults, the frame's own PSF gradients and inverse variance)
    and LA Cosmic (astroscrappy's defaults, the frame's inverse variance), each with its main
    knob swept for the TPR at a fixed FPR."""
    from cosmicbook.deepcr.baselines import lacosmic_mask, sdss_cosmics

    def sdss(frame: TrainingFrame, **knob) -> np.ndarray:
        gradients = (frame.instrument or {}).get("psf_gradients")
        if gradients is None:
            raise ValueError("the SDSS method needs the frame's PSF gradients "
                             "(frame.instrument['psf_gradients'])")
        return sdss_cosmics(frame.image, frame.ivar, np.asarray(gradients), **knob)

    def lacosmic(frame: TrainingFrame, **knob) -> np.ndarray:
        return lacosmic_mask(frame.image, ivar=frame.ivar, **knob)

    return {"SDSS method": MaskMethod(sdss, "c2fudge", tuple(sdss_c2fudge)),
            "LA Cosmic": MaskMethod(lacosmic, "sigclip", tuple(lacosmic_sigclip))}


def make_transfer_frames(library: CosmicLibrary, parameter: str, values: Sequence[float],
                         size: int = 1024, n_frames: int = 1, seed: int = 0,
                         exptime: float = 1200.0, progress: bool | None = None,
                         **fixed: float) -> TransferFrames:
    """Simulate held-out frames with one instrument parameter on a grid.

    The other parameters stay at :data:`~cosmicbook.deepcr.randomise.DESI_INSTRUMENT`
    (or ``fixed``); every grid point gets frames of its own seeds (the same seeds at every
    point, so only the instrument changes); the cosmics come from ``library`` unaugmented.

    Parameters
    ----------
    library : CosmicLibrary
        Use a library the networks were not trained on (other darks).
    parameter : str
        See :func:`~cosmicbook.deepcr.randomise.instrument_grid`.
    values : sequence of float
    size : int
        Frame side, pixels.
    n_frames : int
        Frames per grid point.
    seed : int
    exptime : float
        Exposure time, s (1.4 cosmics per s per 4k frame).
    progress : bool or None
    **fixed
        Other instrument parameters held fixed.

    Returns
    -------
    TransferFrames
    """
    grid = instrument_grid(parameter, values, exptime=exptime, **fixed)
    frames = [make_randomised_frames(n_frames, size, library, ranges, PLAIN, seed=seed,
                                     progress=False)
              for ranges in _progress(grid, enabled=progress, desc=parameter, unit="point")]
    return TransferFrames(parameter=parameter, values=[float(v) for v in values],
                          frames=frames)


def _pooled_roc(outputs: Sequence[np.ndarray], frames: Sequence[TrainingFrame]) -> ROCCurve:
    return roc_curve(list(outputs), [f.mask for f in frames])


def _pooled_score(masks: Sequence[np.ndarray], frames: Sequence[TrainingFrame]):
    total = None
    for m, f in zip(masks, frames, strict=True):
        s = score_mask(m, f.mask)
        total = s if total is None else total + s
    return total


def _evaluate(method: MaskMethod, frames: Sequence[TrainingFrame], fpr: float
              ) -> dict[str, float]:
    t0 = time.perf_counter()
    outputs = [np.asarray(method.run(f)) for f in frames]
    seconds = (time.perf_counter() - t0) / len(frames)
    if outputs[0].dtype == bool:
        default = _pooled_score(outputs, frames)
        if method.knob is not None and len(method.values):
            scores = [_pooled_score([np.asarray(method.run(f, **{method.knob: v}))
                                     for f in frames], frames) for v in method.values]
            curve = sweep_curve(scores, method.values)
            tpr = float(curve.tpr_at(fpr))
            if np.isnan(tpr) and np.any(curve.fpr <= fpr):
                # every swept point is below the target: the best of them is reachable
                tpr = float(np.max(curve.tpr[curve.fpr <= fpr]))
        else:
            tpr = float("nan")
    else:
        default = _pooled_score([o > method.threshold for o in outputs], frames)
        tpr = float(_pooled_roc(outputs, frames).tpr_at(fpr))
    return {"tpr": tpr, "fpr_default": default.fpr, "tpr_default": default.tpr,
            "seconds": seconds}


def transfer_map(methods: Mapping[str, MaskMethod | Callable[..., np.ndarray]],
                 grids: TransferFrames | Sequence[TransferFrames], fpr: float = 1e-3,
                 progress: bool | None = None) -> Table:
    """Run every method on every grid point.

    Parameters
    ----------
    methods : mapping of name -> MaskMethod (or a bare ``run`` callable)
    grids : TransferFrames or a sequence of them
    fpr : float
        The fixed false-positive rate of the ``tpr`` column (default 1e-3).
    progress : bool or None

    Returns
    -------
    astropy.table.Table
        One row per (grid, value, method): ``parameter``, ``value``, ``method``, ``tpr``
        (at ``fpr``, NaN where undefined), ``fpr_default``, ``tpr_default``, ``seconds`` (per
        frame), pooled over the frames of the point.
    """
    if isinstance(grids, TransferFrames):
        grids = [grids]
    methods = {k: m if isinstance(m, MaskMethod) else MaskMethod(m) for k, m in methods.items()}
    if not methods:
        raise ValueError("no methods to evaluate")
    rows = []
    jobs = [(g, v, fr) for g in grids for v, fr in zip(g.values, g.frames, strict=True)]
    for grid, value, frames in _progress(jobs, enabled=progress, desc="transfer map",
                                         unit="point"):
        for name, method in methods.items():
            r = _evaluate(method, frames, fpr)
            rows.append({"parameter": grid.parameter, "value": value, "method": name, **r})
    table = Table(rows=rows, names=["parameter", "value", "method", "tpr", "fpr_default",
                                    "tpr_default", "seconds"])
    table.meta["fpr"] = fpr
    return table


def plot_transfer_map(table: Table, parameter: str = "psf_sigma", column: str = "tpr",
                      ax=None, styles: Mapping[str, dict] | None = None):
    """One line per method: ``column`` against the grid of ``parameter``.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    sub = table[table["parameter"] == parameter]
    if not len(sub):
        raise ValueError(f"no rows for parameter {parameter!r} in the table")
    for name in dict.fromkeys(sub["method"]):
        rows = sub[sub["method"] == name]
        order = np.argsort(rows["value"])
        y = np.asarray(rows[column], float)[order]
        scale = 100.0 if column in ("tpr", "fpr_default", "tpr_default") else 1.0
        style = {"marker": "o", **(styles or {}).get(name, {})}
        ax.plot(np.asarray(rows["value"])[order], scale * y, label=name, **style)
    labels = {"tpr": f"TPR at FPR {100 * table.meta.get('fpr', 1e-3):g} % (%)",
              "fpr_default": "FPR at the default operating point (%)",
              "tpr_default": "TPR at the default operating point (%)"}
    names = {"psf_sigma": "PSF core sigma (px)", "read_noise": "read noise (e-)",
             "n_sky_lines": "sky lines per 4k rows"}
    ax.set_xlabel(names.get(parameter, parameter))
    ax.set_ylabel(labels.get(column, column))
    if column == "fpr_default":
        ax.set_yscale("log")
    ax.legend(fontsize="small", ncol=2)
    return ax


def transfer_pivot(table: Table, parameter: str, column: str = "tpr",
                   scale: float = 100.0) -> Table:
    """One row per method, one column per grid value of ``parameter``.

    Parameters
    ----------
    table : astropy.table.Table
        From :func:`transfer_map`.
    parameter : str
        Which grid.
    column : str
        ``"tpr"``, ``"fpr_default"``, ``"tpr_default"`` or ``"seconds"``.
    scale : float
        Multiplies the values (default 100: percent).

    Returns
    -------
    astropy.table.Table
        Column ``method`` and one float column per grid value (named by its value); NaN
        (not reachable) is masked, so it prints as ``--``.
    """
    sub = table[table["parameter"] == parameter]
    if not len(sub):
        raise ValueError(f"no rows for parameter {parameter!r} in the table")
    if column not in table.colnames:
        raise ValueError(f"unknown column {column!r}; expected one of {table.colnames[3:]}")
    values = sorted(set(float(v) for v in sub["value"]))
    names = list(dict.fromkeys(sub["method"]))
    out = Table({"method": names})
    for v in values:
        at = sub[sub["value"] == v]
        lookup = {r["method"]: float(r[column]) * scale for r in at}
        out[f"{v:g}"] = [lookup.get(n, np.nan) for n in names]
        out[f"{v:g}"].format = ".2f"
    out.meta.update(parameter=parameter, column=column, scale=scale)
    from cosmicbook.core.prose import mask_nan

    return mask_nan(out)


def worst_case(table: Table) -> Table:
    """Per method over every grid point: the worst TPR at the fixed FPR and the worst FPR at
    the default operating point -- what a user of an unknown camera can count on.

    ``worst_tpr`` is NaN when at some grid point the method cannot reach the fixed FPR (a
    classical method none of whose swept settings gets that low).

    Returns
    -------
    astropy.table.Table
        ``method``, ``worst_tpr``, ``worst_fpr_default``, ``n_points``.
    """
    names = list(dict.fromkeys(table["method"]))
    rows = []
    for name in names:
        sub = table[table["method"] == name]
        rows.append((name, float(np.min(sub["tpr"])), float(np.max(sub["fpr_default"])),
                     len(sub)))
    out = Table(rows=rows, names=["method", "worst_tpr", "worst_fpr_default", "n_points"])
    out.meta["fpr"] = table.meta.get("fpr", 1e-3)
    return out


def transfer_verdict(table: Table, method: str, *, compare: str | None = None,
                     peers: Sequence[str] = (), tpr_goal: float = 0.93,
                     fpr_goal: float = 1e-3) -> str:
    """A paragraph stating, from the numbers, how ``method`` fared on a transfer map.

    Parameters
    ----------
    table : astropy.table.Table
        From :func:`transfer_map`.
    method : str
        The method judged.
    compare : str, optional
        A second method whose worst TPR is quoted (e.g. the single-instrument network).
    peers : sequence of str
        Methods counted as peers: the best of them (highest worst-case TPR) is quoted.
    tpr_goal, fpr_goal : float
        Goals for the worst TPR at the fixed FPR and the worst default FPR (fractions).

    Returns
    -------
    str
        Markdown.
    """
    worst = {r["method"]: (r["worst_tpr"], r["worst_fpr_default"]) for r in worst_case(table)}
    if method not in worst:
        raise ValueError(f"method {method!r} is not in the table")
    fpr = 100 * table.meta.get("fpr", 1e-3)
    tpr_min, fpr_max = worst[method]
    n_points = len(table[table["method"] == method])

    def met(ok: bool) -> str:
        return "met" if ok else "**not met**"

    text = (f"Over all {n_points} grid points, {method} masks at least "
            f"**{100 * tpr_min:.1f} %** of the cosmic-ray pixels at FPR {fpr:g} % (goal "
            f"{100 * tpr_goal:g} %: {met(tpr_min >= tpr_goal)}), and at its default operating "
            f"point it flags at most {100 * fpr_max:.3f} % of the clean pixels (goal "
            f"{100 * fpr_goal:g} %: {met(fpr_max <= fpr_goal)}).")
    if compare is not None and compare in worst:
        text += f" {compare} falls to {100 * worst[compare][0]:.1f} % at its worst point."
    present = [p for p in peers if p in worst]
    if present:
        best = max(present, key=lambda p: np.nan_to_num(worst[p][0], nan=-1.0))
        text += (f" The best peer over the whole map, {best}, reaches "
                 f"{100 * worst[best][0]:.1f} % at its worst.")
    beaten = []
    ours = table[table["method"] == method]
    for row in ours:
        at = table[(table["parameter"] == row["parameter"]) & (table["value"] == row["value"])]
        better = [r["method"] for r in at if r["method"] != method and r["tpr"] > row["tpr"]]
        beaten += [f"{b} ({row['parameter']} = {row['value']:g})" for b in better]
    if beaten:
        text += f" {method} is beaten at fixed FPR by: " + "; ".join(beaten) + "."
    else:
        text += f" No other method beats {method} at fixed FPR at any grid point."
    return text


def describe_transfer(table: Table, *, single: str | None = None,
                      classical: Sequence[str] = (), peers: Sequence[str] = (),
                      parameter: str = "psf_sigma") -> str:
    """Sentences on how the other methods of a transfer map behave along one grid.

    Parameters
    ----------
    table : astropy.table.Table
        From :func:`transfer_map`.
    single : str, optional
        A network trained on one instrument: where along ``parameter`` it is worst.
    classical : sequence of str
        Methods with a swept knob: at how many grid points (of the whole map) they cannot
        reach the fixed FPR, and the range of their default FPR.
    peers : sequence of str
        Their TPR at the lowest and the highest value of ``parameter``.
    parameter : str

    Returns
    -------
    str
        Markdown.
    """
    fpr = 100 * table.meta.get("fpr", 1e-3)
    sub = table[table["parameter"] == parameter]
    if not len(sub):
        raise ValueError(f"no rows for parameter {parameter!r} in the table")
    lo, hi = float(np.min(sub["value"])), float(np.max(sub["value"]))
    parts = []
    if single is not None:
        rows = sub[sub["method"] == single]
        k = int(np.nanargmin(rows["tpr"]))
        parts.append(f"{single} is worst at {parameter} = {rows['value'][k]:g} "
                     f"({100 * rows['tpr'][k]:.1f} % at FPR {fpr:g} %) and best at "
                     f"{rows['value'][int(np.nanargmax(rows['tpr']))]:g} "
                     f"({100 * np.nanmax(rows['tpr']):.1f} %).")
    for name in classical:
        rows = table[table["method"] == name]
        if not len(rows):
            continue
        n_out = int(np.sum(np.isnan(rows["tpr"])))
        f_lo, f_hi = 100 * np.min(rows["fpr_default"]), 100 * np.max(rows["fpr_default"])
        reach = (f"cannot get down to FPR {fpr:g} % with any swept setting at {n_out} of "
                 f"{len(rows)} grid points" if n_out else
                 f"reaches FPR {fpr:g} % at every grid point")
        parts.append(f"{name} {reach}; at its defaults it flags {f_lo:.3f}-{f_hi:.3f} % of "
                     "the clean pixels.")
    described = []
    for name in peers:
        rows = sub[sub["method"] == name]
        if not len(rows):
            continue
        at = {float(r["value"]): 100 * float(r["tpr"]) for r in rows}
        described.append(f"{name} {at[lo]:.1f} -> {at[hi]:.1f} %")
    if described:
        parts.append(f"The peers from {parameter} = {lo:g} to {hi:g}: "
                     + "; ".join(described) + ".")
    return " ".join(parts)
