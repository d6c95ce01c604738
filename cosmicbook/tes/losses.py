"""Statistic-matching auxiliary losses for the CRAB generator (an addition beyond the seed).

A short adversarial training on one CPU thread does not teach the generator the statistics the
chapter is judged on: the low-frequency ($1/f$) power, the glitch amplitude distribution and
the bolometer-bolometer correlation. These differentiable losses compare a generated batch
with a real batch *of the same conditions* directly on (proxies of) those statistics, and are
added to the generator's adversarial loss with small weights (``train_gan(stat_weights=...)``),
in the spirit of feature matching (Salimans et al. 2016). Each is zero when the two batches
have identical statistics and grows with their difference.

All take tensors of shape ``(N, C, L)`` -- segments, bolometers, samples -- and return a
scalar tensor; the real batch carries no gradient.

:func:`psd_loss`
    squared difference of the log band powers of a Welch periodogram (Hann windows with 50%
    overlap and a linear trend removed per window, as :func:`~cosmicbook.tes.metrics.welch_psd`)
    in log-spaced frequency bands, per bolometer.
:func:`correlation_loss`
    mean squared difference of the off-diagonal Pearson correlations between bolometers (each
    segment's mean removed).
:func:`quantile_loss`
    the squared 1-D Wasserstein-2 distance between the two samples of values per bolometer
    (sorted values against sorted values).
:func:`peak_loss`
    :func:`quantile_loss` of the upper tail of the local maxima (and minima) of the
    high-passed TOD (extremes over non-overlapping windows after subtracting a running
    mean): a differentiable stand-in for the distribution of detected glitch amplitudes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["band_edges", "band_log_power", "correlation_loss", "peak_loss", "psd_loss",
           "quantile_loss", "welch_periodogram"]


def _check_pair(fake: torch.Tensor, real: torch.Tensor) -> None:
    if fake.ndim != 3 or real.ndim != 3:
        raise ValueError(f"need (N, C, L) tensors, got {tuple(fake.shape)}, "
                         f"{tuple(real.shape)}")
    if fake.shape[1:] != real.shape[1:]:
        raise ValueError(f"fake {tuple(fake.shape)} and real {tuple(real.shape)} differ in "
                         f"bolometers or samples")


def welch_periodogram(x: torch.Tensor, nperseg: int = 256) -> torch.Tensor:
    """Welch power per frequency bin, averaged over windows and segments (arbitrary units).

    Parameters
    ----------
    x : torch.Tensor, shape (N, C, L)
    nperseg : int
        Samples per Hann window; windows overlap by half and a least-squares line is
        removed from each (as ``scipy.signal.welch(detrend="linear")``).

    Returns
    -------
    torch.Tensor, shape (C, nperseg // 2 + 1)
        Proportional to the one-sided PSD of :func:`~cosmicbook.tes.metrics.welch_psd`.
    """
    if x.ndim != 3 or x.shape[-1] < nperseg:
        raise ValueError(f"need (N, C, L >= {nperseg}), got {tuple(x.shape)}")
    frames = x.unfold(-1, nperseg, nperseg // 2)            # (N, C, W, nperseg)
    t = torch.linspace(-1.0, 1.0, nperseg, dtype=x.dtype, device=x.device)
    frames = frames - frames.mean(-1, keepdim=True)
    slope = (frames * t).sum(-1, keepdim=True) / (t * t).sum()
    frames = (frames - slope * t) * torch.hann_window(nperseg, periodic=True, dtype=x.dtype,
                                                      device=x.device)
    power = torch.fft.rfft(frames, dim=-1).abs() ** 2
    return power.mean(dim=(0, 2))


def band_edges(n_freq: int, n_bands: int) -> list[int]:
    """Edges of (at most) ``n_bands`` log-spaced bands over bins 1 .. ``n_freq - 1`` (no DC;
    bands that would be empty after rounding are merged).

    >>> band_edges(129, 4)
    [1, 3, 11, 38, 129]
    """
    if n_freq < 3 or n_bands < 1:
        raise ValueError(f"need n_freq >= 3 and n_bands >= 1, got {n_freq}, {n_bands}")
    raw = torch.logspace(0.0, math.log10(n_freq), n_bands + 1).round().long().tolist()
    edges = sorted(set([1] + [min(max(e, 1), n_freq) for e in raw] + [n_freq]))
    return edges


def band_log_power(power: torch.Tensor, n_bands: int = 12) -> torch.Tensor:
    """Log of the summed power in log-spaced bands: ``(C, n_freq)`` -> ``(C, n_bands')``."""
    edges = band_edges(power.shape[-1], n_bands)
    bands = [power[..., lo:hi].sum(-1) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return torch.log(torch.stack(bands, dim=-1) + 1e-12)


def psd_loss(fake: torch.Tensor, real: torch.Tensor, *, nperseg: int = 256,
             n_bands: int = 12) -> torch.Tensor:
    """Mean squared difference of the log band powers (:func:`band_log_power`) of the two
    batches' Welch periodograms, over bolometers and bands; 0 for equal spectra, and
    ``ln(r)**2`` when one spectrum is ``r`` times the other at all frequencies."""
    _check_pair(fake, real)
    lf = band_log_power(welch_periodogram(fake, nperseg), n_bands)
    lr = band_log_power(welch_periodogram(real.detach(), nperseg), n_bands)
    return ((lf - lr) ** 2).mean()


def _correlation(x: torch.Tensor) -> torch.Tensor:
    x = x - x.mean(-1, keepdim=True)
    flat = x.transpose(0, 1).reshape(x.shape[1], -1)        # (C, N L)
    cov = flat @ flat.T
    d = torch.sqrt(torch.diagonal(cov).clamp_min(1e-12))
    return cov / (d[:, None] * d[None, :])


def correlation_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the off-diagonal entries of the bolometer-bolometer Pearson
    correlation matrices (each segment's mean removed); needs at least two bolometers."""
    _check_pair(fake, real)
    c = fake.shape[1]
    if c < 2:
        raise ValueError("correlation_loss needs at least two bolometers")
    off = ~torch.eye(c, dtype=torch.bool, device=fake.device)
    return ((_correlation(fake) - _correlation(real.detach()))[off] ** 2).mean()


def quantile_loss(fake: torch.Tensor, real: torch.Tensor, *,
                  top: float = 1.0) -> torch.Tensor:
    """Squared 1-D Wasserstein-2 distance of the values per bolometer, mean over bolometers.

    The values of all segments are pooled per bolometer (dimension 1) and sorted; both
    batches must have the same shape. ``(N, C, ...)`` tensors. With ``top < 1`` only the
    largest fraction ``top`` of the sorted values (at least one) enters: the upper tail.
    """
    if not 0.0 < top <= 1.0:
        raise ValueError(f"top must lie in (0, 1], got {top}")
    if fake.shape != real.shape or fake.ndim < 2:
        raise ValueError(f"need equal shapes (N, C, ...), got {tuple(fake.shape)}, "
                         f"{tuple(real.shape)}")
    c = fake.shape[1]
    sf = torch.sort(fake.transpose(0, 1).reshape(c, -1), dim=1).values
    sr = torch.sort(real.detach().transpose(0, 1).reshape(c, -1), dim=1).values
    k = max(1, int(round(top * sf.shape[1])))
    return ((sf[:, -k:] - sr[:, -k:]) ** 2).mean()


def high_pass(x: torch.Tensor, width: int = 31) -> torch.Tensor:
    """``x`` minus its running mean over ``width`` (odd) samples, edges reflected."""
    if width < 3 or width % 2 == 0:
        raise ValueError(f"width must be an odd int >= 3, got {width}")
    pad = F.pad(x, (width // 2, width // 2), mode="reflect")
    return x - F.avg_pool1d(pad, width, stride=1)


def peak_loss(fake: torch.Tensor, real: torch.Tensor, *, width: int = 31,
              window: int = 10, top: float = 0.05) -> torch.Tensor:
    """:func:`quantile_loss` of the largest fraction ``top`` of the maxima of the high-passed
    TOD (:func:`high_pass` over ``width`` samples) in non-overlapping windows of ``window``
    samples: the upper tail of the local peak heights, i.e. the glitch amplitude distribution
    (the default 5% of the windows is 5 peaks per 1060-sample segment and bolometer, about
    twice the number of Planck-threshold detections of the MC at flux 1). The same is added
    for the minima (the maxima of the negated TOD), whose tail must stay that of the noise:
    a generator that makes negative spikes, which the MC never has, pays for them."""
    _check_pair(fake, real)
    hf, hr = high_pass(fake, width), high_pass(real.detach(), width)
    out = fake.new_zeros(())
    for sign in (1.0, -1.0):
        pf = F.max_pool1d(sign * hf, window)
        pr = F.max_pool1d(sign * hr, window)
        out = out + quantile_loss(pf, pr, top=top)
    return out
