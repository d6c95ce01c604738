"""Figures of the CRAB chapter: segments, power spectra, amplitude distributions, rates,
correlation matrices, training diagnostics and the response to the cosmic-ray flux."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from astropy.table import Table

from cosmicbook.core.training import History
from cosmicbook.tes.metrics import decade_edges, inter_arrival_times

__all__ = ["plot_amplitudes", "plot_correlations", "plot_flux_response", "plot_history",
           "plot_psd", "plot_rates", "plot_segments"]


def plot_segments(segments: Mapping[str, np.ndarray], sample_rate: float = 180.37,
                  n: int = 2, offset: float = 15.0):
    """Segments side by side: one column per data set, ``n`` rows, bolometers offset.

    Parameters
    ----------
    segments : mapping of str -> array of shape (n_segments, n_bolometers, n_samples)
        E.g. ``{"MC": mc, "BCE-GAN": gen}``; the first ``n`` segments of each are drawn.
    offset : float
        Vertical offset between bolometers, TOD units (the y axis is symmetric-log beyond it).
    """
    names = list(segments)
    fig, axes = plt.subplots(n, len(names), figsize=(3.4 * len(names), 2.2 * n),
                             sharex=True, sharey=True, squeeze=False)
    for j, name in enumerate(names):
        data = np.asarray(segments[name])
        t = np.arange(data.shape[-1]) / sample_rate
        for i in range(n):
            ax = axes[i, j]
            for b in range(data.shape[1]):
                ax.plot(t, data[i, b] + offset * b, lw=0.5, color=f"C{b}")
            ax.set_yscale("symlog", linthresh=offset * data.shape[1])
            if i == 0:
                ax.set_title(name)
            if j == 0:
                ax.set_ylabel("TOD + offset (sigma)")
        axes[-1, j].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def plot_psd(freq, psds: Mapping[str, np.ndarray], reference: str, band=(0.8, 1.25)):
    """Welch PSDs (mean over bolometers) and their ratio to ``reference`` per bolometer.

    The ratio panel shades the accepted ``band`` and marks the frequency decades.
    """
    freq = np.asarray(freq)
    pos = freq > 0
    fig, (ax, axr) = plt.subplots(2, 1, figsize=(7, 5.5), sharex=True,
                                  gridspec_kw={"height_ratios": [2, 1]})
    ref = np.asarray(psds[reference])
    for k, (name, psd) in enumerate(psds.items()):
        psd = np.asarray(psd)
        ax.loglog(freq[pos], psd.mean(axis=0)[pos], color=f"C{k}", label=name)
        if name != reference:
            ratio = psd[:, pos] / ref[:, pos]
            axr.semilogx(freq[pos], ratio.T, color=f"C{k}", lw=0.6, alpha=0.7)
            axr.semilogx([], [], color=f"C{k}", label=f"{name} / {reference}")
    axr.axhspan(*band, color="0.85", zorder=0, label=f"{band[0]}-{band[1]}")
    for edge in decade_edges(freq[pos].min(), freq.max())[1:-1]:
        axr.axvline(edge, color="k", ls=":", lw=0.8)
    ax.set_ylabel("PSD (sigma$^2$ / Hz)")
    axr.set_ylabel("ratio")
    axr.set_xlabel("frequency (Hz)")
    axr.set_ylim(0.3, 3.0)
    axr.set_yscale("log")
    ax.legend()
    axr.legend(ncol=3, fontsize=7)
    fig.tight_layout()
    return fig


def plot_amplitudes(amplitudes: Mapping[str, np.ndarray], fits: Mapping[str, tuple] | None = None,
                    a_min: float = 3.2, bins: int = 30):
    """Differential amplitude distributions dN/dA (log bins) with fitted power laws.

    ``fits`` maps a name to ``(gamma, sigma_gamma, a_fit_min)``; the line is normalised to the
    number of amplitudes above ``a_fit_min``.
    """
    every = np.concatenate([np.asarray(a, dtype=float) for a in amplitudes.values()])
    edges = np.geomspace(a_min, max(every.max(), a_min * 10), bins + 1)
    centre = np.sqrt(edges[1:] * edges[:-1])
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for k, (name, amp) in enumerate(amplitudes.items()):
        amp = np.asarray(amp, dtype=float)
        counts, _ = np.histogram(amp, edges)
        dens = counts / np.diff(edges)
        good = counts > 0
        ax.errorbar(centre[good], dens[good], yerr=np.sqrt(counts[good]) / np.diff(edges)[good],
                    fmt="o", ms=3, color=f"C{k}", label=f"{name} ({amp.size})")
        if fits and name in fits:
            gamma, err, lo = fits[name]
            n_above = np.sum(amp >= lo)
            a = edges[edges >= lo]
            line = n_above * (gamma - 1) / lo * (a / lo) ** (-gamma)
            ax.loglog(a, line, color=f"C{k}", lw=1,
                      label=f"{name}: gamma = {gamma:.2f} +- {err:.2f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("peak amplitude (sigma)")
    ax.set_ylabel("dN/dA (per sigma)")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_rates(detections: Mapping[str, Table]):
    """Detected glitch rate per bolometer (left) and inter-arrival times (right) with the
    exponential distribution of a Poisson process of the same rate."""
    fig, (ax, axi) = plt.subplots(1, 2, figsize=(9, 3.6))
    names = list(detections)
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        det = detections[name]
        meta = det.meta
        seconds = meta["n_segments"] * meta["n_samples"] / meta["sample_rate"]
        counts = np.bincount(np.asarray(det["detector"]), minlength=meta["n_bolometers"])
        x = np.arange(meta["n_bolometers"]) + (k - (len(names) - 1) / 2) * width
        ax.bar(x, counts / seconds, width, yerr=np.sqrt(counts) / seconds, color=f"C{k}",
               label=name)
        dt = inter_arrival_times(det)
        edges = np.linspace(0, 3.0, 31)
        h, _ = np.histogram(dt, edges, density=False)
        axi.step(edges[:-1], h / max(dt.size, 1) / np.diff(edges), where="post",
                 color=f"C{k}", label=name)
        if k == 0:
            rate = counts.sum() / seconds / meta["n_bolometers"]
            tt = np.linspace(0, 3.0, 200)
            axi.plot(tt, rate * np.exp(-rate * tt), "k--", lw=0.8,
                     label=f"Poisson, {rate:.2f}/s")
    ax.set_xlabel("bolometer")
    ax.set_ylabel("glitches / s (> 3.2 sigma)")
    ax.set_xticks(np.arange(detections[names[0]].meta["n_bolometers"]))
    ax.legend()
    axi.set_yscale("log")
    axi.set_xlabel("time between glitches of one bolometer (s)")
    axi.set_ylabel("probability density (1/s)")
    axi.legend()
    fig.tight_layout()
    return fig


def plot_correlations(matrices: Mapping[str, np.ndarray], reference: str):
    """Correlation matrices side by side, and each one's difference to ``reference``."""
    names = list(matrices)
    others = [n for n in names if n != reference]
    n_axes = len(names) + len(others)
    fig, axes = plt.subplots(1, n_axes, figsize=(2.3 * n_axes, 2.9), layout="constrained")
    for ax, name in zip(axes, names, strict=False):
        m = np.asarray(matrices[name])
        im = ax.imshow(m, vmin=-1, vmax=1, cmap="RdBu_r", origin="upper")
        ax.set_title(name)
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6)
    for ax, name in zip(axes[len(names):], others, strict=True):
        d = np.asarray(matrices[name]) - np.asarray(matrices[reference])
        ax.imshow(d, vmin=-0.2, vmax=0.2, cmap="RdBu_r", origin="upper")
        ax.set_title(f"{name} - {reference}")
        for (i, j), v in np.ndenumerate(d):
            ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=6)
    for ax in axes:
        ax.set_xlabel("bolometer")
        ax.set_xticks(range(len(matrices[reference])))
        ax.set_yticks(range(len(matrices[reference])))
    axes[0].set_ylabel("bolometer")
    fig.colorbar(im, ax=axes, shrink=0.8, label="correlation (differences: scale +-0.2)")
    return fig


def plot_history(histories: Mapping[str, History]):
    """Training diagnostics against iteration: generator and discriminator losses, diversity
    ratio, largest PSD-ratio deviation (|ln r|) and correlation deviation."""
    keys = [("train_loss", "generator loss"), ("d_loss", "discriminator loss"),
            ("diversity", "diversity ratio"), ("psd_dev", "max |ln PSD ratio|"),
            ("corr_dev", "max |corr. difference|")]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.0 * len(keys), 2.8))
    for k, (name, hist) in enumerate(histories.items()):
        it = np.asarray(hist["iteration"])
        for ax, (key, label) in zip(axes, keys, strict=True):
            if key in hist:
                ax.plot(it, hist[key], marker="o", ms=2, color=f"C{k}", label=name)
            ax.set_title(label)
            ax.set_xlabel("iteration")
    axes[2].axhline(1.0, color="k", ls=":", lw=0.8)
    axes[3].axhline(np.log(1.25), color="k", ls=":", lw=0.8)
    axes[4].axhline(0.1, color="k", ls=":", lw=0.8)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_flux_response(flux, rates: Mapping[str, np.ndarray], errors: Mapping | None = None):
    """Detected glitch rate (mean over bolometers) against the cosmic-ray flux."""
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    for k, (name, rate) in enumerate(rates.items()):
        err = None if errors is None else errors.get(name)
        ax.errorbar(flux, rate, yerr=err, marker="o", ms=4, color=f"C{k}", label=name,
                    capsize=2)
    ax.set_xscale("log")
    ax.set_xlabel("cosmic-ray flux (Planck L2 = 1)")
    ax.set_ylabel("glitches / s / bolometer (> 3.2 sigma)")
    ax.legend()
    fig.tight_layout()
    return fig
