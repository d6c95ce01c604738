"""The Gaussian-process DLA finder (Garnett et al. 2017; Ho, Bird & Garnett 2020, 2021) as a peer.

A thin wrapper of ``gp-dla-finder`` (``pip install gp-dla-finder==0.1.0``, MIT; optional, in
the ``peers`` extra) configured for SDSS/BOSS spectra as its documentation describes: the GP
continuum model learned from eBOSS DR16Q quasars (``eboss_dr16q_minus_dr12q``), the BOSS
R = 2000 line-spread function (``boss-r2000-7tap``) and its null-versus-one-absorber model
comparison, the path its documentation calls statistically supported (at most one absorber
per spectrum). A spectrum is a detection when the posterior probability of an absorber is at
least ``threshold``; its redshift and log NHI are the best evaluated grid point. The output is
a table like :func:`cosmicbook.dla.find_dlas`'s, so that the chapter's scoring applies.

The eBOSS model normalises the spectrum over rest 1425-1475 Angstrom: spectra must reach
that far to the red.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

import numpy as np
from astropy.table import Table

from cosmicbook.core.results import BENCHMARK_RESULTS, load_benchmark
from cosmicbook.dla.simulate import DLA_RANGE
from cosmicbook.dla.voigt import LYA_WAVE, PIXEL_DEX

__all__ = ["GP_COMPARISON", "GPFinder", "GPFinderConfig", "compare_finders",
           "describe_gp_comparison", "gp_available", "gp_real_spectra", "load_gp_comparison"]


def gp_available() -> bool:
    """Whether ``gp-dla-finder`` is installed."""
    return importlib_util.find_spec("gp_dla_finder") is not None


@dataclass(frozen=True)
class GPFinderConfig:
    """Operating point of the GP finder.

    Attributes
    ----------
    preset : str
        ``"desi_y3"`` (50,000 quasi-Monte-Carlo samples, the production grid) or
        ``"desi_y3_fast"`` (10,000, the package's exploration preset).
    model : str
        Trained GP model; ``"eboss_dr16q_minus_dr12q"`` for SDSS/BOSS spectra.
    lsf_kernel : str
        ``"boss-r2000-7tap"`` for SDSS/BOSS.
    threshold : float
        Posterior absorber probability for a detection.
    """

    preset: str = "desi_y3"
    model: str = "eboss_dr16q_minus_dr12q"
    lsf_kernel: str = "boss-r2000-7tap"
    threshold: float = 0.5

    def __post_init__(self):
        if self.preset not in ("desi_y3", "desi_y3_fast"):
            raise ValueError(f"preset must be 'desi_y3' or 'desi_y3_fast', got {self.preset!r}")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")


class GPFinder:
    """Build the GP finder once; call it on spectra.

    Parameters
    ----------
    config : GPFinderConfig, optional

    Raises
    ------
    ModuleNotFoundError
        When gp-dla-finder is not installed (the message says how to install it).

    Examples
    --------
    ``find = dla.GPFinder(); table = find(wave, flux, ivar, z_qso)``
    """

    def __init__(self, config: GPFinderConfig | None = None):
        if not gp_available():
            raise ModuleNotFoundError("gp-dla-finder is not installed: pip install "
                                      "gp-dla-finder==0.1.0 (or cosmicbook[peers])")
        from gp_dla_finder import Config
        from gp_dla_finder.finder import Finder
        from gp_dla_finder.model import load_model

        self.config = config or GPFinderConfig()
        make = getattr(Config, self.config.preset)
        self._cfg = make(max_absorbers=1, lsf_kernel=self.config.lsf_kernel)
        self._finder = Finder(self._cfg, model=load_model(self.config.model),
                              warn_about_threads=False)

    @property
    def description(self) -> str:
        """The operating point in words (for tables and results files)."""
        c = self.config
        return (f"gp-dla-finder {c.preset} ({self._cfg.num_samples} QMC samples), model "
                f"{c.model}, LSF {c.lsf_kernel}, one absorber per spectrum, "
                f"p_absorber >= {c.threshold}")

    def __call__(self, wave, flux, ivar, z_qso: float) -> Table:
        """Run on one spectrum; a table with ``z_abs``, ``log_nhi``, ``confidence``
        (p_absorber), ``pixel`` and ``kind``, empty without a detection. ``meta["status"]``
        is the finder's status (``"completed"`` or why it could not run)."""
        from gp_dla_finder.gp.spectrum import Spectrum

        wave, flux, ivar = (np.asarray(a, dtype=np.float64) for a in (wave, flux, ivar))
        result = self._finder.run(Spectrum(wave, flux, ivar, z_qso=float(z_qso)))
        names = ("z_abs", "log_nhi", "confidence", "pixel", "kind")
        rows = []
        if result.detected(self.config.threshold) and result.absorber_candidates:
            cand = result.absorber_candidates[0]
            pixel = (np.log10(LYA_WAVE * (1.0 + cand.grid_z_abs)) - np.log10(wave[0])) / PIXEL_DEX
            rows.append((float(cand.grid_z_abs), float(cand.grid_log_nhi),
                         float(result.p_absorber), float(pixel),
                         "DLA" if cand.grid_log_nhi >= DLA_RANGE[0] else "subDLA"))
        table = Table(rows=rows or None, names=names, dtype=(float, float, float, float, "U6"))
        table.meta.update(z_qso=float(z_qso), status=result.status,
                          p_absorber=float(result.p_absorber))
        return table


#: Where ``benchmarks/dla_gp_comparison.py`` writes its results (in a source checkout).
GP_COMPARISON = BENCHMARK_RESULTS / "dla_gp_comparison.json"


def load_gp_comparison(path: str | Path | None = None) -> tuple[Table, dict]:
    """Read the results of ``benchmarks/dla_gp_comparison.py`` as one table.

    Returns
    -------
    (Table, dict)
        Rows per method and S/N bin: ``method``, ``low``, ``high`` (``inf`` for the open
        bin), ``n_dla``, ``completeness``, ``purity`` (fractions), ``sigma_dz``,
        ``sigma_dlogn``, ``seconds`` (per sightline); and the file's other fields (machine,
        dates, configurations, real spectra).

    Raises
    ------
    FileNotFoundError
        When the file is missing (it is written by the benchmark script).
    ValueError
        When it lacks the ``methods`` written by that script.
    """
    path = GP_COMPARISON if path is None else Path(path)
    data = load_benchmark(path.name, path.parent, script="dla_gp_comparison")
    if not isinstance(data.get("methods"), dict) or not data["methods"]:
        raise ValueError(f"{path.name}: expected a 'methods' mapping written by "
                         f"benchmarks/dla_gp_comparison.py")
    rows = []
    for method, entry in data["methods"].items():
        for b in entry["bins"]:
            rows.append((method, b["low"], np.inf if b["high"] is None else b["high"],
                         b["n_dla"], _nan(b["completeness"]), _nan(b["purity"]),
                         _nan(b["sigma_dz"]), _nan(b["sigma_dlogn"]),
                         entry["seconds_per_sightline"]))
    table = Table(rows=rows, names=("method", "low", "high", "n_dla", "completeness", "purity",
                                    "sigma_dz", "sigma_dlogn", "seconds"))
    return table, {k: v for k, v in data.items() if k != "methods"}


def _nan(value) -> float:
    return float("nan") if value is None else float(value)


def _open_row(table: Table, method: str, low: float) -> dict:
    """The row ``low`` to infinity (e.g. S/N > 5) of ``method`` in a comparison table."""
    rows = table[(table["method"] == method) & (table["low"] == low)
                 & ~np.isfinite(np.asarray(table["high"], dtype=float))]
    if len(rows) != 1:
        raise ValueError(f"the table has no single open S/N bin from {low} for {method!r}")
    return {name: rows[name][0] for name in rows.colnames}


def compare_finders(table: Table, ours: str = "CNN", peer: str = "GP finder",
                    snr_min: float = 5.0) -> dict[str, float]:
    """Our finder against a peer at S/N > ``snr_min`` (rows of :func:`load_gp_comparison`).

    Returns
    -------
    dict
        ``completeness``, ``purity`` (fractions) and ``sigma_dlogn`` (dex) of both, as
        ``ours_<name>`` and ``peer_<name>``; ``speedup`` (peer seconds per sightline over
        ours); ``n_dla``; and ``purity_bins_lost``: the S/N bins (as ``"lo-hi"``) from
        ``snr_min`` up where the peer is purer.
    """
    a, b = _open_row(table, ours, snr_min), _open_row(table, peer, snr_min)
    out = {"n_dla": int(a["n_dla"]), "speedup": float(b["seconds"] / a["seconds"])}
    for name in ("completeness", "purity", "sigma_dlogn"):
        out[f"ours_{name}"], out[f"peer_{name}"] = float(a[name]), float(b[name])
    lost = []
    closed = table[np.isfinite(np.asarray(table["high"], dtype=float))]
    for row in closed[(closed["method"] == ours) & (closed["low"] >= snr_min)]:
        other = closed[(closed["method"] == peer) & (closed["low"] == row["low"])]
        if len(other) and other["purity"][0] > row["purity"]:
            hi = row["high"]
            lost.append(f"{row['low']:g}-{hi:g}" if hi < 1e8 else f">{row['low']:g}")
    out["purity_bins_lost"] = lost
    return out


def describe_gp_comparison(table: Table, ours: str = "CNN", peer: str = "GP finder",
                           snr_min: float = 5.0) -> str:
    """The comparison's verdict in words, against the chapter's goals (at least as complete
    and as pure as the peer at S/N > ``snr_min``, sigma(dlogN) no larger, 20 times faster)."""
    c = compare_finders(table, ours, peer, snr_min)

    def verdict(name: str, better_high: bool, unit: str, scale: float) -> str:
        mine, theirs = c[f"ours_{name}"], c[f"peer_{name}"]
        ok = mine >= theirs if better_high else mine <= theirs
        fmt = (lambda v: f"{scale * v:.1f}{unit}") if scale != 1 else (lambda v: f"{v:.3f}{unit}")
        word = "meets" if ok else "misses"
        label = {"sigma_dlogn": "sigma(dlogN)"}.get(name, name)
        return f"{label} {fmt(mine)} against {fmt(theirs)} ({word} the goal)"

    parts = [verdict("completeness", True, " %", 100), verdict("purity", True, " %", 100),
             verdict("sigma_dlogn", False, " dex", 1)]
    speed = (f"{c['speedup']:.0f} times faster ("
             f"{'meets' if c['speedup'] >= 20 else 'misses'} the goal of 20)")
    text = (f"At S/N > {snr_min:g} ({c['n_dla']} DLAs) the {ours} against the {peer}: "
            + "; ".join(parts) + f"; {speed}.")
    if c["purity_bins_lost"]:
        text += (f" The {peer} is purer in the S/N bins "
                 + ", ".join(c["purity_bins_lost"]) + ".")
    return text


def gp_real_spectra(meta: dict) -> Table:
    """The absorbers each method reported on the real spectra in the committed comparison
    (``meta`` from :func:`load_gp_comparison`): ``key``, ``method``, ``z_abs``, ``log_nhi``,
    ``kind``; a row with NaNs and kind ``"none"`` for a method that reported nothing."""
    rows = []
    for key, methods in (meta.get("real_spectra") or {}).items():
        for method, entry in methods.items():
            found = entry.get("absorbers") or []
            if not found:
                rows.append((key, method, np.nan, np.nan, "none"))
            for a in found:
                rows.append((key, method, float(a["z_abs"]), float(a["log_nhi"]), a["kind"]))
    return Table(rows=rows or None, names=("key", "method", "z_abs", "log_nhi", "kind"),
                 dtype=("U20", "U20", float, float, "U6"))
