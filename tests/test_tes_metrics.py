"""Metrics of the CRAB chapter, on synthetic inputs with known answers."""

import numpy as np
import pytest
from astropy.table import Table

from cosmicbook import tes


def _white(rng, n=64, c=4, length=1060):
    return rng.standard_normal((n, c, length))


def test_welch_psd_of_white_noise():
    rng = np.random.default_rng(0)
    freq, psd = tes.welch_psd(_white(rng), sample_rate=180.37, nperseg=256)
    assert psd.shape == (4, 129) and freq[-1] == pytest.approx(90.185)
    assert np.allclose(psd[:, 2:-1].mean(axis=1), 2 / 180.37, rtol=0.03)


def test_psd_ratio_by_decade():
    freq = np.linspace(0, 90, 200)
    psd = np.ones((2, freq.size))
    table = tes.psd_ratio_by_decade(freq, 2 * psd, psd)
    assert list(table["f_lo"]) == pytest.approx([freq[1], 1.0, 10.0])
    assert np.allclose(np.stack(table["ratio"]), 2.0)
    bumped = psd.copy()
    bumped[0, (freq >= 10)] = 1.5
    table = tes.psd_ratio_by_decade(freq, bumped, psd)
    assert table["ratio_max"][-1] == pytest.approx(1.5) and table["ratio_min"][-1] == 1.0
    assert table["ratio_max"][0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        tes.psd_ratio_by_decade(freq, psd[:, :-1], psd)


def test_decade_edges():
    assert tes.decade_edges(0.17, 90).tolist() == [0.17, 1.0, 10.0, 90.0]
    assert tes.decade_edges(2.0, 5.0).tolist() == [2.0, 5.0]
    with pytest.raises(ValueError):
        tes.decade_edges(0, 5)


def test_detect_glitches_finds_injected_spikes():
    rng = np.random.default_rng(1)
    tod = _white(rng, n=20)
    positions = rng.choice(np.arange(50, 1000, 20), size=(20, 4, 5))
    for s in range(20):
        for d in range(4):
            tod[s, d, positions[s, d]] += 10.0
    det = tes.detect_glitches(tod)
    assert np.allclose(det.meta["sigma"], 1.0, atol=0.05)
    found = {(int(r["segment"]), int(r["detector"]), int(r["index"])) for r in det}
    injected = {(s, d, int(p)) for s in range(20) for d in range(4) for p in positions[s, d]}
    assert len(injected - found) == 0
    spikes = det[[(int(r["segment"]), int(r["detector"]), int(r["index"])) in injected
                  for r in det]]
    assert abs(np.median(spikes["amplitude"]) - 10.0) < 0.5
    false = len(det) - len(spikes)
    assert false / tod.size < 2e-3  # 3.2 sigma on white noise: ~6e-4 per sample
    assert np.all(det["snr"] >= 3.2)
    assert np.allclose(det["time"], det["index"] / 180.37)


def test_detect_glitches_with_given_sigma_and_errors():
    rng = np.random.default_rng(2)
    tod = 2.0 * _white(rng, n=5)
    est = tes.detect_glitches(tod)
    fixed = tes.detect_glitches(tod, sigma=1.0)
    assert len(fixed) > 20 * len(est) + 10
    bad = tod.copy()
    bad[0, 0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tes.detect_glitches(bad)
    with pytest.raises(ValueError, match="shape"):
        tes.detect_glitches(tod[0])
    with pytest.raises(ValueError):
        tes.detect_glitches(tod, baseline_width=4)
    empty = tes.detect_glitches(np.zeros((1, 2, 100)) + rng.normal(0, 1e-3, (1, 2, 100)),
                                threshold=50)
    assert len(empty) == 0 and "amplitude" in empty.colnames


@pytest.mark.parametrize("gamma", [1.7, 2.4])
def test_fit_power_law_recovers_index(gamma):
    rng = np.random.default_rng(3)
    a = tes.sample_power_law(rng, 5000, gamma, 3.2, 1e6)
    g, err = tes.fit_power_law(a, 3.2)
    assert abs(g - gamma) < 3 * err and err < 0.05
    # a cap that matters: the untruncated estimator is biased, the truncated one is not
    capped = tes.sample_power_law(rng, 5000, gamma, 3.2, 30.0)
    g_cap, err_cap = tes.fit_power_law(capped, 3.2, 30.0)
    g_naive, _ = tes.fit_power_law(capped, 3.2)
    assert abs(g_cap - gamma) < 3 * err_cap
    assert g_naive - gamma > 5 * err_cap


def test_fit_power_law_errors():
    with pytest.raises(ValueError, match="at least 2"):
        tes.fit_power_law([1.0, 5.0], 3.0)
    with pytest.raises(ValueError, match="a_max"):
        tes.fit_power_law([4.0, 5.0, 50.0], 3.0, 10.0)
    with pytest.raises(ValueError):
        tes.fit_power_law([4.0, np.nan], 3.0)


def test_compare_amplitudes():
    rng = np.random.default_rng(4)
    a = tes.sample_power_law(rng, 3000, 2.0, 3.2, 100)
    b = tes.sample_power_law(rng, 3000, 2.0, 3.2, 100)
    same = tes.compare_amplitudes(a, b)
    assert same.ks_pvalue > 0.01 and same.relative_wasserstein < 0.1 and same.agrees()
    doubled = tes.compare_amplitudes(2 * a, b)
    assert doubled.ks_pvalue < 1e-10 and not doubled.agrees()
    assert doubled.wasserstein == pytest.approx(np.log10(2), abs=0.02)
    assert doubled.relative_wasserstein == pytest.approx(doubled.wasserstein / doubled.spread)
    with pytest.raises(ValueError, match="positive"):
        tes.compare_amplitudes([-1.0, 2.0], b)


def _poisson_detections(rng, rate, n_seg=200, n_det=3, seconds=1060 / 180.37):
    rows = []
    for s in range(n_seg):
        for d in range(n_det):
            k = rng.poisson(rate * seconds)
            for t in np.sort(rng.uniform(0, seconds, k)):
                rows.append((s, d, int(t * 180.37), t, 5.0, 5.0))
    t = Table(rows=rows, names=("segment", "detector", "index", "time", "amplitude", "snr"))
    t.meta.update(n_segments=n_seg, n_bolometers=n_det, n_samples=1060, sample_rate=180.37)
    return t


def test_rates_and_inter_arrival_times_of_a_poisson_process():
    rng = np.random.default_rng(5)
    det = _poisson_detections(rng, 0.8)
    rates = tes.glitch_rate(det)
    assert rates.shape == (3,) and np.allclose(rates, 0.8, rtol=0.1)
    dt = tes.inter_arrival_times(det)
    assert np.all(dt >= 0)
    # within a 5.9 s window the gaps are exponential with mean ~1/rate (slightly censored)
    assert 0.8 / 0.8 * 0.8 < np.mean(dt) < 1.0 / 0.8 * 1.05
    with pytest.raises(ValueError, match="meta"):
        tes.glitch_rate(Table({"detector": [0]}))


def test_correlation_matrix_recovers_known_correlation():
    rng = np.random.default_rng(6)
    common = rng.standard_normal((30, 1, 1060))
    c = np.array([0.9, 0.6, 0.0])[None, :, None]
    x = np.sqrt(1 - c ** 2) * rng.standard_normal((30, 3, 1060)) + c * common
    expected = np.array([[1, 0.54, 0], [0.54, 1, 0], [0, 0, 1]])
    assert np.allclose(tes.correlation_matrix(x, "pearson"), expected, atol=0.03)
    # Spearman of Gaussians: (6/pi) asin(rho/2)
    spearman = 6 / np.pi * np.arcsin(0.54 / 2)
    assert tes.correlation_matrix(x)[0, 1] == pytest.approx(spearman, abs=0.03)
    # a huge glitch in two channels dominates Pearson, not Spearman
    y = x.copy()
    y[0, 1:, 10] += 1e4
    assert tes.correlation_matrix(y, "pearson")[1, 2] > 0.5
    assert abs(tes.correlation_matrix(y)[1, 2]) < 0.05
    with pytest.raises(ValueError):
        tes.correlation_matrix(x, "kendall")


def test_diversity_and_memorisation():
    rng = np.random.default_rng(7)
    train = rng.standard_normal((200, 2, 50))
    fresh = rng.standard_normal((100, 2, 50))
    copies = train[:100] + 1e-3 * rng.standard_normal((100, 2, 50))
    assert tes.memorisation_ratio(fresh[:50], fresh[50:], train) == pytest.approx(1, abs=0.1)
    assert tes.memorisation_ratio(copies, fresh, train) < 0.01
    nn = tes.nearest_neighbour_distances(train[:5], train)
    assert np.allclose(nn, 0, atol=1e-5)
    collapsed = np.repeat(fresh[:1], 20, axis=0)
    assert tes.pairwise_diversity(collapsed) == pytest.approx(0, abs=1e-5)
    assert tes.pairwise_diversity(fresh) == pytest.approx(np.sqrt(2 * 100), rel=0.05)
    with pytest.raises(ValueError):
        tes.nearest_neighbour_distances(train[:, :, :10], train)
    with pytest.raises(ValueError):
        tes.pairwise_diversity(fresh[:1])


def test_white_noise_covariance_ignores_glitches_and_red_noise():
    tod = tes.simulate_tod(60, 2.0, seed=4, progress=False)
    cov = tes.metrics.white_noise_covariance(tod)
    c = np.array(tes.TODConfig().common_mode)
    expected = np.outer(c, c)
    np.fill_diagonal(expected, 1.0)
    assert np.allclose(cov, expected, atol=0.1)
    # the plain covariance of the differences is inflated by the glitches
    d = np.moveaxis(np.diff(tod, axis=-1), 1, 0).reshape(4, -1)
    assert np.all(np.diag(np.cov(d)) / 2 > 1.2)
    with pytest.raises(ValueError):
        tes.metrics.white_noise_covariance(tod[..., :2])
    with pytest.raises(ValueError):
        tes.metrics.white_noise_covariance(tod, clip=0.0)


def test_describe_comparison_of_two_mc_samples():
    from cosmicbook import tes

    a = tes.simulate_tod(64, seed=1)
    b = tes.simulate_tod(64, seed=2)
    c = tes.compare_tod(a, b, training=tes.simulate_tod(16, seed=3))
    text = tes.describe_comparison("MC twin", c, "none")
    assert text.startswith(f"* **MC twin** (none), {sum(c.passes().values())}/4: ")
    assert "below 10 Hz" in text and f"{c.psd_span(True)} below" in text
    lo, hi = (float(v) for v in c.psd_span(False).split("-"))
    assert c.psd_ratio_range[0] <= lo <= hi <= c.psd_ratio_range[1]


def test_robust_sigma_is_cores_and_gives_the_old_numbers():
    """``tes.robust_sigma`` is :func:`cosmicbook.core.stats.robust_sigma` (the chapter's own
    copy was removed); bit for bit the formula it had, with the axes the chapter uses."""
    from cosmicbook.core import stats

    def old(x, axis=None):  # the removed tes.metrics.robust_sigma
        x = np.asarray(x, dtype=np.float64)
        med = np.median(x, axis=axis, keepdims=True)
        return 1.4826 * np.median(np.abs(x - med), axis=axis)

    assert tes.robust_sigma is stats.robust_sigma
    rng = np.random.default_rng(5)
    tod = (rng.standard_normal((6, 4, 1060)) + 30 * (rng.random((6, 4, 1060)) < 0.01)).astype(
        np.float32)
    high = tod - np.median(tod, axis=-1, keepdims=True)
    cases = [
        (np.moveaxis(high, 1, 0).reshape(4, -1), 1),  # detect_glitches' noise per bolometer
        (np.moveaxis(np.diff(tod, axis=-1), 1, 0).reshape(4, -1), 1),  # white_noise_cov.
        (np.diff(tod, axis=-1), None),                # tests: the rms of generated TOD
        (tod, -1), (tod, (0, 2)), (rng.standard_normal(7), 0),
    ]
    for x, axis in cases:
        got, want = tes.robust_sigma(x, axis=axis), old(x, axis=axis)
        assert np.shape(got) == np.shape(want) and np.asarray(got).dtype == np.float64
        np.testing.assert_array_equal(got, want)
