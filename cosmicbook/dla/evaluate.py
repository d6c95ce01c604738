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

from cosmicbook.dla.simulate import Sightline

__all__ = ["DLAScore", "binned_rates", "confusion_matrix", "match_catalogue", "score"]

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
        return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size else float("nan")

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


