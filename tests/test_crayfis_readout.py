"""Stage 2 of the simulator: the approximate readout, the JPEG-like compression and the hidden
("real") readout."""

import numpy as np
import pytest

from cosmicbook.crayfis import HiddenReadout, Readout, jpeg_like
from cosmicbook.crayfis.readout import bayer_gain_map, hot_pixel_map


def test_gain_pedestal_and_saturation():
    ro = Readout(read_noise_e=0.0, hot_fraction=0.0)
    e = np.zeros((3, 40, 40))
    e[1] = 2500.0
    e[2] = 1e6
    adu = ro.apply(e, np.random.default_rng(0))
    assert adu.dtype == np.uint8 and adu.shape == (3, 40, 40)
    assert np.all(adu[0] == np.round(15 / 25))
    assert np.all(adu[1] == np.round((2500 + 15) / 25))
    assert np.all(adu[2] == 255)


def test_read_noise_level():
    ro = Readout(gain_e_per_adu=1.0, read_noise_e=10.0, pedestal_e=100.0, hot_fraction=0.0)
    adu = ro.apply(np.zeros((50, 40, 40)), np.random.default_rng(1)).astype(float)
    assert adu.mean() == pytest.approx(100.0, abs=0.1)
    assert adu.std() == pytest.approx(np.sqrt(10.0 ** 2 + 1 / 12), rel=0.02)


def test_hot_pixels_belong_to_the_phone():
    e = np.zeros((200, 40, 40))
    a = Readout(phone_seed=1, hot_fraction=0.01).apply(e, np.random.default_rng(2)).mean(axis=0)
    b = Readout(phone_seed=1, hot_fraction=0.01).apply(e, np.random.default_rng(3)).mean(axis=0)
    c = Readout(phone_seed=2, hot_fraction=0.01).apply(e, np.random.default_rng(2)).mean(axis=0)
    hot = hot_pixel_map(40, 1, fraction=0.01, level_e=60.0) > 30
    assert hot.any()
    assert np.all(a[hot] > 1.5) and np.all(b[hot] > 1.5)
    assert np.array_equal(a > 1.5, b > 1.5)
    assert not np.array_equal(a > 1.5, c > 1.5)


def test_bayer_mosaic():
    m = bayer_gain_map(4, (0.5, 1.0, 0.7))
    assert m[0, 0] == 0.5 and m[0, 1] == 1.0 and m[1, 0] == 1.0 and m[1, 1] == 0.7
    ro = Readout(read_noise_e=0.0, hot_fraction=0.0, pedestal_e=0.0, bayer=True,
                 bayer_gains=(0.5, 1.0, 0.7))
    adu = ro.apply(np.full((1, 40, 40), 2500.0), np.random.default_rng(0))[0]
    assert adu[0, 0] == 50 and adu[0, 1] == 100 and adu[1, 1] == 70


def test_jpeg_like():
    rng = np.random.default_rng(4)
    frames = np.clip(rng.normal(5, 1, (4, 40, 40)), 0, 255).round()
    frames[:, 20, 10:30] = 60  # a line
    hi, lo = jpeg_like(frames, 100), jpeg_like(frames, 50)
    assert np.abs(hi - frames).max() <= 1
    assert np.abs(lo - frames).mean() > np.abs(hi - frames).mean()
    assert np.all(lo == np.round(lo)) and lo.min() >= 0 and lo.max() <= 255
    assert jpeg_like(frames[:, :37, :35], 90).shape == (4, 37, 35)
    with pytest.raises(ValueError, match="quality"):
        jpeg_like(frames, 0)


def test_hidden_readout_crosstalk_and_nonlinearity():
    quiet = dict(read_noise_e=1e-9, excess_noise=0.0, pedestal_e=0.0, hot_fraction=0.0,
                 gain_e_per_adu=1.0, bits=16, full_well_e=1e9)
    e = np.zeros((1, 40, 40))
    e[0, 20, 20] = 10000.0
    lin = HiddenReadout(compress_adu=1e9, **quiet).apply(e, np.random.default_rng(0))[0]
    assert lin.sum() == pytest.approx(10000, abs=3)  # cross-talk conserves charge
    assert lin[20, 21] == pytest.approx(700, abs=1) and lin[20, 20] == pytest.approx(7200, abs=1)
    comp = HiddenReadout(compress_adu=1000.0, **quiet).apply(e, np.random.default_rng(0))[0]
    assert comp[20, 20] == pytest.approx(1000 * np.log1p(7.2), abs=1)


def test_hidden_readout_blooms_along_columns():
    quiet = dict(read_noise_e=1e-9, excess_noise=0.0, pedestal_e=0.0, hot_fraction=0.0,
                 gain_e_per_adu=1.0, bits=16, compress_adu=1e9, crosstalk=0.0)
    e = np.zeros((1, 40, 40))
    e[0, 20, 20] = 5000.0
    out = HiddenReadout(full_well_e=3000.0, **quiet).apply(e, np.random.default_rng(0))[0]
    assert out[20, 20] == 3000 and out[19, 20] == 1000 and out[21, 20] == 1000
    assert out[20, 19] == 0


def test_hidden_readout_differs_from_approximation():
    e = np.zeros((200, 40, 40))
    rng = np.random.default_rng(5)
    approx = Readout().apply(e, rng).astype(float)
    real = HiddenReadout().apply(e, rng).astype(float)
    assert real.mean() > approx.mean() + 0.5 and real.std() > approx.std()


def test_bad_input():
    ro = Readout()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="NaN"):
        ro.apply(np.full((1, 40, 40), np.nan), rng)
    with pytest.raises(ValueError, match="non-negative"):
        ro.apply(-np.ones((1, 40, 40)), rng)
    with pytest.raises(ValueError, match="shape"):
        ro.apply(np.ones((1, 40, 30)), rng)
    with pytest.raises(ValueError, match="gain"):
        Readout(gain_e_per_adu=0)
    with pytest.raises(ValueError, match="crosstalk"):
        HiddenReadout(crosstalk=0.3)
