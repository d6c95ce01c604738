"""The fast sampler against gammapy's MapDataset.fake(), and the simulator's bookkeeping."""

import numpy as np
import pytest

from cosmicbook import cherenkov as ck


@pytest.fixture(scope="module")
def templates():
    return ck.build_templates([(20.0, 1.0)])


def test_templates(templates):
    assert templates.background.shape == (1, 200, 200)
    assert templates.binsz == pytest.approx(0.025)
    # the recipe: ~82 background counts in the map and ~3700 Crab counts at the centre
    assert templates.background[0].sum() == pytest.approx(81.7, rel=0.02)
    crab = templates.source_per_amplitude[0, 100, 100] * ck.CRAB_AMPLITUDE
    assert 3000 < crab < 4500
    # fewer source counts far off-axis (effective area falls as exp(-off^2 / 2 / 2.5^2))
    edge = templates.source_per_amplitude[0, 100, 10] / templates.source_per_amplitude[0, 100,
                                                                                       100]
    assert edge == pytest.approx(np.exp(-0.5 * (90 * 0.025 / 2.5) ** 2), rel=0.05)
    assert np.all(np.diff(templates.psf_containment[0]) >= 0)
    assert templates.psf_containment[0, -1] == pytest.approx(1.0)
    assert 0.15 < templates.psf_radius(0.68) < 0.4


def test_fast_sampler_agrees_with_gammapy_fake(templates):
    """Mean counts per pixel in rings around a source and in the background far from it."""
    ds = ck.reference_dataset(ck.get_irfs(), 100.0)
    x0, y0 = 120.4, 85.7
    sky = ck.pixel_to_sky(x0, y0, ck.simulate.REFERENCE_POINTING)
    ds.models = [ck.source_model(sky.ra.deg, sky.dec.deg, 1e-11)]
    n_fake = 20
    fake = np.zeros((200, 200))
    for s in range(n_fake):
        ds.fake(random_state=s)
        fake += ds.counts.data.sum(axis=0)
    fast = ck.simulate_maps(2000, templates, seed=1, positions=[(x0, y0)],
                            flux=1e-11 / ck.CRAB_AMPLITUDE, livetime=100.0, bkg_norm=1.0,
                            gradient=0.0)
    mean_fast = fast.counts.mean(axis=0, dtype=float)
    yy, xx = np.mgrid[:200, :200]
    r = np.hypot(xx - x0, yy - y0)
    for lo, hi in [(0, 3), (3, 6), (6, 10), (10, 16), (16, 30)]:
        ring = (r >= lo) & (r < hi)
        n_g = fake[ring].sum()  # Poisson total over n_fake maps
        expect = mean_fast[ring].sum() * n_fake
        assert abs(n_g - expect) < 4 * np.sqrt(expect) + 1, (lo, hi, n_g, expect)
    far = r > 50
    n_g, expect = fake[far].sum(), mean_fast[far].sum() * n_fake
    assert abs(n_g - expect) < 4 * np.sqrt(expect), (n_g, expect)
    # the source's mean count matches gammapy's npred within 3%
    assert fast.mu[0, 0] == pytest.approx(ds.npred_signal().data.sum(), rel=0.03)
    # radial profile: 68% of the source events within the template's r68
    src = fast.source.mean(axis=0, dtype=float)
    r68 = templates.psf_radius(0.68) / 0.025
    assert src[r <= r68].sum() / src.sum() == pytest.approx(0.68, abs=0.03)


def test_background_is_poisson_with_tilt(templates):
    maps = ck.simulate_maps(2000, templates, seed=3, n_sources=0, bkg_norm=1.0,
                            gradient=0.0, livetime=400.0)
    total = maps.counts.reshape(len(maps), -1).sum(axis=1)
    lam = templates.background[0].sum() * 4
    assert total.mean() == pytest.approx(lam, rel=0.01)
    assert total.var() == pytest.approx(lam, rel=0.1)  # Poisson: variance = mean
    assert np.allclose(maps.mu_background, lam)
    tilted = ck.simulate_maps(600, templates, seed=4, n_sources=0, bkg_norm=1.0,
                              gradient=0.2, livetime=400.0, keep_background=True)
    counts = tilted.counts.astype(np.int64)
    right = counts[:, :, 100:].sum(axis=(1, 2)) - counts[:, :, :100].sum(axis=(1, 2))
    expected = tilted.background[:, :, 100:].sum(axis=(1, 2)) - tilted.background[
        :, :, :100].sum(axis=(1, 2))
    assert np.corrcoef(right, expected)[0, 1] > 0.5
    assert np.allclose(tilted.mu_background, tilted.background.sum(axis=(1, 2)), rtol=1e-4)


def test_random_parameters_and_truth(templates):
    maps = ck.simulate_maps(300, templates, seed=5, n_sources=(0, 3), flux=(0.01, 1.0),
                            livetime=(50, 200), margin=4)
    assert set(np.unique(maps.n_sources)) == {0, 1, 2, 3}
    for k in range(4):
        sel = maps.n_sources == k
        assert np.all(np.isfinite(maps.x[sel, :k])) and np.all(np.isnan(maps.x[sel, k:]))
    f = maps.amplitude[np.isfinite(maps.amplitude)] / ck.CRAB_AMPLITUDE
    assert f.min() >= 0.01 and f.max() <= 1.0
    x = maps.x[np.isfinite(maps.x)]
    assert x.min() >= 3.5 and x.max() <= 195.5
    assert maps.livetime.min() >= 50 and maps.livetime.max() <= 200
    assert np.all(maps.counts >= maps.source)
    # source counts follow mu
    has = maps.n_sources == 1
    counted = maps.source[has].sum(axis=(1, 2))
    assert counted.sum() == pytest.approx(maps.mu[has, 0].sum(), rel=0.05)
    # same seed, same maps
    again = ck.simulate_maps(300, templates, seed=5, n_sources=(0, 3), flux=(0.01, 1.0),
                             livetime=(50, 200), margin=4)
    assert np.array_equal(again.counts, maps.counts)
    sub = maps.subset(maps.n_sources > 0)
    assert len(sub) == int((maps.n_sources > 0).sum())


def test_sky_coordinates(templates):
    maps = ck.simulate_maps(3, templates, seed=6)
    sky = maps.sky(0)
    centre = ck.pixel_to_sky(99.5, 99.5, maps.pointing[0])
    assert centre.ra.deg == pytest.approx(maps.pointing[0, 0], abs=1e-6)
    offset = np.hypot(maps.x[0, 0] - 99.5, maps.y[0, 0] - 99.5) * 0.025
    assert sky[0].separation(centre).deg == pytest.approx(offset, rel=0.01)
    # same pixel -> sky mapping as the gammapy geometry of the templates
    lon, lat = templates.geom.pix_to_coord((np.array([10.0, 150.0]), np.array([30.0, 190.0])))
    ours = ck.pixel_to_sky([10.0, 150.0], [30.0, 190.0], ck.simulate.REFERENCE_POINTING)
    assert np.allclose(ours.ra.deg, lon.to_value("deg"))
    assert np.allclose(ours.dec.deg, lat.to_value("deg"))
    assert maps.sky().shape == maps.x.shape


def test_bad_arguments(templates):
    with pytest.raises(ValueError):
        ck.simulate_maps(0, templates)
    with pytest.raises(ValueError):
        ck.simulate_maps(2, templates, flux=(1.0, 0.1))
    with pytest.raises(ValueError):
        ck.simulate_maps(2, templates, n_sources=(3, 1))
    with pytest.raises(ValueError):
        ck.simulate_maps(2, templates, margin=150)
    with pytest.raises(ValueError):
        ck.simulate_maps(2, templates, positions=[(np.nan, 3.0)])


def test_as_counts_validation():
    good = np.zeros((200, 200))
    assert ck.as_counts(good).shape == (1, 200, 200)
    assert ck.as_counts(np.zeros((3, 200, 200), dtype=np.uint16)).dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        ck.as_counts(np.zeros((100, 100)))
    with pytest.raises(ValueError, match="shape"):
        ck.as_counts(np.zeros((2, 3, 200, 200)))
    bad = good.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ck.as_counts(bad)
    with pytest.raises(ValueError, match="negative"):
        ck.as_counts(-np.ones((200, 200)))
