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
