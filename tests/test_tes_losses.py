"""The statistic-matching generator losses: known answers, invariances and bad input."""

import math

import numpy as np
import pytest
import torch
from scipy import signal

from cosmicbook import tes
from cosmicbook.tes import losses


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 3, 1060, generator=g, dtype=torch.float64)


def test_welch_periodogram_is_proportional_to_scipys_welch(batch):
    ours = losses.welch_periodogram(batch).numpy()
    _, ref = signal.welch(batch.numpy(), nperseg=256, detrend="linear", axis=-1)
    ratio = ours[:, 1:-1] / ref.mean(axis=0)[:, 1:-1]  # DC and Nyquist are not doubled
    assert ours.shape == (3, 129)
    assert np.allclose(ratio, ratio[0, 0], rtol=1e-6)


def test_band_edges_cover_all_bins_once():
    edges = losses.band_edges(129, 12)
    assert edges[0] == 1 and edges[-1] == 129 and all(np.diff(edges) > 0)
    assert losses.band_edges(129, 4) == [1, 3, 11, 38, 129]
    with pytest.raises(ValueError):
        losses.band_edges(2, 4)


def test_psd_loss_known_answer(batch):
    assert float(losses.psd_loss(batch, batch)) == pytest.approx(0.0, abs=1e-12)
    # amplitude x a multiplies every band power by a**2: loss = (2 ln a)**2
    assert float(losses.psd_loss(3.0 * batch, batch)) == pytest.approx((2 * math.log(3)) ** 2)
    # a red spectrum differs from white noise
    red = torch.cumsum(batch, dim=-1) / 10
    assert float(losses.psd_loss(red, batch)) > 1.0


def test_correlation_loss_known_answer():
    t = torch.arange(1000, dtype=torch.float64) * 2 * math.pi / 100
    s, c = torch.sin(t), torch.cos(t)                     # orthogonal, zero mean
    same = torch.stack([s, s])[None]                       # correlation 1
    orth = torch.stack([s, c])[None]                       # correlation 0
    assert float(losses.correlation_loss(same, same)) == pytest.approx(0.0, abs=1e-12)
    assert float(losses.correlation_loss(orth, same)) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="two bolometers"):
        losses.correlation_loss(same[:, :1], same[:, :1])


def test_quantile_loss_known_answer(batch):
    perm = batch[torch.randperm(6, generator=torch.Generator().manual_seed(1))]
    assert float(losses.quantile_loss(perm, batch)) == pytest.approx(0.0, abs=1e-12)
    assert float(losses.quantile_loss(batch + 0.5, batch)) == pytest.approx(0.25)
    bumped = batch.clone()
    seg, sample = np.unravel_index(int(batch[:, 0].argmax()), (6, 1060))
    bumped[seg, 0, sample] += 2.0                         # raise the largest value of channel 0
    n = batch.shape[0] * batch.shape[2]
    assert float(losses.quantile_loss(bumped, batch, top=1 / n)) == pytest.approx(4.0 / 3)
    with pytest.raises(ValueError):
        losses.quantile_loss(batch, batch, top=0.0)


def test_peak_loss_sees_missing_and_negative_spikes(batch):
    assert float(losses.peak_loss(batch + 7.0, batch)) == pytest.approx(0.0, abs=1e-10)
    spiky = batch.clone()
    spiky[:, :, ::50] += 10.0                              # 21 glitches per segment
    negative = batch.clone()
    negative[:, :, ::50] -= 10.0
    assert float(losses.peak_loss(batch, spiky)) > 10.0
    assert float(losses.peak_loss(negative, batch)) > 10.0


def test_stat_losses_are_zero_for_identical_batches_and_differentiable(batch):
    real = batch.float()
    fake = (real + 0.1).requires_grad_(True)
    cond = torch.linspace(-1, 1, 6)
    out = tes.stat_losses(fake, real, cond, groups=2)
    assert set(out) == set(tes.STAT_LOSSES)
    same = tes.stat_losses(real, real, cond, groups=2)
    assert all(float(v) == pytest.approx(0.0, abs=1e-6) for v in same.values())
    sum(out.values()).backward()
    assert fake.grad is not None and torch.isfinite(fake.grad).all()


def test_bad_shapes_raise(batch):
    with pytest.raises(ValueError):
        losses.psd_loss(batch[:, :2], batch)
    with pytest.raises(ValueError):
        losses.psd_loss(batch[0], batch[0])


def test_running_median_matches_scipy_and_its_strided_approximation(batch):
    from scipy.ndimage import median_filter

    red = torch.cumsum(batch, dim=-1) / 30 + batch              # a wandering baseline
    ours = losses.running_median(red).numpy()
    ref = median_filter(red.numpy(), size=(1, 1, 31), mode="reflect")
    # torch and scipy reflect the edges differently: compare away from them
    assert np.allclose(ours[..., 15:-15], ref[..., 15:-15])
    strided = losses.running_median(red, stride=4).numpy()
    assert np.abs(strided - ours).mean() < 0.1 * np.abs(ours - ours.mean()).mean()
    assert np.abs(strided - ours).mean() > 0                    # it is an approximation
    with pytest.raises(ValueError):
        losses.running_median(red, width=30)
    with pytest.raises(ValueError):
        losses.running_median(red, stride=0)


def test_local_peaks_keep_the_highest_within_the_separation():
    x = torch.zeros(1, 1, 100, dtype=torch.float64)
    x[0, 0, [20, 25, 60]] = torch.tensor([5.0, 7.0, 3.0], dtype=torch.float64)
    assert torch.nonzero(losses.local_peaks(x)[0, 0]).ravel().tolist() == [25, 60]
    assert torch.nonzero(losses.local_peaks(x, 5)[0, 0]).ravel().tolist() == [20, 25, 60]
    assert not losses.local_peaks(-x).any()                     # only positive maxima


def test_glitch_counts_reproduce_the_detections_of_the_metric():
    tod = tes.simulate_tod(24, 1.0, seed=5, progress=False)
    det = tes.detect_glitches(tod, threshold=2.0)
    amp = np.asarray(det["amplitude"])
    thresholds = (3.2, 5.0, 8.0, 20.0)
    counts, sigma = losses.glitch_counts(torch.from_numpy(tod), thresholds, softness=1e-3)
    expected = np.array([(amp > t).sum() for t in thresholds]) / (24 * 4)
    assert counts.shape == (4, 4)
    assert np.allclose(counts.numpy().mean(axis=0), expected, rtol=0.02, atol=0.02)
    assert expected[0] > 1.0 and expected[-1] > 0.05            # a meaningful check
    # median |high-passed| of Gaussian noise with sigma ~ 1 is 0.674
    assert np.allclose(sigma.numpy(), 0.674 * np.asarray(det.meta["sigma"]), rtol=0.05)


def test_glitch_count_loss_sees_rates_amplitudes_and_noise(batch):
    spiky = batch.clone()
    spiky[:, :, ::50] += 10.0                                    # 21 glitches of 10 sigma
    double = batch.clone()
    double[:, :, ::25] += 10.0                                   # twice as many
    assert float(losses.glitch_count_loss(spiky, spiky)) == pytest.approx(0.0, abs=1e-12)
    # 43 against 22 spikes per segment and bolometer above 4 and 5 sigma (noise never gets
    # there): a chi-square of (F - R)^2 / (F + R + 1) per bolometer and threshold
    rate = float(losses.glitch_count_loss(double, spiky, thresholds=(4.0, 5.0)))
    f, r = 43 * 6, 22 * 6                                         # per bolometer
    assert rate == pytest.approx((f - r) ** 2 / (f + r + 1), rel=0.05)
    bigger = batch.clone()
    bigger[:, :, ::50] += 25.0
    assert float(losses.glitch_count_loss(bigger, spiky)) > 10.0  # brighter, same number
    noise = float(losses.glitch_count_loss(1.2 * batch, batch, thresholds=(20.0, 40.0)))
    assert noise == pytest.approx(math.log(1.2) ** 2, rel=0.1)    # the noise term alone
    fake = spiky.clone().requires_grad_(True)
    losses.glitch_count_loss(fake, double).backward()
    assert torch.isfinite(fake.grad).all() and fake.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        losses.glitch_count_loss(batch, batch[:, :2])
    with pytest.raises(ValueError):
        losses.glitch_counts(batch, (5.0, 3.0))
