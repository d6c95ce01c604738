"""Tests of cosmicbook.deepcr.simulate: spectrograph frames, noise, cosmic injection."""

import numpy as np
import pytest
from astropy.table import Table
from scipy import signal, special

from cosmicbook.darks import CosmicLibrary
from cosmicbook.deepcr.simulate import (
    DESI_RATE,
    SpectroCamera,
    SpectroTile,
    default_library,
    inject_cosmics,
    make_training_frame,
    median_variance_factor,
    psf_gradients,
    simulate_tile,
)


@pytest.fixture(scope="module")
def tile():
    # 1024 columns: 5 bundles of 25 fibres; few rows keep it fast
    return simulate_tile((256, 1024), n_exposures=5, seed=3, progress=False)


def _library(gain=1.5, n=12, seed=0):
    """A small hand-made library: L-shaped and line stamps of known charge (ADU)."""
    rng = np.random.default_rng(seed)
    stamps, masks = [], []
    for _ in range(n):
        h, w = rng.integers(3, 9, 2)
        fp = np.zeros((h, w), bool)
        fp[h // 2, :] = True
        fp[:, 0] = True
        stamps.append(np.where(fp, rng.uniform(50, 2000, (h, w)), 0).astype(np.float32))
        masks.append(fp)
    sources = Table({"exptime": [300.0], "gain": [gain], "ny": np.array([4096], np.int32),
                     "nx": np.array([4096], np.int32), "threshold": [400.0], "seed": [250.0],
                     "grow_sigma": [3.0], "margin": np.array([2], np.int32)})
    return CosmicLibrary(stamps, masks, sources=sources)


def _column_peaks(tile):
    """Trace centres found in a row-summed profile of the noiseless model."""
    quiet = ~tile.line_rows(halfwidth=10)
    profile = tile.model[quiet].sum(axis=0)
    peaks, _ = signal.find_peaks(profile, height=0.2 * np.median(profile[profile > 0]))
    return peaks


def test_traces_and_bundles(tile):
    assert tile.n_fibres == 125
    assert list(np.unique(tile.fibres["bundle"])) == [0, 1, 2, 3, 4]
    centres = np.sort(tile.trace_x.mean(axis=1))
    # the rendered light peaks on the traces (a faint trace beside a bright one may blend in)
    peaks = _column_peaks(tile)
    near = np.min(np.abs(centres[:, None] - peaks[None, :]), axis=1) <= 1.0
    assert near.mean() >= 0.95 and len(peaks) <= 125
    gaps = np.diff(centres)
    # 4 gaps between bundles of 22-23 px, 120 pitches of 7-8 px within bundles
    assert np.sum(gaps > 15) == 4
    assert np.all((gaps[gaps <= 15] >= 7) & (gaps[gaps <= 15] <= 8))
    assert np.all((gaps[gaps > 15] >= 21) & (gaps[gaps > 15] <= 24))
    # traces are tilted/curved by a few pixels but stay inside the frame
    drift = tile.trace_x.max(axis=1) - tile.trace_x.min(axis=1)
    assert 0.05 < drift.max() < 5
    assert 1.45 <= tile.psf_sigma.min() and tile.psf_sigma.max() <= 1.6


def test_full_width_has_500_fibres():
    camera = SpectroCamera((4096, 4096))
    assert camera.n_fibres == 500 and camera.n_bundles == 20
    x = camera.fibre_positions()
    assert 0 < x.min() and x.max() < 4095


def test_sky_lines_cross_all_fibres(tile):
    bright = tile.lines[tile.lines["kind"] == "sky"]
    bright = bright[np.argmax(bright["flux"])]
    r = int(np.floor(bright["row"] + 0.5))
    assert 8 <= r < tile.shape[0] - 8
    cols = np.round(tile.trace_x[:, r]).astype(int)
    on = tile.model[r, cols]
    off = 0.5 * (tile.model[r - 6, cols] + tile.model[r + 6, cols])
    line = bright["flux"] * tile.fibres["throughput"]
    assert np.all(on - off > 0.03 * line)   # every fibre shows the line (peak ~ 0.06 x flux)
    # and it is sharp along the columns: 3 rows away little of it is left
    plain = tile.fibres["kind"] != "star"    # (star continua have absorption features)
    assert np.all((tile.model[r + 3, cols] - off < 0.2 * (on - off))[plain])


def test_fibre_kinds_and_continua(tile):
    kinds = set(tile.fibres["kind"])
    assert kinds <= {"sky", "galaxy", "star"} and "galaxy" in kinds
    sky = tile.fibres["kind"] == "sky"
    assert np.all(tile.fibres["continuum"][sky] == 0)
    if np.any(tile.fibres["kind"] == "star"):
        stars = tile.fibres["continuum"][tile.fibres["kind"] == "star"]
        assert stars.min() > np.median(tile.fibres["continuum"][~sky])


def test_ivar_matches_noise():
    one = simulate_tile((128, 512), n_exposures=1, seed=5, progress=False)
    pull = (one.clean - one.model) * np.sqrt(one.exposure_ivar)
    assert abs(np.std(pull) - 1) < 0.03 and abs(np.mean(pull)) < 0.03
    np.testing.assert_array_equal(one.ivar, one.exposure_ivar)
    five = simulate_tile((128, 512), n_exposures=5, seed=5, progress=False)
    pull = (five.clean - five.model) * np.sqrt(five.ivar)
    assert abs(np.std(pull) - 1) < 0.05
    assert five.noise_sigma == pytest.approx(np.sqrt(1 / np.median(five.exposure_ivar)))
    assert 3.0 < five.noise_sigma < 6.0  # read noise 3 e- plus a little sky


def test_median_variance_factor():
    assert median_variance_factor(1) == 1.0
    assert median_variance_factor(5) == pytest.approx(0.287, abs=0.004)
    assert median_variance_factor(3) == pytest.approx(0.4487, abs=0.004)
    assert median_variance_factor(2) == 0.5


def test_psf_gradients_analytic():
    s = 1.0
    g = psf_gradients(s, s, wing_fraction=0.0, wing_scale=2.0)
    a = special.erf(0.5 / (np.sqrt(2) * s))
    row = (special.erf(1.5 / (np.sqrt(2) * s)) - a) / (2 * a)
    np.testing.assert_allclose(g, [row, row, row**2, row**2], rtol=1e-12)
    wider = psf_gradients(1.2, 1.2, 0.1, 2.5)
    assert np.all(wider > g) and np.all(wider < 1)
    tile_g = SpectroCamera((256, 256)).psf_gradients()
    assert np.all((tile_g > 0.3) & (tile_g < 0.9)) and tile_g[2] < tile_g[0]
    # the default PSF is as broad as DESI's r-band one (DESI_PSF_GRADIENTS, within ~0.06)
    from cosmicbook.deepcr.baselines import DESI_PSF_GRADIENTS

    np.testing.assert_allclose(tile_g, DESI_PSF_GRADIENTS["r"], atol=0.06)


def test_inject_matches_library_inject():
    lib = _library()
    image = np.random.default_rng(0).normal(0, 3, (200, 300)).astype(np.float32)
    out = inject_cosmics(lib, image, n=25, seed=9, gain=1.5)
    ref_image, ref_mask = lib.inject(image, n=25, seed=9, gain=1.5)
    np.testing.assert_array_equal(out.image, ref_image)
    np.testing.assert_array_equal(out.mask, ref_mask)
    np.testing.assert_array_equal(out.labels > 0, out.mask)
    np.testing.assert_allclose(out.signal, out.image - image, atol=1e-3)
    t = out.table
    assert len(t) == 25 and list(t["id"]) == list(range(1, 26))
    inside = t["npix"] == np.array([lib.masks[i].sum() for i in t["index"]])
    for row in t[inside]:
        stamp = lib.stamps[row["index"]]
        assert row["peak"] == pytest.approx(1.5 * stamp.max(), rel=1e-6)
        assert row["total"] == pytest.approx(1.5 * stamp.sum(), rel=1e-5)
        assert out.signal[row["y"], row["x"]] >= row["peak"] - 1e-3


def test_cosmic_count_is_poisson(tile):
    lib = _library()
    exptime = 1000.0
    counts = np.array([len(make_training_frame(tile, lib, exptime=exptime, seed=s).cosmics)
                       for s in range(60)])
    expected = DESI_RATE * exptime * tile.shape[0] * tile.shape[1] / 4096**2
    assert expected == pytest.approx(21.875)
    assert abs(counts.mean() - expected) < 4 * np.sqrt(expected / counts.size)
    assert 0.5 < counts.var(ddof=1) / counts.mean() < 1.6
    assert len(make_training_frame(tile, lib, exptime=0.0, seed=1).cosmics) == 0


def test_training_frame(tile):
    lib = _library()
    frame = make_training_frame(tile, lib, exptime=900.0, seed=4)
    image, mask, ivar = frame
    assert image.dtype == np.float32 and mask.dtype == bool and ivar.dtype == np.float32
    assert frame.gain == 1.5 and frame.noise_sigma == pytest.approx(tile.noise_sigma)
    clean_px = ~mask & (frame.signal == 0)
    added = (image - tile.clean)[clean_px]
    assert np.std(added) == pytest.approx(tile.noise_sigma, rel=0.03)
    pull = ((image - tile.model) * np.sqrt(ivar))[clean_px]
    assert abs(np.std(pull) - 1) < 0.05
    # cosmic pixels: ivar includes their shot noise, and the charge is in e- (gain 1.5)
    hit = frame.signal > 100
    assert np.all(ivar[hit] < 1 / frame.signal[hit] + 1e-6)
    assert frame.signal.sum() == pytest.approx(np.sum(frame.cosmics["total"]), rel=1e-4)
    assert np.all(mask[frame.signal > 0])
    assert frame.cosmics["peak"].unit == "electron"
    again = make_training_frame(tile, lib, exptime=900.0, seed=4)
    np.testing.assert_array_equal(again.image, image)
    other = make_training_frame(tile, lib, exptime=900.0, seed=5)
    assert not np.array_equal(other.image, image)


def test_simulation_is_deterministic():
    a = simulate_tile((128, 256), n_exposures=3, seed=8, progress=False)
    b = simulate_tile((128, 256), n_exposures=3, seed=8, progress=False)
    np.testing.assert_array_equal(a.clean, b.clean)
    assert isinstance(a, SpectroTile) and "128x256" in repr(a)


def test_arc_lines_optional():
    arc = simulate_tile((256, 256), n_exposures=1, seed=2, n_arc_lines=40, progress=False)
    assert np.sum(arc.lines["kind"] == "arc") > 0
    plain = simulate_tile((256, 256), n_exposures=1, seed=2, progress=False)
    assert np.sum(plain.lines["kind"] == "arc") == 0


def test_default_library():
    lib = default_library((512, 512), n_darks=3, seed=1, progress=False)
    assert len(lib) > 5 and lib.gain == 1.5
    np.testing.assert_array_equal(lib.exptimes, [300.0] * 3)
    assert all(s.max() >= 400 for s in lib.stamps)   # chapter-1 threshold, ADU


def test_bad_inputs(tile):
    lib = _library()
    with pytest.raises(ValueError, match="shape"):
        simulate_tile((32, 512))
    with pytest.raises(ValueError, match="band"):
        SpectroCamera((256, 256), band="u")
    with pytest.raises(ValueError, match="do not fit"):
        SpectroCamera((256, 256), n_bundles=3)
    with pytest.raises(ValueError, match="exptime"):
        simulate_tile((128, 256), exptime=-1)
    with pytest.raises(ValueError, match="n_exposures"):
        simulate_tile((128, 256), n_exposures=0)
    with pytest.raises(ValueError, match="gain"):
        make_training_frame(tile, _library(gain=np.nan), seed=1)
    with pytest.raises(ValueError, match="SpectroTile"):
        make_training_frame(np.zeros((64, 64)), lib)
    with pytest.raises(ValueError, match="n_darks"):
        default_library((256, 256), n_darks=2)
    with pytest.raises(ValueError, match="either n"):
        inject_cosmics(lib, np.zeros((64, 64)), n=3, exptime=10.0)
    with pytest.raises(FileNotFoundError):
        default_library(path="/nonexistent/library.fits")
