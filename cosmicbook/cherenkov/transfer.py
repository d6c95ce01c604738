"""Transfer between observing conditions: localisers trained at one condition, tested at all.

A network trained on maps of one array at one zenith angle meets, in operation, other zenith
angles (higher energy threshold, fewer and broader source events, another background) and
the other array. :func:`transfer_table` measures, condition by condition on freshly simulated
maps, the median localisation error of every localiser per flux bin and its completeness and
false-detection fraction on maps with zero to three sources -- next to the gammapy blind
search and, in the brightest bin, the gammapy maximum-likelihood fit on the same maps, which
know each map's IRFs. :func:`choose_threshold` is the rule the chapter uses for the
heat-map threshold, and :func:`source_significance` the Li & Ma significance of the true
sources that defines which ones are detectable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from cosmicbook.cherenkov.baselines import GammapyAnalysis, aperture_significance
from cosmicbook.cherenkov.evaluate import crab_units, localisation_error, match_detections
from cosmicbook.cherenkov.inference import localize
from cosmicbook.cherenkov.irf import condition_label
from cosmicbook.cherenkov.simulate import CountsMaps, Templates, simulate_maps
from cosmicbook.core.progress import progress

__all__ = ["TransferConfig", "choose_threshold", "describe_transfer", "source_significance",
           "transfer_summary", "transfer_table"]


@dataclass(frozen=True)
class TransferConfig:
    """Sizes and settings of :func:`transfer_table`.

    Attributes
    ----------
    n_maps : int
        Single-source maps per condition, with a flux log-uniform over ``flux_bins``.
    n_multi : int
        Maps with 0-3 sources per condition (completeness and false detections).
    n_blind : int
        Single-source maps per flux bin and condition analysed by the gammapy blind search.
    n_fit : int
        Maps of the brightest bin per condition analysed by the gammapy ML fit (0: none).
    flux_bins : tuple of float
        Bin edges in Crab units.
    multi_flux : (float, float)
        Flux range of the sources of the multi-source maps, Crab units.
    livetime : (float, float)
        Range of live times, s (log-uniform).
    min_significance : float
        Li & Ma significance at the true position above which a source is detectable.
    """

    n_maps: int = 200
    n_multi: int = 60
    n_blind: int = 15
    n_fit: int = 5
    flux_bins: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0)
    multi_flux: tuple[float, float] = (0.003, 1.0)
    livetime: tuple[float, float] = (50.0, 200.0)
    min_significance: float = 5.0

    def __post_init__(self):
        for name in ("n_maps", "n_multi", "n_blind", "n_fit"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if self.n_maps < 1:
            raise ValueError("n_maps must be at least 1")
        edges = np.asarray(self.flux_bins, dtype=float)
        if edges.ndim != 1 or len(edges) < 2 or np.any(edges <= 0) or \
                np.any(np.diff(edges) <= 0):
            raise ValueError(f"flux_bins must be increasing positive edges, got "
                             f"{self.flux_bins!r}")


def source_significance(maps: CountsMaps, radius: float = 4.0) -> np.ndarray:
    """Li & Ma significance (known IRF background) at every true source position.

    Parameters
    ----------
    maps : CountsMaps
    radius : float
        Aperture radius, pixels (4 = 0.1 deg).

    Returns
    -------
    numpy.ndarray, shape (N, k)
        NaN for the padding of maps with fewer than k sources.
    """
    out = np.full(maps.x.shape, np.nan)
    if len(maps) == 0:
        return out
    bkg = np.stack([maps.expected_background(i) for i in range(len(maps))])
    for j in range(maps.x.shape[1]):
        has = np.isfinite(maps.x[:, j])
        if has.any():
            out[has, j] = aperture_significance(maps.counts[has], maps.x[has, j],
                                                maps.y[has, j], radius, background=bkg[has])
    return out


def _score(maps, table, threshold, significance, min_significance):
    keep = table[table["score"] >= threshold]
    return match_detections(maps, keep["map"], keep["x"], keep["y"], significance,
                            min_significance=min_significance)


def choose_threshold(localiser, maps: CountsMaps, *, target: float = 0.05,
                     grid: Sequence[float] | None = None,
                     min_significance: float = 5.0) -> float:
    """The lowest heat-map threshold whose false-detection fraction on ``maps`` (validation
    maps, not the test set) stays below ``target``; the highest grid value if none does.

    Parameters
    ----------
    localiser : HeatmapLocaliser
    maps : CountsMaps
        Maps with zero to several sources.
    target : float
        Largest acceptable fraction of detections matching no true source.
    grid : sequence of float, optional
        Candidate thresholds (default 0.05, 0.10, ..., 0.95).
    min_significance : float
        Detectable sources (for the matching), see :func:`match_detections`.
    """
    if not 0 < target < 1:
        raise ValueError(f"target must lie in (0, 1), got {target!r}")
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2) if grid is None else np.asarray(grid)
    if grid.size == 0:
        raise ValueError("grid must hold at least one threshold")
    significance = source_significance(maps)
    found = localize(maps.counts, localiser, threshold=float(np.min(grid)))
    false = np.array([_score(maps, found, t, significance, min_significance).false_fraction
                      for t in grid])
    ok = false < target
    return float(grid[np.argmax(ok)]) if ok.any() else float(np.max(grid))


def _median(values):
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else np.nan


def transfer_table(templates: Templates, localisers: Mapping, thresholds: Mapping[str, float],
                   config: TransferConfig | None = None, *, seed: int = 0,
                   progress_bar: bool | None = None) -> Table:
    """Every localiser and the gammapy methods at every condition of ``templates``.

    Parameters
    ----------
    templates : Templates
        The conditions to test at (one block of rows each).
    localisers : mapping
        Name -> :class:`~cosmicbook.cherenkov.model.HeatmapLocaliser`.
    thresholds : mapping
        Name -> heat-map threshold of each localiser (e.g. from :func:`choose_threshold`).
    config : TransferConfig, optional
    seed : int
        Seeds the maps (the same maps for every method).
    progress_bar : bool or None
        Progress over the conditions.

    Returns
    -------
    astropy.table.Table
        One row per condition and method (the localisers, ``"blind search"``, ``"ML fit"``):
        ``condition``, ``method``, ``err_<lo>-<hi>`` (median localisation error in deg of
        the single-source maps of each flux bin; the gammapy methods on their subsets),
        ``n_<lo>-<hi>`` (maps behind it), ``completeness`` and ``false_fraction`` (maps with
        0-3 sources, detectable = Li & Ma above ``min_significance``; the blind search with
        a ``min_significance`` threshold on sqrt(TS); NaN for the ML fit).
    """
    config = TransferConfig() if config is None else config
    missing = sorted(set(localisers) - set(thresholds))
    if missing:
        raise ValueError(f"no threshold for the localiser(s) {missing}")
    edges = np.asarray(config.flux_bins, dtype=float)
    bins = [f"{lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    rows = []
    bar = progress(range(len(templates.conditions)), desc="conditions", unit="condition",
                   enabled=progress_bar)
    for k in bar:
        tpl = templates.select([k])
        label = condition_label(tpl.conditions[0])
        single = simulate_maps(config.n_maps, tpl, seed=seed + 101 * k,
                               flux=(float(edges[0]), float(edges[-1])),
                               livetime=config.livetime, margin=40)
        multi = simulate_maps(config.n_multi, tpl, seed=seed + 101 * k + 1, n_sources=(0, 3),
                              flux=config.multi_flux, livetime=config.livetime, margin=40)
        flux = crab_units(single.amplitude[:, 0])
        which = np.digitize(flux, edges) - 1
        subsets = {b: np.flatnonzero(which == i) for i, b in enumerate(bins)}
        significance = source_significance(multi) if config.n_multi else None
        for name, net in localisers.items():
            found = localize(single.counts, net, threshold=0.0, max_sources=1)
            x = np.full(len(single), np.nan)
            y = np.full(len(single), np.nan)
            x[np.asarray(found["map"], int)] = found["x"]
            y[np.asarray(found["map"], int)] = found["y"]
            err = localisation_error(x, y, single.x[:, 0], single.y[:, 0])
            row = {"condition": label, "method": name}
            for b, idx in subsets.items():
                row[f"err_{b}"], row[f"n_{b}"] = _median(err[idx]), len(idx)
            if config.n_multi:
                det = localize(multi.counts, net, threshold=float(thresholds[name]))
                score = _score(multi, det, float(thresholds[name]), significance,
                               config.min_significance)
                row["completeness"], row["false_fraction"] = (score.completeness,
                                                              score.false_fraction)
            else:
                row["completeness"] = row["false_fraction"] = np.nan
            rows.append(row)
        analysis = GammapyAnalysis(tpl)
        blind = {"condition": label, "method": "blind search"}
        fit = {"condition": label, "method": "ML fit"}
        for b, idx in subsets.items():
            chosen = idx[:config.n_blind]
            e = [localisation_error(p.x, p.y, single.x[i, 0], single.y[i, 0])
                 for i in chosen for p in analysis.blind_search(single, int(i))[:1]]
            blind[f"err_{b}"], blind[f"n_{b}"] = _median(e), len(chosen)
            fit[f"err_{b}"], fit[f"n_{b}"] = np.nan, 0
        if config.n_fit:
            top = subsets[bins[-1]][:config.n_fit]
            e = []
            for i in top:
                p = analysis.ml_fit(single, int(i))
                e.append(localisation_error(p.x, p.y, single.x[i, 0], single.y[i, 0]))
            fit[f"err_{bins[-1]}"], fit[f"n_{bins[-1]}"] = _median(e), len(top)
        if config.n_multi:
            peaks = [(i, p) for i in range(len(multi))
                     for p in analysis.blind_search(multi, i,
                                                    threshold=config.min_significance)]
            score = match_detections(multi, [i for i, _ in peaks], [p.x for _, p in peaks],
                                     [p.y for _, p in peaks], significance,
                                     min_significance=config.min_significance)
            blind["completeness"], blind["false_fraction"] = (score.completeness,
                                                              score.false_fraction)
        else:
            blind["completeness"] = blind["false_fraction"] = np.nan
        fit["completeness"] = fit["false_fraction"] = np.nan
        rows += [blind, fit]
    names = (["condition", "method"]
             + [c for b in bins for c in (f"err_{b}", f"n_{b}")]
             + ["completeness", "false_fraction"])
    table = Table(rows=[[r[n] for n in names] for r in rows], names=names)
    for name in table.colnames:
        if name.startswith("err_"):
            table[name].unit = "deg"
            table[name].format = ".4f"
        elif name in ("completeness", "false_fraction"):
            table[name].format = ".3f"
    return table


def _bins(table: Table) -> list[str]:
    return [c[4:] for c in table.colnames if c.startswith("err_")]


def _cell(table: Table, condition: str, method: str, column: str) -> float:
    """One number of a :func:`transfer_table` (NaN when the row is missing)."""
    rows = table[(table["condition"] == condition) & (table["method"] == method)]
    return float(rows[column][0]) if len(rows) else np.nan


def describe_transfer(table: Table, *, mixture: str, single: str,
                      fit_factor: float = 2.0) -> str:
    """Sentences on a :func:`transfer_table`: the goals met or missed, where, and by how much.

    Parameters
    ----------
    table : astropy.table.Table
        From :func:`transfer_table`.
    mixture, single : str
        Method names of the localiser trained on all conditions and of the one trained on
        the first condition only.
    fit_factor : float
        The goal "within ``fit_factor`` of the ML fit" in the brightest bin.

    Returns
    -------
    str
        Markdown.
    """
    bins = _bins(table)
    conditions = list(dict.fromkeys(table["condition"]))

    def get(condition, method, column):
        return _cell(table, condition, method, column)

    worse, compared = [], 0
    for c in conditions:
        for b in bins:
            ours, blind = get(c, mixture, f"err_{b}"), get(c, "blind search", f"err_{b}")
            if np.isfinite(ours) and np.isfinite(blind):
                compared += 1
                if ours > blind:
                    worse.append(f"{c} at {b} Crab ({ours:.3f} vs {blind:.3f} deg)")
    top = bins[-1]
    ratios = {c: get(c, mixture, f"err_{top}") / get(c, "ML fit", f"err_{top}")
              for c in conditions}
    ratios = {c: r for c, r in ratios.items() if np.isfinite(r)}
    out = []
    if compared == 0:
        out.append("No flux bin has both a localiser and a blind-search error to compare.")
    elif not worse:
        out.append(f"Trained on the mixture, the localiser is at least as precise as the "
                   f"gammapy blind search in all {compared} condition and flux-bin cells.")
    else:
        out.append(f"Trained on the mixture, the localiser is less precise than the gammapy "
                   f"blind search in {len(worse)} of {compared} condition and flux-bin "
                   f"cells: " + "; ".join(worse) + ".")
    if ratios:
        far = {c: r for c, r in ratios.items() if r > fit_factor}
        lo, hi = min(ratios.values()), max(ratios.values())
        span = f"{lo:.1f}" if f"{lo:.1f}" == f"{hi:.1f}" else f"{lo:.1f}-{hi:.1f}"
        if far:
            out.append(f"At {top} Crab its median error is {span} times the ML fit's, "
                       f"beyond {fit_factor:g}x at " + ", ".join(far) + ".")
        else:
            out.append(f"At {top} Crab its median error is {span} times the ML fit's, "
                       f"within {fit_factor:g}x at every condition.")
    home = conditions[0]
    grow = []
    for c in conditions[1:]:
        a, b = get(c, single, f"err_{top}"), get(c, mixture, f"err_{top}")
        if np.isfinite(a) and np.isfinite(b) and b > 0:
            grow.append((a / b, c))
    if grow:
        ratio, where = max(grow)
        comp_single = [get(c, single, "completeness") for c in conditions[1:]]
        comp_mix = [get(c, mixture, "completeness") for c in conditions[1:]]
        diff = np.nanmean(np.asarray(comp_single) - np.asarray(comp_mix))
        trend = "less" if diff < 0 else "more"
        if ratio > 1:
            size = (f"has up to {ratio:.1f} times the mixture-trained one's error at {top} "
                    f"Crab (at {where})")
        else:
            size = (f"is as precise as the mixture-trained one at {top} Crab (at most "
                    f"{ratio:.1f} times its error)")
        out.append(f"The localiser trained at {home} alone, away from it, {size} and is on "
                   f"average {abs(100 * diff):.0f} points {trend} complete on the "
                   f"multi-source maps.")
    return " ".join(out)


def transfer_summary(table: Table, *, mixture: str, single: str) -> dict:
    """The numbers behind the transfer goals, for a results table.

    Returns
    -------
    dict
        ``cells`` (condition x flux-bin cells where a localiser and the blind search both
        have an error), ``<kind>_cells_ok`` (cells where the localiser's median error is at
        most the blind search's) and ``<kind>_fit_ratio`` (the largest ratio over the
        conditions of its median error to the ML fit's in the brightest bin; NaN without
        fits), for ``kind`` in ``mixture`` and ``single``.
    """
    bins = _bins(table)
    conditions = list(dict.fromkeys(table["condition"]))

    def get(condition, method, column):
        return _cell(table, condition, method, column)

    out: dict = {}
    for kind, method in (("mixture", mixture), ("single", single)):
        ok = cells = 0
        ratios = []
        for c in conditions:
            for b in bins:
                ours, blind = get(c, method, f"err_{b}"), get(c, "blind search", f"err_{b}")
                if np.isfinite(ours) and np.isfinite(blind):
                    cells += 1
                    ok += ours <= blind
            r = get(c, method, f"err_{bins[-1]}") / get(c, "ML fit", f"err_{bins[-1]}")
            if np.isfinite(r):
                ratios.append(r)
        out["cells"] = cells
        out[f"{kind}_cells_ok"] = ok
        out[f"{kind}_fit_ratio"] = max(ratios) if ratios else np.nan
    return out
