"""The Monte-Carlo TOD simulator of the CRAB chapter: noise, glitch families, rates, truth."""

import numpy as np
import pytest

from cosmicbook import tes
from cosmicbook.tes.metrics import correlation_matrix, fit_power_law, welch_psd

QUIET = dict(rate_long=0.0, rate_short=0.0, rate_shower=0.0)


def test_shape_units_and_determinism():
    a = tes.simulate_tod(3, seed=1, progress=False)
    b = tes.simulate_tod(3, seed=1, progress=False)
    c = tes.simulate_tod(3, seed=2, progress=False)
    assert a.shape == (3, 4, 1060) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    tod, truth = tes.simulate_glitches(3, seed=1, progress=False)
    np.testing.assert_array_equal(tod, a)
    assert set(truth["family"]) <= set(tes.FAMILIES)
    assert np.all((truth["time"] >= 0) & (truth["time"] < tes.segment_seconds()))


def test_segment_duration_is_planck_like():
    assert tes.segment_seconds() == pytest.approx(1060 / 180.37)
    assert 5.8 < tes.segment_seconds() < 5.95


def test_noise_psd_matches_the_model():
    tod = tes.simulate_tod(80, seed=3, progress=False, **QUIET)
    freq, psd = welch_psd(tod, nperseg=256)
    model = tes.noise_psd(freq[1:])
    ratio = psd[:, 1:] / model
    high = freq[1:] > 20
    low = (freq[1:] > 0.6) & (freq[1:] < 3)
    assert np.allclose(ratio[:, high].mean(axis=1), 1.0, atol=0.05)  # white level 2/fs
    assert np.allclose(ratio[:, low].mean(axis=1), 1.0, atol=0.25)   # 1/f part
    # no 1/f at all: a flat spectrum at low frequency
    flat = tes.simulate_tod(80, seed=3, progress=False, f_knee=1e-6, **QUIET)
    _, psd_flat = welch_psd(flat, nperseg=256)
    assert psd_flat[:, 1].mean() < 0.65 * psd[:, 1].mean()      # 0.7 Hz


def test_common_mode_sets_the_noise_correlation():
    c = np.array([0.8, 0.7, 0.6, 0.5])
    tod = tes.simulate_tod(100, seed=4, progress=False, **QUIET)
    expected = np.outer(c, c)
    np.fill_diagonal(expected, 1.0)
    corr = correlation_matrix(tod, method="pearson")
    np.testing.assert_allclose(corr, expected, atol=0.03)
    independent = tes.simulate_tod(50, seed=4, progress=False, common_mode=(0, 0, 0, 0),
                                   **QUIET)
    off = correlation_matrix(independent)[~np.eye(4, dtype=bool)]
    assert np.all(np.abs(off) < 0.03)


def test_rates_scale_with_flux():
    n = 100
    seconds = n * tes.segment_seconds()
    for flux in (1.0, 2.0):
        _, truth = tes.simulate_glitches(n, flux, seed=5, progress=False)
        direct = truth[truth["family"] != "shower"]
        expected = (0.6 + 0.4) * flux * seconds * 4
        assert abs(len(direct) - expected) < 5 * np.sqrt(expected)
        long = np.sum(truth["family"] == "long")
        assert abs(long - 0.6 * flux * seconds * 4) < 5 * np.sqrt(0.6 * flux * seconds * 4)
        showers = truth[truth["family"] == "shower"]
        exp_s = 100 / 3600 * flux * seconds * 4
        assert abs(len(showers) - exp_s) < 5 * np.sqrt(exp_s) + 4
    none = tes.simulate_glitches(20, 0.0, seed=5, progress=False)[1]
    assert len(none) == 0


def test_wafer_events_hit_every_bolometer_at_once():
    _, truth = tes.simulate_glitches(100, seed=6, progress=False, rate_shower=1.0)
    showers = truth[truth["family"] == "shower"]
    assert len(showers) > 100
    for key in {(int(r["segment"]), float(r["time"])) for r in showers[:40]}:
        same = showers[(showers["segment"] == key[0]) & (showers["time"] == key[1])]
        assert sorted(same["detector"]) == [0, 1, 2, 3]


def test_amplitudes_follow_the_family_power_laws():
    _, truth = tes.simulate_glitches(150, seed=7, progress=False)
    for family, gamma in (("long", 2.4), ("short", 1.7)):
        amp = truth["amplitude"][truth["family"] == family]
        assert amp.min() >= 2.0 and amp.max() <= 100.0
        g, err = fit_power_law(amp, 2.0, 100.0)
        assert abs(g - gamma) < 4 * err + 0.02, (family, g, err)


def _stack(tod, truth, family, lags, a_min=20.0):
    """Mean of TOD / amplitude at ``lags`` samples after hits, minus the pre-hit level
    (lags -60 to -10), which removes the contribution of the other glitches."""
    fs = 180.37
    rows = truth[(truth["family"] == family) & (truth["amplitude"] > a_min)]
    before = np.arange(-60, -10)
    profiles = []
    for r in rows:
        i = int(np.floor(r["time"] * fs))
        if i + lags.max() < tod.shape[-1] and i + before.min() >= 0:
            x = tod[r["segment"], r["detector"]]
            profiles.append((x[i + lags] - x[i + before].mean()) / r["amplitude"])
    return np.mean(profiles, axis=0), len(profiles)


def test_pulse_shapes_long_tail_short_none():
    tod, truth = tes.simulate_glitches(150, seed=8, progress=False, rate_long=1.0,
                                       rate_short=1.0, rate_shower=0.0)
    lags = np.arange(0, 80)
    long, n_long = _stack(tod, truth, "long", lags)
    short, n_short = _stack(tod, truth, "short", lags)
    assert n_long > 60 and n_short > 60
    # the sample holding the hit carries the fast decay averaged over the sample
    assert 0.2 < long[0] < 1.0 and 0.1 < short[0] < 1.0
    # tail 0.1-0.4 s after the hit: the long template, nothing for short glitches
    tail = (lags >= 20) & (lags < 75)
    expected = tes.long_template(lags[tail] / 180.37 + 0.5 / 180.37).mean()
    assert long[tail].mean() == pytest.approx(expected, rel=0.35)
    assert abs(short[tail].mean()) < 0.3 * expected


def test_long_template_normalisation():
    assert tes.long_template(0.0) == pytest.approx(1.0)
    assert tes.long_template(-0.1) == 0.0
    assert 0 < tes.long_template(1.0) < 0.01


def test_sample_power_law_bounds_and_index():
    rng = np.random.default_rng(0)
    a = tes.sample_power_law(rng, 20000, 1.7, 2.0, 1e4)
    assert a.min() >= 2.0 and a.max() <= 1e4
    g, err = fit_power_law(a, 2.0, 1e4)
    assert abs(g - 1.7) < 4 * err
    flat = tes.sample_power_law(rng, 1000, 1.0, 1.0, 10.0)
    assert flat.min() >= 1.0 and flat.max() <= 10.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_segments=0), "n_segments"),
    (dict(n_segments=2, flux=-1.0), "flux"),
    (dict(n_segments=2, flux=[1.0, 2.0, 3.0]), "flux"),
    (dict(n_segments=2, flux=np.nan), "flux"),
    (dict(n_segments=2, bogus=1), "unknown simulator parameter"),
    (dict(n_segments=2, common_mode=(0.5, 0.5)), "common_mode"),
    (dict(n_segments=2, a_min=200.0), "caps"),
    (dict(n_segments=2, chunk=0), "chunk"),
])
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tes.simulate_tod(progress=False, seed=0, **kwargs)


def test_flux_per_segment():
    flux = np.array([0.0, 5.0])
    _, truth = tes.simulate_glitches(2, flux, seed=9, progress=False)
    assert np.all(truth["segment"] == 1)
