"""Tests of cosmicbook.darks.simulate: seeding, rates, truth consistency, morphologies."""

import numpy as np
import pytest

from cosmicbook.darks import DEFAULT_RATE, DarkCamera, SimulatedDark, simulate_dark
from cosmicbook.darks.simulate import kanaya_okayama_range


@pytest.fixture(scope="module")
def camera():
    return DarkCamera(shape=(512, 512), detector_seed=7, hot_fraction=1e-3)


@pytest.fixture(scope="module")
def long_dark():
    # many cosmics of every kind on a small frame
    return DarkCamera(shape=(1024, 1024), detector_seed=3, rate=20.0).expose(600.0, seed=11)


def test_seeded_exposures_are_bit_identical(camera):
    a = camera.expose(300.0, seed=5)
    b = camera.expose(300.0, seed=5)
    assert isinstance(a, SimulatedDark)
    assert a.data.dtype == np.float32 and a.cosmic_image.dtype == np.float32
    assert a.truth_labels.dtype == np.int32 and a.hot_mask.dtype == bool
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(a.cosmic_image, b.cosmic_image)
    np.testing.assert_array_equal(a.truth_labels, b.truth_labels)
    assert all(np.array_equal(a.truth[c], b.truth[c]) for c in ("id", "x", "y", "kind"))
    np.testing.assert_array_equal(np.asarray(a.truth["peak"]), np.asarray(b.truth["peak"]))
    c = camera.expose(300.0, seed=6)
    assert not np.array_equal(a.data, c.data)


def test_simulate_dark_matches_camera():
    a = simulate_dark(shape=(256, 256), exptime=200.0, seed=3, detector_seed=2)
    b = DarkCamera((256, 256), detector_seed=2).expose(200.0, seed=3)
    np.testing.assert_array_equal(a.data, b.data)


def test_expose_many_reproducible_and_independent(camera):
    a = camera.expose_many([100.0, 200.0, 300.0], seed=1, progress=False)
    b = camera.expose_many([100.0, 200.0, 300.0], seed=1, progress=False)
    assert [d.exptime for d in a] == [100.0, 200.0, 300.0]
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.data, y.data)
    assert not np.array_equal(a[0].cosmic_image, a[1].cosmic_image)


def test_detector_is_fixed_by_detector_seed(camera):
    same = DarkCamera(shape=(512, 512), detector_seed=7, hot_fraction=1e-3)
    other = DarkCamera(shape=(512, 512), detector_seed=8, hot_fraction=1e-3)
    np.testing.assert_array_equal(camera.hot_mask, same.hot_mask)
    np.testing.assert_array_equal(camera.read_noise, same.read_noise)
    assert not np.array_equal(camera.hot_mask, other.hot_mask)
    assert np.all((camera.read_noise >= 1) & (camera.read_noise <= 3))
    assert np.all(np.abs(camera.bias_offset) < 1)
    d1, d2 = camera.expose(100.0, seed=1), camera.expose(900.0, seed=2)
    np.testing.assert_array_equal(d1.hot_mask, d2.hot_mask)
    assert camera.hot_index.size > 100  # 1e-3 of 512^2


def test_poisson_count_matches_rate():
    cam = DarkCamera(shape=(512, 512), detector_seed=1, hot_fraction=0.0, hot_columns=0.0)
    frames = cam.expose_many([1000.0] * 30, seed=4, progress=False)
    expected = DEFAULT_RATE * 1000.0 * (512 * 512) / 4096**2
    assert cam.expected_cosmics(1000.0) == pytest.approx(expected)
    counts = np.array([len(f.truth) for f in frames])
    assert abs(counts.mean() - expected) < 4 * np.sqrt(expected / counts.size)


def test_default_bright_rate_is_desi_like():
    """Events with a noiseless peak above 400 ADU come at ~1.4 per s per 4k frame."""
    cam = DarkCamera(shape=(1024, 1024), detector_seed=0)
    frames = cam.expose_many([3000.0] * 6, seed=9, progress=False)
    nbright = sum(int(np.sum(f.truth["peak"] > 400)) for f in frames)
    ndim = sum(int(np.sum(f.truth["peak"] <= 400)) for f in frames)
    exposure = 6 * 3000.0 * (1024 * 1024) / 4096**2
    rate = nbright / exposure
    assert rate == pytest.approx(1.40, abs=4 * np.sqrt(nbright) / exposure)
    assert ndim > 50  # dim cosmics the method cannot find exist


def test_truth_is_consistent(long_dark):
    d = long_dark
    t = d.truth
    n = len(t)
    assert n > 500
    np.testing.assert_array_equal(t["id"], np.arange(1, n + 1))
    assert set(np.unique(t["kind"])) == {"muon", "electron", "spot"}
    # labels and npix agree; labelled pixels hold at least truth_sigma x noise of cosmic charge
    tl = d.truth_labels
    assert tl.min() == 0 and tl.max() <= n
    np.testing.assert_array_equal(np.bincount(tl.ravel(), minlength=n + 1)[1:], t["npix"])
    noise = d.noise_map()
    assert np.all(d.cosmic_image[tl > 0] >= d.truth_sigma * noise[tl > 0] * (1 - 1e-6))
    # peaks are where the truth says, and the image holds all deposits
    peak = np.asarray(t["peak"])
    assert np.all(d.cosmic_image[t["y"], t["x"]] >= peak * (1 - 1e-5))
    assert d.cosmic_image.sum(dtype=float) == pytest.approx(np.sum(t["total"]), rel=1e-4)
    assert np.all(np.asarray(t["total"]) >= peak)
    # the frame is noise + background + cosmics where there are no defects
    resid = (d.data - d.cosmic_image - d.background_map()) / noise
    clean = ~d.hot_mask & (d.data < d.meta["saturation"])
    assert np.std(resid[clean]) == pytest.approx(1.0, abs=0.02)
    assert abs(np.mean(resid[clean])) < 0.01
    assert d.data.max() <= d.meta["saturation"]


def test_noise_and_background_maps(camera):
    d = camera.expose(300.0, seed=2)
    nm, bm = d.noise_map(), d.background_map()
    assert nm.shape == bm.shape == d.shape and nm.dtype == np.float32
    amp = d.amp_index()
    assert set(np.unique(amp)) == {0, 1, 2, 3}
    for a in range(4):
        assert np.all(nm[amp == a] == np.float32(d.amp_noise[a]))
        assert np.all(bm[amp == a] == np.float32(d.bias[a] + d.dark_level))
    assert np.all(d.amp_noise >= d.read_noise)
    assert d.header["EXPTIME"] == 300.0 and d.header["GAIN"] == d.gain == 1.5


def test_muon_length_follows_zenith_angle(long_dark):
    t = long_dark.truth
    mu = t[t["kind"] == "muon"]
    expected = np.minimum(250.0 * np.tan(np.radians(np.asarray(mu["zenith"]))) / 15.0, 200.0)
    np.testing.assert_allclose(mu["length"], expected, rtol=1e-9)
    np.testing.assert_allclose(mu["extent"], mu["length"])
    # cos^2 intensity through a flat detector: cos(theta)^4 is uniform, mean 1/2
    assert np.mean(np.cos(np.radians(mu["zenith"])) ** 4) == pytest.approx(0.5, abs=0.06)
    # most probable loss 80 e-/um, mean ~100 e-/um (Landau tail), for tracks inside the frame
    inside = ((mu["x"] > 60) & (mu["x"] < 964) & (mu["y"] > 60) & (mu["y"] < 964)
              & (mu["length"] < 50))
    path = np.hypot(np.asarray(mu["length"]) * 15.0, 250.0)
    dedx = np.asarray(mu["total"])[inside] * 1.5 / path[inside]
    assert 75.0 < np.median(dedx) < 115.0
    # long muons are long in the image too: the truth pixels span ~the projected length
    long = mu[(mu["length"] > 20) & inside]
    assert len(long) > 5
    for row in long:
        ys, xs = np.nonzero(long_dark.truth_labels == row["id"])
        span = np.hypot(np.ptp(xs), np.ptp(ys))
        assert row["length"] - 3 < span < row["length"] + 6


def test_electrons_are_curlier_than_muons(long_dark):
    t = long_dark.truth
    el = t[(t["kind"] == "electron") & (t["extent"] > 2.0)]
    mu = t[(t["kind"] == "muon") & (t["extent"] > 2.0)]
    assert len(el) > 20 and len(mu) > 20
    curl = np.asarray(el["length"] / el["extent"])
    assert np.median(curl) > 1.1 and np.percentile(curl, 75) > 1.3
    np.testing.assert_allclose(mu["length"] / mu["extent"], 1.0)
    sp = t[t["kind"] == "spot"]
    assert np.all(sp["length"] == 0) and np.all(np.isnan(sp["angle"]))
    # spots are compact: at most a few pixels
    assert np.median(sp["npix"]) <= 9
    # angles are folded into (-90, 90]
    ang = np.asarray(t["angle"])[np.isfinite(t["angle"])]
    assert np.all((ang > -90) & (ang <= 90))


def test_kanaya_okayama_range():
    r = kanaya_okayama_range([20.0, 100.0, 1000.0])
    np.testing.assert_allclose(r, [4.7, 70.0, 3250.0], rtol=0.05)


@pytest.mark.parametrize("kwargs", [
    {"shape": (1,)}, {"shape": (1, 100)}, {"gain": 0.0}, {"read_noise": [1.0, 2.0]},
    {"read_noise": -1.0}, {"fractions": {"pion": 1.0}}, {"fractions": {"muon": 0.0}},
    {"rate": -1.0}, {"electron_energy": (100.0, 10.0)},
])
def test_camera_rejects_bad_parameters(kwargs):
    kwargs = {"shape": (64, 64), **kwargs}
    with pytest.raises(ValueError):
        DarkCamera(**kwargs)


def test_expose_rejects_bad_exptime(camera):
    with pytest.raises(ValueError, match="exptime"):
        camera.expose(-1.0)
    with pytest.raises(ValueError, match="exptime"):
        camera.expose(float("nan"))


def test_zero_exposure_has_no_cosmics(camera):
    d = camera.expose(0.0, seed=1)
    assert len(d.truth) == 0 and not d.truth_labels.any() and not d.cosmic_image.any()
    assert "0 cosmics" in repr(d)
