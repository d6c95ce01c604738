"""Figures of the DLA chapter: the walk from a spectrum to labels and predictions, learning
curves of the three tasks, completeness and purity, accuracy histograms and the confusion
matrix of DLAs and sub-DLAs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from astropy.table import Table

from cosmicbook.core.training import History
from cosmicbook.dla.inference import Tracks
from cosmicbook.dla.labels import PixelLabels
from cosmicbook.dla.simulate import Sightline

__all__ = ["plot_accuracy", "plot_confusion", "plot_learning_curves", "plot_rates",
           "plot_real_spectra", "plot_walk"]


def plot_walk(sl: Sightline, labels: PixelLabels, tracks: Tracks, detections: Table):
    """Spectrum (top) and three output tracks: classification, offset, log NHI.

    Labels are drawn in grey, the network's outputs in colour; true absorbers are dotted
    lines, detections dashed.
    """
    fig, axes = plt.subplots(4, 1, figsize=(10, 8), sharex=True,
                             gridspec_kw={"height_ratios": [2, 1, 1, 1]})
    w = sl.wave
    c = tracks.centres
    axes[0].plot(w, sl.flux, lw=0.5, color="k", label="flux")
    axes[0].plot(w, sl.continuum, lw=0.8, color="C1", label="continuum")
    axes[0].plot(w, sl.continuum * sl.transmission, lw=0.6, color="C0", alpha=0.7,
                 label="noise-free")
    axes[0].set_ylabel("flux")
    axes[0].legend(loc="upper left", ncol=3)
    axes[0].set_title(f"z_qso = {sl.z_qso:.3f}, S/N = {sl.snr:.1f}")
    cls = labels.cls[c].astype(float)
    axes[1].plot(w[c], np.where(cls < 0, np.nan, cls), color="0.6", lw=2, label="label")
    axes[1].plot(w[c], tracks.prob, color="C3", lw=0.8, label="p(DLA)")
    axes[1].plot(w, tracks.votes, color="C2", lw=0.8, label="votes")
    axes[1].set_ylabel("classification")
    pos = labels.cls[c] == 1
    axes[2].plot(w[c], np.where(pos, labels.offset[c], np.nan), color="0.6", lw=2)
    axes[2].plot(w[c], np.where(tracks.prob > 0.5, tracks.offset, np.nan), color="C0", lw=0.8)
    axes[2].set_ylabel("offset (px)")
    axes[3].plot(w[c], labels.log_nhi[c], color="0.6", lw=2)
    axes[3].plot(w[c], np.where(tracks.prob > 0.5, tracks.log_nhi, np.nan), color="C4", lw=0.8)
    axes[3].set_ylabel("log NHI")
    axes[3].set_xlabel("observed wavelength (Angstrom)")
    for row in sl.absorbers:
        for ax in axes:
            ax.axvline(1215.67 * (1 + row["z_abs"]), color="k", ls=":", lw=0.8)
    for row in detections:
        for ax in axes:
            ax.axvline(1215.67 * (1 + row["z_abs"]), color="C3", ls="--", lw=0.8)
    axes[1].legend(loc="upper left", ncol=3)
    lo = w[c].min() - 30
    axes[0].set_xlim(lo, 1350 * (1 + sl.z_qso))
    return fig


def plot_learning_curves(history: History, tasks=("classification", "offset", "log_nhi")):
    """Total training/validation loss and the validation loss of each task per epoch."""
    fig, axes = plt.subplots(1, 1 + len(tasks), figsize=(12, 3))
    history.plot(ax=axes[0])
    axes[0].set_title("total loss")
    for ax, task in zip(axes[1:], tasks, strict=True):
        history.plot(ax=ax, keys=[task], logy=False)
        ax.set_title(f"validation: {task}")
        ax.get_legend().remove()
    fig.tight_layout()
    return fig


def plot_rates(rates: dict[str, dict[str, Table]], goal: float | None = 0.95):
    """Completeness and purity vs S/N and vs log NHI for several methods.

    ``rates[method]["snr" | "log_nhi"]`` are tables of :func:`~cosmicbook.dla.binned_rates`.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for k, (name, by) in enumerate(rates.items()):
        for ax, key, xlabel in ((axes[0], "snr", "S/N per pixel"),
                                (axes[1], "log_nhi", "log NHI")):
            t = by[key]
            x = 0.5 * (np.asarray(t["low"]) + np.asarray(t["high"]))
            ax.plot(x, t["completeness"], marker="o", color=f"C{k}",
                    label=f"{name}: completeness")
            ax.plot(x, t["purity"], marker="s", ls="--", color=f"C{k}",
                    label=f"{name}: purity")
            ax.set_xlabel(xlabel)
    axes[0].set_xscale("log")
    axes[0].set_xticks([1, 2, 5, 10, 20, 50], ["1", "2", "5", "10", "20", "50"])
    axes[0].minorticks_off()
    for ax in axes:
        if goal is not None:
            ax.axhline(goal, color="0.5", lw=0.8, ls=":")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("fraction")
    axes[1].legend(loc="lower right")
    fig.tight_layout()
    return fig


def plot_accuracy(truths: dict[str, Table], snr_min: float = 5.0):
    """Histograms of z_pred - z_true and logN_pred - logN_true of matched true DLAs."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for k, (name, t) in enumerate(truths.items()):
        m = t[(t["kind"] == "DLA") & t["matched"] & (t["snr"] > snr_min)]
        if len(m) == 0:
            continue
        dz = np.clip(np.asarray(m["z_pred"] - m["z_abs"]), -0.02, 0.02)
        dn = np.clip(np.asarray(m["log_nhi_pred"] - m["log_nhi"]), -1.0, 1.0)
        axes[0].hist(dz, bins=np.linspace(-0.02, 0.02, 61), histtype="step", color=f"C{k}",
                     label=f"{name} (std {np.std(m['z_pred'] - m['z_abs']):.4f})")
        axes[1].hist(dn, bins=np.linspace(-1, 1, 61), histtype="step", color=f"C{k}",
                     label=f"{name} (std {np.std(m['log_nhi_pred'] - m['log_nhi']):.3f})")
    axes[0].set_xlabel("z_pred - z_true (clipped at +-0.02)")
    axes[1].set_xlabel("log NHI pred - true (clipped at +-1)")
    for ax in axes:
        ax.set_ylabel("DLAs")
        ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion(matrices: dict[str, np.ndarray], truth: Table | None = None,
                   snr_min: float = 5.0):
    """Confusion matrices (true DLA / sub-DLA / nothing vs predicted) and, with ``truth``,
    predicted vs true log NHI around the DLA threshold."""
    n = len(matrices) + (truth is not None)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8))
    axes = np.atleast_1d(axes)
    names = ["DLA", "sub-DLA", "none"]
    for ax, (title, mat) in zip(axes, matrices.items(), strict=False):
        ax.imshow(np.log10(mat + 1), cmap="Blues", origin="upper")
        for i in range(3):
            for j in range(3):
                text = "-" if i == 2 and j == 2 else str(mat[i, j])
                ax.text(j, i, text, ha="center", va="center")
        ax.set_xticks(range(3), [f"found {s}" for s in names])
        ax.set_yticks(range(3), [f"true {s}" for s in names])
        ax.set_title(title)
    if truth is not None:
        ax = axes[-1]
        t = truth[truth["matched"] & (truth["snr"] > snr_min)]
        for kind, color in (("DLA", "C0"), ("subDLA", "C1")):
            s = t[t["kind"] == kind]
            ax.scatter(s["log_nhi"], s["log_nhi_pred"], s=6, color=color, label=f"true {kind}")
        ax.axhline(20.3, color="0.5", lw=0.8)
        ax.axvline(20.3, color="0.5", lw=0.8)
        ax.plot([19.5, 22.5], [19.5, 22.5], color="k", lw=0.6)
        ax.set_xlabel("true log NHI")
        ax.set_ylabel("predicted log NHI")
        ax.legend()
    fig.tight_layout()
    return fig


def plot_real_spectra(found: Table, methods=("CNN",)):
    """One panel per real spectrum of :func:`~cosmicbook.dla.real.search_real_spectra`: the
    SDSS-like flux over the forest, the upper-envelope continuum, and for every absorber a
    method reports its Voigt profile (Ly alpha + Ly beta, R = 2000) times that continuum;
    published DLAs are marked with dotted lines."""
    from cosmicbook.dla.baselines import estimate_continuum
    from cosmicbook.dla.labels import normalise_flux
    from cosmicbook.dla.real import REAL_SPECTRA
    from cosmicbook.dla.voigt import absorber_transmission

    spectra = found.meta["spectra"]
    fig, axes = plt.subplots(len(spectra), 1, figsize=(10, 2.6 * len(spectra)), squeeze=False)
    for ax, (key, spec) in zip(axes[:, 0], spectra.items(), strict=True):
        target = REAL_SPECTRA[key]
        good = spec.ivar > 0
        loglam = np.log10(spec.wave)
        norm = normalise_flux(loglam, spec.flux, target.z_qso, good)
        sigma = np.where(good, 1.0 / np.sqrt(np.where(good, spec.ivar, 1.0)), np.nan)
        sigma = sigma * np.nanmedian(norm / np.where(good, spec.flux, np.nan))
        cont = estimate_continuum(norm, np.nan_to_num(sigma, nan=np.nanmedian(sigma)))
        rest = spec.wave / (1.0 + target.z_qso)
        keep = (rest > 900.0) & (rest < 1300.0)
        ax.plot(spec.wave[keep], norm[keep], color="k", lw=0.5, label="flux (R = 2000)")
        ax.plot(spec.wave[keep], cont[keep], color="0.5", lw=0.8, label="continuum")
        for i, method in enumerate(methods):
            mine = found[(found["key"] == key) & (found["method"] == method) &
                         (found["kind"] != "none")]
            for j, row in enumerate(mine):
                model = cont * absorber_transmission(loglam, [(row["z_abs"], row["log_nhi"])],
                                                     fwhm_pix=2.2)
                ax.plot(spec.wave[keep], model[keep], color=f"C{i + 1}", lw=1.0,
                        label=f"{method}: log N = {row['log_nhi']:.2f}" if j < 3 else None)
        for d in target.dlas:
            ax.axvline(1215.67 * (1 + d.z_abs), color="C0", ls=":", lw=1.0,
                       label=f"published z = {d.z_abs}")
        ax.set_ylim(-0.2, 1.6 * np.nanpercentile(norm[keep], 95))
        ax.set_title(f"{target.name}, {target.instrument}, z_qso = {target.z_qso}",
                     fontsize=9)
        ax.legend(fontsize=7, ncol=3, loc="upper left")
        ax.set_ylabel("normalised flux")
    axes[-1, 0].set_xlabel("observed wavelength (Angstrom)")
    fig.tight_layout()
    return fig
