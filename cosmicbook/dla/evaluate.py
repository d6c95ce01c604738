"""Score DLA catalogues against the simulation truth.

A detection *matches* a true absorber of the same sightline when their Ly alpha centres are
within ``max_pixels`` pixels (30 pixels = 2070 km/s); each absorber and each detection is
matched at most once, nearest pairs first. With that:

completeness (as DLA)
    true DLAs matched by a detection with log NHI >= 20.3, over all true DLAs;
completeness (any absorber)
    true DLAs matched by any detection;
purity
    detections with log NHI >= 20.3 that match a true DLA, over all such detections;
purity (any absorber)
    the same, counting matches to sub-DLAs as correct;
sigma(dz), sigma(dlogN)
    standard deviations of z_pred - z_true and of logN_pred - logN_true over the matched
    true DLAs (no clipping; the robust 1.4826 MAD is kept too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from astropy.table import Table

from cosmicbook.core.stats import robust_sigma
from cosmicbook.dla.simulate import Sightline

__all__ = ["DLAScore", "add_beyond_simulator_results", "binned_rates", "binned_scores",
           "confusion_matrix", "match_catalogue", "score", "stack_scores", "time_finders"]

KINDS = ("DLA", "subDLA", "none")


def match_catalogue(sightlines: Sequence[Sightline], detections: Sequence[Table],
                    max_pixels: float = 30.0) -> tuple[Table, Table]:
    """Match detections to the true absorbers, sightline by sightline.

    Returns
    -------
    truth : astropy.table.Table
        One row per true absorber: ``sightline``, ``snr``, ``z_qso``, ``z_abs``, ``log_nhi``,
        ``kind``, ``matched``, ``z_pred``, ``log_nhi_pred``, ``kind_pred`` ("none" if missed).
    found : astropy.table.Table
        One row per detection: ``sightline``, ``snr``, ``z_abs``, ``log_nhi``, ``kind``,
        ``matched``, ``kind_true`` ("none" if spurious), ``log_nhi_true``.
    """
    if len(sightlines) != len(detections):
        raise ValueError(f"{len(sightlines)} sightlines but {len(detections)} catalogues")
    t_rows, f_rows = [], []
    for i, (sl, det) in enumerate(zip(sightlines, detections, strict=True)):
        truth = sl.absorbers
        pt = np.asarray(truth["pixel"], dtype=float)
        pd = np.asarray(det["pixel"], dtype=float) if len(det) else np.empty(0)
        pairs = sorted((abs(a - b), j, k) for j, a in enumerate(pt) for k, b in enumerate(pd)
                       if abs(a - b) <= max_pixels)
        t_of_d, d_of_t = {}, {}
        for _, j, k in pairs:
            if j not in d_of_t and k not in t_of_d:
                d_of_t[j], t_of_d[k] = k, j
        for j, row in enumerate(truth):
            k = d_of_t.get(j)
            t_rows.append((i, sl.snr, sl.z_qso, row["z_abs"], row["log_nhi"], row["kind"],
                           k is not None, det["z_abs"][k] if k is not None else np.nan,
                           det["log_nhi"][k] if k is not None else np.nan,
                           det["kind"][k] if k is not None else "none"))
        for k, row in enumerate(det):
            j = t_of_d.get(k)
            f_rows.append((i, sl.snr, row["z_abs"], row["log_nhi"], row["kind"], j is not None,
                           truth["kind"][j] if j is not None else "none",
                           truth["log_nhi"][j] if j is not None else np.nan))
    truth_t = Table(rows=t_rows or None, names=(
        "sightline", "snr", "z_qso", "z_abs", "log_nhi", "kind", "matched", "z_pred",
        "log_nhi_pred", "kind_pred"), dtype=(int, float, float, float, float, "U6", bool,
                                             float, float, "U6"))
    found_t = Table(rows=f_rows or None, names=(
        "sightline", "snr", "z_abs", "log_nhi", "kind", "matched", "kind_true", "log_nhi_true"),
        dtype=(int, float, float, float, "U6", bool, "U6", float))
    return truth_t, found_t


@dataclass
class DLAScore:
    """Headline numbers of a DLA catalogue (see the module docstring); rates are fractions."""

    completeness: float
    completeness_any: float
    purity: float
    purity_any: float
    sigma_dz: float
    sigma_dlogn: float
    robust_sigma_dz: float
    robust_sigma_dlogn: float
    median_dlogn: float
    n_dla: int
    n_detected_dla: int
    n_sightlines: int


def _ratio(a, b) -> float:
    return float(a) / float(b) if b else float("nan")


def score(truth: Table, found: Table, snr_min: float = 0.0) -> DLAScore:
    """Completeness, purity and accuracies over sightlines with S/N > ``snr_min``."""
    t = truth[(truth["snr"] > snr_min) & (truth["kind"] == "DLA")]
    f = found[(found["snr"] > snr_min) & (found["kind"] == "DLA")]
    m = t[t["matched"]]
    dz = np.asarray(m["z_pred"] - m["z_abs"])
    dn = np.asarray(m["log_nhi_pred"] - m["log_nhi"])

    def rsig(x):
        return float(robust_sigma(x)) if x.size else float("nan")

    sl = set(truth["sightline"][truth["snr"] > snr_min]) | \
        set(found["sightline"][found["snr"] > snr_min])
    return DLAScore(
        completeness=_ratio(np.sum(t["kind_pred"] == "DLA"), len(t)),
        completeness_any=_ratio(np.sum(t["matched"]), len(t)),
        purity=_ratio(np.sum(f["kind_true"] == "DLA"), len(f)),
        purity_any=_ratio(np.sum(f["matched"]), len(f)),
        sigma_dz=float(np.std(dz)) if dz.size else float("nan"),
        sigma_dlogn=float(np.std(dn)) if dn.size else float("nan"),
        robust_sigma_dz=rsig(dz), robust_sigma_dlogn=rsig(dn),
        median_dlogn=float(np.median(dn)) if dn.size else float("nan"),
        n_dla=len(t), n_detected_dla=len(f), n_sightlines=len(sl))


def binned_rates(truth: Table, found: Table, by: str, bins, snr_min: float = 0.0) -> Table:
    """Completeness and purity (as DLA) in bins of ``by`` ("snr" or "log_nhi").

    Completeness is binned by the true value, purity by the detection's value (its S/N, or
    its predicted log NHI).
    """
    if by not in ("snr", "log_nhi"):
        raise ValueError(f"by must be 'snr' or 'log_nhi', got {by!r}")
    bins = np.asarray(bins, dtype=float)
    t = truth[(truth["kind"] == "DLA") & (truth["snr"] > snr_min)]
    f = found[(found["kind"] == "DLA") & (found["snr"] > snr_min)]
    rows = []
    for lo, hi in zip(bins[:-1], bins[1:], strict=True):
        tb = t[(t[by] >= lo) & (t[by] < hi)]
        fb = f[(f[by] >= lo) & (f[by] < hi)]
        rows.append((lo, hi, len(tb), _ratio(np.sum(tb["kind_pred"] == "DLA"), len(tb)),
                     len(fb), _ratio(np.sum(fb["kind_true"] == "DLA"), len(fb))))
    return Table(rows=rows, names=("low", "high", "n_true", "completeness", "n_found",
                                   "purity"))


def confusion_matrix(truth: Table, found: Table, snr_min: float = 0.0) -> np.ndarray:
    """Counts of (true class, predicted class) over DLA, subDLA and none.

    Rows: true DLA, true sub-DLA, nothing (spurious detections); columns: detected as DLA,
    detected as sub-DLA, not detected. The (none, none) cell is undefined and set to 0.
    """
    t = truth[truth["snr"] > snr_min]
    f = found[(found["snr"] > snr_min) & ~found["matched"]]
    out = np.zeros((3, 3), dtype=int)
    for i, kt in enumerate(KINDS[:2]):
        for j, kp in enumerate(KINDS):
            out[i, j] = int(np.sum((t["kind"] == kt) & (t["kind_pred"] == kp)))
    for j, kp in enumerate(KINDS[:2]):
        out[2, j] = int(np.sum(f["kind"] == kp))
    return out


def binned_scores(truth: Table, found: Table, snr_bins) -> Table:
    """:func:`score` in bins of sightline S/N: completeness and purity (as DLA, fractions),
    sigma(dz) and sigma(dlogN) (dex) and the number of true DLAs, one row per bin
    ``[low, high)``; a last row ``low = snr_bins[1]``, ``high = inf`` sums the bins above the
    first edge but one (e.g. S/N > 5 for bins starting 3, 5, ...)."""
    bins = np.asarray(snr_bins, dtype=float)
    if bins.ndim != 1 or bins.size < 2 or np.any(np.diff(bins) <= 0):
        raise ValueError(f"snr_bins must be increasing with at least two edges, got {snr_bins}")
    edges = list(zip(bins[:-1], bins[1:], strict=True))
    if bins.size > 2:
        edges.append((bins[1], np.inf))
    rows = []
    for lo, hi in edges:
        t = truth[(truth["snr"] >= lo) & (truth["snr"] < hi)]
        f = found[(found["snr"] >= lo) & (found["snr"] < hi)]
        s = score(t, f, snr_min=-np.inf)
        rows.append((lo, hi, s.n_dla, s.completeness, s.n_detected_dla, s.purity, s.sigma_dz,
                     s.sigma_dlogn))
    return Table(rows=rows, names=("low", "high", "n_dla", "completeness", "n_found", "purity",
                                   "sigma_dz", "sigma_dlogn"))


def stack_scores(tables: dict[str, Table]) -> Table:
    """Stack tables of :func:`binned_scores` into one with a leading ``method`` column."""
    from astropy.table import vstack

    if not tables:
        raise ValueError("need at least one table")
    out = []
    for name, table in tables.items():
        t = table.copy()
        t.add_column([name] * len(t), name="method", index=0)
        out.append(t)
    return vstack(out)


def time_finders(finders: dict, sightlines: Sequence[Sightline]) -> Table:
    """Run each finder (``f(sightline) -> table``) on the same sightlines, timing it.

    Returns
    -------
    astropy.table.Table
        ``method``, ``seconds`` (per sightline), ``n_dla`` (true DLAs), ``found`` (reported
        DLAs), ``correct`` (reported DLAs matching a true DLA) and ``missed``.
    """
    import time

    if not sightlines:
        raise ValueError("need at least one sightline")
    rows = []
    for name, find in finders.items():
        t0 = time.perf_counter()
        cats = [find(s) for s in sightlines]
        dt = (time.perf_counter() - t0) / len(sightlines)
        truth, found = match_catalogue(sightlines, cats)
        t = truth[truth["kind"] == "DLA"]
        f = found[found["kind"] == "DLA"]
        rows.append((name, dt, len(t), len(f), int(np.sum(f["kind_true"] == "DLA")),
                     int(np.sum(t["kind_pred"] != "DLA"))))
    return Table(rows=rows, names=("method", "seconds", "n_dla", "found", "correct", "missed"))


def _open_bin(table: Table, low: float) -> Table.Row:
    rows = table[(table["low"] == low) & ~np.isfinite(np.asarray(table["high"], dtype=float))]
    if len(rows) != 1:
        raise ValueError(f"expected one open S/N bin from {low} (binned_scores), got {len(rows)}")
    return rows[0]


def add_beyond_simulator_results(results, independent: dict[str, Table], *,
                                 ours: str, baseline: str, real: Table | None = None,
                                 gp_table: Table | None = None, gp_real: Table | None = None,
                                 gp_sightlines: int = 0, snr_min: float = 5.0) -> None:
    """Add the chapter's rows for data its simulator did not make to a results table.

    Parameters
    ----------
    results : cosmicbook.Results
    independent : dict of str to Table
        :func:`binned_scores` on sightlines of the independent simulator, by method; its bins
        start at the lowest S/N edge, then ``snr_min``.
    ours, baseline : str
        Keys of ``independent`` (and method names of ``real``) for the CNN and the classical
        baseline.
    real : Table, optional
        :func:`~cosmicbook.dla.real.search_real_spectra` for ``ours`` and ``baseline``.
    gp_table, gp_real : Table, optional
        :func:`~cosmicbook.dla.peers.load_gp_comparison` and
        :func:`~cosmicbook.dla.peers.gp_real_spectra` of the committed benchmark, whose
        methods are named ``"CNN"``, ``"GP finder"`` and ``"trough + Voigt"``.
    gp_sightlines : int
        Sightlines of that benchmark (for the notes).
    snr_min : float
        The lower edge of the headline S/N range.
    """
    from cosmicbook.dla.peers import compare_finders
    from cosmicbook.dla.real import REAL_SPECTRA

    mine, base = _open_bin(independent[ours], snr_min), _open_bin(independent[baseline], snr_min)
    low_m, low_b = independent[ours][0], independent[baseline][0]
    lo = f"{low_m['low']:g}-{low_m['high']:g}"
    for name, m, b, goal, note in (
            (f"completeness, S/N > {snr_min:g}", mine, base, ">= 95",
             f"shipped weights; {mine['n_dla']} DLAs"),
            (f"purity, S/N > {snr_min:g}", mine, base, ">= 95", ""),
            (f"completeness, S/N {lo}", low_m, low_b, "", f"{low_m['n_dla']} DLAs"),
            (f"purity, S/N {lo}", low_m, low_b, "", "")):
        key = name.split(",")[0]
        results.add(f"independent simulator: {name}", 100 * m[key], unit="%",
                    baseline=100 * b[key], goal=goal, note=note)
    if real is not None:
        for lit in REAL_SPECTRA["PH957"].dlas:
            at = real[(real["key"] == "PH957") & (np.abs(real["lit_z"] - lit.z_abs) < 1e-9)]
            val = {m: (float(at[at["method"] == m]["log_nhi"][0])
                       if np.any(at["method"] == m) else float("nan")) for m in (ours, baseline)}
            gp = None if gp_real is None else gp_real[(gp_real["key"] == "PH957")
                                                      & (gp_real["method"] == "GP finder")]
            peer = float(gp["log_nhi"][0]) if gp is not None and len(gp) else None
            results.add("PH957 DLA log NHI (real ESI spectrum at R = 2000)", val[ours],
                        unit="dex", baseline=val[baseline], paper=lit.log_nhi,
                        source=lit.cite_as or lit.reference, peer=peer,
                        peer_name="GP finder" if peer is not None else "")
        null = np.array([not REAL_SPECTRA[k].dlas for k in real["key"]], dtype=bool)
        dlas = null & (real["kind"] == "DLA")
        results.add("DLAs reported on real spectra without a published DLA",
                    int(np.sum(dlas & (real["method"] == ours))),
                    baseline=int(np.sum(dlas & (real["method"] == baseline))))
    if gp_table is not None:
        gp = compare_finders(gp_table, snr_min=snr_min)
        cls = compare_finders(gp_table, peer="trough + Voigt", snr_min=snr_min)
        note = f"independent simulator, {gp_sightlines} sightlines, benchmark script"
        for key, label, unit, scale in (("completeness", "completeness", "%", 100),
                                        ("purity", "purity", "%", 100),
                                        ("sigma_dlogn", "sigma(dlogN)", "dex", 1)):
            results.add(f"GP comparison: {label}, S/N > {snr_min:g}",
                        scale * gp[f"ours_{key}"], unit=unit,
                        baseline=scale * cls[f"peer_{key}"], peer=scale * gp[f"peer_{key}"],
                        peer_name="GP finder", note=note,
                        goal=">= GP finder" if unit == "%" else "<= GP finder")
        results.add("GP comparison: speed-up over the GP finder", gp["speedup"], unit="x",
                    goal=">= 20", note="seconds per sightline, one CPU thread")
