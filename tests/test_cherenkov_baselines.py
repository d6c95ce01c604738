"""The gammapy baselines: Li & Ma, aperture photometry, blind search and ML fit."""

import numpy as np
import pytest

from cosmicbook import cherenkov as ck


def test_li_ma_reference_values():
    # Li & Ma (1983) eq. 17 by hand
    n_on, n_off, alpha = 30.0, 100.0, 0.1
    term_on = n_on * np.log((1 + alpha) / alpha * n_on / (n_on + n_off))
    term_off = n_off * np.log((1 + alpha) * n_off / (n_on + n_off))
    expected = np.sqrt(2 * (term_on + term_off))
    assert ck.li_ma(n_on, n_off, alpha) == pytest.approx(expected, rel=1e-6)
    assert ck.li_ma(5, 100, 0.1) < 0  # a deficit is negative


def test_aperture_significance():
    counts = np.zeros((2, 200, 200))
    background = np.full((2, 200, 200), 0.01)
    counts[0, 98:103, 98:103] = 2  # 50 counts in the 0.1-deg aperture
    sig = ck.aperture_significance(counts, [100, 100], [100, 100], background=background)
    b = 0.01 * ((np.hypot(*np.mgrid[-4:5, -4:5]) <= 4).sum())
    expected = np.sqrt(2 * (50 * np.log(50 / b) - 50 + b))
    assert sig[0] == pytest.approx(expected, rel=1e-6)
    assert sig[1] < 0
    ring = ck.aperture_significance(counts, [100, 100], [100, 100])
    assert ring[0] > 5
    assert np.isnan(ck.aperture_significance(counts[:1], [np.nan], [1.0])[0])


@pytest.fixture(scope="module")
def setup():
    templates = ck.build_templates([(20.0, 1.0)])
    maps = ck.simulate_maps(2, templates, seed=8, flux=0.5, livetime=100.0, margin=40,
                            keep_background=True)
    return ck.GammapyAnalysis(templates), maps


def test_dataset_of_a_map(setup):
    ga, maps = setup
    ds = ga.dataset(maps, 0)
    assert ds.counts.data.sum() == maps.counts[0].sum()
    scale = maps.livetime[0] / 100.0
    assert ds.background.data.sum() == pytest.approx(
        maps.templates.background[0].sum() * scale, rel=1e-3)


def test_blind_search_and_ml_fit_find_a_bright_source(setup):
    ga, maps = setup
    peaks = ga.blind_search(maps, 0, threshold=5.0)
    assert len(peaks) >= 1
    best = peaks[0]
    assert np.hypot(best.x - maps.x[0, 0], best.y - maps.y[0, 0]) < 3
    assert best.value > 20
    fit = ga.ml_fit(maps, 0)
    assert fit.success
    assert np.hypot(fit.x - maps.x[0, 0], fit.y - maps.y[0, 0]) < 1.0
    assert 0 < fit.error_deg < 0.02
    sky = maps.sky(0)[0]
    from astropy.coordinates import SkyCoord

    assert SkyCoord(fit.ra, fit.dec, unit="deg").separation(sky).deg < 0.025
