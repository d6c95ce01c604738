"""Figures of the CRAYFIS chapter: frames, ROC curves, reliability diagrams, the gap sweep,
the TAN's learning curves and the distributions of real, approximate and transformed frames."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from cosmicbook.core.training import History
from cosmicbook.crayfis.evaluate import cluster_features, reliability, roc_curve

__all__ = ["plot_distributions", "plot_frames", "plot_gap_sweep", "plot_reliability",
           "plot_roc", "plot_score_histograms", "plot_tan_history"]


def plot_frames(rows: Mapping[str, np.ndarray], titles: Mapping[str, Sequence[str]] | None = None,
                size: float = 1.3, vmax: float | None = None):
    """A grid of frames: one row per entry of ``rows`` (label -> frames of shape (k, h, w)).

    All panels share one colour scale (``sqrt`` stretch from 0 to ``vmax`` ADU, default the
    99.9th percentile of all frames), so that rows can be compared pixel for pixel.
    """
    labels = list(rows)
    ncols = max(len(v) for v in rows.values())
    allv = np.concatenate([np.asarray(v, float).ravel() for v in rows.values()])
    vmax = float(np.percentile(allv, 99.9)) if vmax is None else vmax
    fig, axes = plt.subplots(len(labels), ncols, figsize=(size * ncols, size * len(labels)),
                             squeeze=False)
    for r, lab in enumerate(labels):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(rows[lab]):
                ax.set_axis_off()
                continue
            img = np.sqrt(np.clip(np.asarray(rows[lab][c], float), 0, vmax) / vmax)
            ax.imshow(img, cmap="magma", vmin=0, vmax=1, origin="lower",
                      interpolation="nearest")
            if titles is not None and lab in titles:
                ax.set_title(titles[lab][c], fontsize=7)
        axes[r, 0].set_ylabel(lab, fontsize=8)
    return fig


def plot_roc(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], ax=None):
    """ROC curves (label -> (scores, truth)) with their AUC in the legend; log false-positive
    axis."""
    from cosmicbook.crayfis.evaluate import roc_auc

    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    for lab, (s, y) in curves.items():
        fpr, tpr = roc_curve(s, y)
        ax.plot(np.maximum(fpr, 1e-4), tpr, label=f"{lab} (AUC {roc_auc(s, y):.4f})")
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_xlabel("false-positive rate (noise called track)")
    ax.set_ylabel("true-positive rate (tracks found)")
    ax.legend(loc="lower right")
    return ax


def plot_reliability(probs: Mapping[str, tuple[np.ndarray, np.ndarray]], n_bins: int = 10,
                     ax=None):
    """Reliability diagrams (label -> (probabilities, truth)) with the ECE in the legend."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.8, ls="--")
    for lab, (p, y) in probs.items():
        rel = reliability(p, y, n_bins)
        ok = rel.counts > 0
        ax.plot(rel.mean_predicted[ok], rel.observed[ok], "o-", ms=3,
                label=f"{lab} (ECE {rel.ece:.3f})")
    ax.set_xlabel("predicted P(track)")
    ax.set_ylabel("observed fraction of tracks")
    ax.legend(loc="upper left")
    return ax


def plot_score_histograms(scores: np.ndarray, kinds: np.ndarray, ax=None, bins: int = 40,
                          xlabel: str = "f = P(D1 | X)"):
    """Histograms of a score per event kind (truth)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 3.2))
    edges = np.linspace(np.min(scores), np.max(scores), bins + 1)
    for kind in np.unique(kinds):
        ax.hist(scores[kinds == kind], edges, histtype="step", label=str(kind), density=True)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.legend()
    return ax


def plot_gap_sweep(gaps: Sequence[float], auc_weak: Sequence[float],
                   ece_weak: Sequence[float], auc_oracle: float | None = None):
    """AUC and ECE of the weak classifier against the gap ``a - b`` between the mixtures."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3))
    ax1.plot(gaps, auc_weak, "o-", label="weak labels")
    if auc_oracle is not None:
        ax1.axhline(auc_oracle, color="C1", ls="--", label="oracle (same frames)")
    ax1.set_xlabel("a - b")
    ax1.set_ylabel("AUC against the truth")
    ax1.legend()
    ax2.plot(gaps, ece_weak, "o-")
    ax2.axhline(0.05, color="0.5", ls=":", label="goal 0.05")
    ax2.set_yscale("log")
    ax2.set_xlabel("a - b")
    ax2.set_ylabel("ECE of g (a, b known)")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.set_xscale("log")
    fig.tight_layout()
    return fig


def plot_tan_history(history: History):
    """Discriminator and generator losses, the discriminator's accuracy, the constraints and
    (when recorded) the distribution-matching losses."""
    ep = history["epoch"]
    match = "g_match_size" in history.keys()
    fig, axes = plt.subplots(1, 4 if match else 3, figsize=(13 if match else 10, 2.8))
    axes[0].plot(ep, history["d_loss"], "o-", label="discriminator")
    axes[0].plot(ep, history["g_adversarial"], "o-", label="generator (adversarial)")
    axes[0].axhline(2 * np.log(2), color="0.6", ls=":", label="D at chance (2 ln 2)")
    axes[0].legend()
    axes[1].plot(ep, history["d_accuracy"], "o-")
    axes[1].axhline(0.5, color="0.6", ls=":")
    axes[1].set_ylabel("discriminator accuracy")
    axes[2].plot(ep, history["g_charge"], "o-", label="charge")
    axes[2].plot(ep, history["g_position"], "o-", label="position")
    axes[2].set_ylabel("constraint losses")
    axes[2].legend()
    if match:
        labels = {"size": "cluster size (px / 4)", "charge": "charge (ADU / 16)",
                  "pixels": "pixel values (ADU)", "floor": "noise floor", "tail": "noise tail",
                  "histogram": "value histogram (log)"}
        for key, label in labels.items():
            if f"g_match_{key}" in history.keys():
                axes[3].plot(ep, history[f"g_match_{key}"], "o-", label=label)
        axes[3].set_yscale("log")
        axes[3].set_ylabel("matching losses")
        axes[3].legend()
    for ax in axes:
        ax.set_xlabel("epoch")
    fig.tight_layout()
    return fig


def plot_distributions(sets: Mapping[str, tuple[np.ndarray, np.ndarray]],
                       threshold: float = 3.0):
    """Pixel values, cluster size and track charge of sets of frames (label -> (frames,
    track mask)): the three distributions whose distances the chapter reports."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3))
    feats = {k: cluster_features(f[t], threshold) for k, (f, t) in sets.items()}
    pix_edges = np.arange(-0.5, 16.5)
    size_max = max(int(np.percentile(c.size, 99)) for c in feats.values()) + 1
    q_max = max(float(np.percentile(c.charge, 99)) for c in feats.values())
    for k, (f, _) in sets.items():
        axes[0].hist(np.asarray(f).ravel(), pix_edges, histtype="step", density=True, label=k)
        axes[1].hist(feats[k].size, np.linspace(0, size_max, 30), histtype="step",
                     density=True, label=k)
        axes[2].hist(feats[k].charge, np.linspace(0, q_max, 30), histtype="step",
                     density=True, label=k)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("pixel value (ADU)")
    axes[1].set_xlabel("cluster size (pixels)")
    axes[2].set_xlabel("track charge (ADU)")
    axes[0].set_ylabel("density")
    axes[0].legend()
    fig.tight_layout()
    return fig
