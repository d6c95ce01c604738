"""Sightline synthesis and per-pixel labels of the DLA chapter."""

import numpy as np
import pytest

from cosmicbook.dla import (
    SightlineSimulator,
    extract_windows,
    make_labels,
    sample_log_nhi,
    simulate_sightlines,
    tau_eff,
)
from cosmicbook.dla.labels import LYB_SHIFT
from cosmicbook.dla.voigt import LYA_WAVE


def test_grid_and_reproducibility():
    a = simulate_sightlines(3, seed=4, progress_bar=False)
    b = simulate_sightlines(3, seed=4, progress_bar=False)
    for s, t in zip(a, b, strict=True):
        assert np.array_equal(s.flux, t.flux)
        assert np.allclose(np.diff(s.loglam), 1e-4)
        assert s.wave[0] == pytest.approx(3600.0, abs=0.1)
        assert s.wave[-1] / (1 + s.z_qso) == pytest.approx(1420.0, abs=0.5)
        assert np.all(s.ivar > 0) and np.all(np.isfinite(s.flux))
    other = simulate_sightlines(1, seed=5, progress_bar=False)[0]
    assert other.z_qso != a[0].z_qso


def test_forest_mean_transmission_follows_tau_eff():
    sim = SightlineSimulator(mean_dla=0, mean_subdla=0)
    rng = np.random.default_rng(0)
    for zq in (2.6, 3.8):
        lines = [sim.draw(rng, z_qso=zq) for _ in range(40)]
        rest = lines[0].wave / (1 + zq)
        sel = (rest > 1060) & (rest < 1180)
        mean = np.mean([s.transmission[sel] for s in lines], axis=0)
        z = lines[0].wave[sel] / LYA_WAVE - 1
        assert np.mean(mean) == pytest.approx(np.mean(np.exp(-tau_eff(z))), abs=0.02)
        assert np.allclose(lines[0].transmission[rest > 1230], 1.0)


def test_absorbers_within_forest_and_snr():
    sim = SightlineSimulator(mean_dla=2.0, mean_subdla=1.0, snr_median=4.0)
    rng = np.random.default_rng(1)
    lines = [sim.draw(rng) for _ in range(30)]
    n = 0
    for s in lines:
        for row in s.absorbers:
            rest = LYA_WAVE * (1 + row["z_abs"]) / (1 + s.z_qso)
            assert 918 < rest < 1197
            assert (row["kind"] == "DLA") == (row["log_nhi"] >= 20.3)
            assert 19.5 <= row["log_nhi"] <= 22.5
            # the flux at a DLA centre is (nearly) black
            if row["kind"] == "DLA":
                assert s.transmission[row["pixel"]] < 0.02
            n += 1
        assert 1.0 <= s.snr <= 60
    assert n > 40
    assert np.median([s.snr for s in lines]) < 8


def test_fixed_absorbers_and_noise_level():
    sim = SightlineSimulator()
    s = sim.draw(np.random.default_rng(2), z_qso=3.0, snr=10.0, absorbers=[(2.6, 21.0)])
    assert len(s.absorbers) == 1 and s.absorbers["kind"][0] == "DLA"
    rest = s.wave / 4.0
    sel = (rest > 920) & (rest < 1200)
    c_ref = np.median(s.continuum[sel])
    # noise at the continuum level equals c_ref / snr
    assert 1 / np.sqrt(s.ivar[np.argmax(s.continuum * s.transmission)]) >= 0.5 * c_ref / 10


def test_sample_log_nhi():
    rng = np.random.default_rng(3)
    fn = sample_log_nhi(20000, rng)
    uni = sample_log_nhi(20000, rng, distribution="uniform")
    assert fn.min() >= 20.3 and fn.max() <= 22.5
    assert np.median(fn) < np.median(uni) - 0.4   # f(N) falls steeply with N
    with pytest.raises(ValueError, match="distribution"):
        sample_log_nhi(1, rng, distribution="flat")


def test_labels_bands_and_masks():
    lab = make_labels(3000, [(1500, 21.0), (2200, 20.0)])
    assert np.all(lab.cls[1440:1561] == 1)
    assert np.all(lab.offset[1440:1561] == np.arange(-60, 61))
    assert np.all(lab.log_nhi[1440:1561] == 21.0)
    assert np.all(lab.cls[1561:1621] == -1) and np.all(lab.cls[1380:1440] == -1)
    assert lab.cls[1621] == 0 and lab.cls[1379] == 0
    lyb = 1500 + LYB_SHIFT
    assert np.all(lab.cls[lyb - 60:lyb + 61] == -1)
    assert np.all(lab.cls[2140:2261] == 0)          # sub-DLA: hard negative
    assert np.all(np.isnan(lab.log_nhi[2140:2261]))


def test_windows_are_centred():
    flux = np.arange(1000, dtype=float)
    win = extract_windows(flux, np.array([0, 500, 999]))
    assert win.shape == (3, 1, 400)
    assert win[1, 0, 200] == 500 and win[0, 0, 200] == 0 and win[2, 0, 200] == 999
    assert np.all(win[0, 0, :200] == 0)   # beyond the blue end: zeros


def test_training_windows_and_noise_model():
    from cosmicbook.dla import make_windows

    lines = simulate_sightlines(6, seed=8, progress_bar=False, mean_dla=2.0)
    ws = make_windows(lines, np.random.default_rng(0), per_dla=10, per_subdla=5,
                      per_random=10, noise_model=True)
    assert ws.x.shape[1:] == (1, 400) and ws.clean.shape == ws.x.shape
    assert set(np.unique(ws.cls)) <= {0.0, 1.0}          # masked centres are dropped
    assert np.all(np.isfinite(ws.log_nhi[ws.cls == 1]))
    assert np.all(ws.log_nhi[ws.cls == 1] >= 20.3)
    assert np.all(np.abs(ws.offset) <= 60)
    centre = slice(190, 210)
    pull = (ws.x[:, 0, centre] - ws.clean[:, 0, centre]) / ws.sigma[:, 0, centre]
    assert np.std(pull) == pytest.approx(1.0, abs=0.05)  # the stored noise model is right
