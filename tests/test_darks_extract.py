"""Tests of cosmicbook.darks.extract and cosmicbook.darks.evaluate."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from cosmicbook.core.io import write_image
from cosmicbook.darks import (
    PROFILES,
    DarkCamera,
    combine_scores,
    estimate_background,
    evaluate_extraction,
    extract_cosmics,
    extract_threshold,
    fit_rate,
    hot_pixel_mask,
    read_dark,
)
from cosmicbook.darks.extract import TABLE_COLUMNS

# hand-made images: background 0, noise sigma 1, so the growth level is 3
KNOWN = {"background": 0.0, "noise_sigma": 1.0}


def _blob(image, y, x, peak, halo=5.0):
    """A 3x3 blob: ``peak`` in the centre, ``halo`` around, and 2 (below 3 sigma) outside."""
    image[y - 2:y + 3, x - 2:x + 3] = 2.0
    image[y - 1:y + 2, x - 1:x + 2] = halo
    image[y, x] = peak


@pytest.fixture
def two_blobs():
    image = np.zeros((40, 60), dtype=np.float32)
    _blob(image, 10, 10, 1000.0)
    _blob(image, 30, 45, 500.0)
    _blob(image, 10, 45, 300.0)  # seed only: above 250, never reaches 400
    return image


def test_two_blobs_and_a_seed_only_region(two_blobs):
    before = two_blobs.copy()
    labels, table = extract_cosmics(two_blobs, **KNOWN)
    np.testing.assert_array_equal(two_blobs, before)  # input untouched
    assert labels.dtype == np.int32 and labels.shape == two_blobs.shape
    assert labels.max() == 2 and len(table) == 2
    assert table.colnames == list(TABLE_COLUMNS)
    np.testing.assert_array_equal(table["label"], [1, 2])
    # raster order: the blob at row 10 comes first; footprints are the 3x3 cores
    assert labels[10, 10] == 1 and labels[30, 45] == 2 and labels[10, 45] == 0
    assert np.count_nonzero(labels == 1) == 9 and np.count_nonzero(labels == 2) == 9
    np.testing.assert_array_equal(table["npix"], [9, 9])
    np.testing.assert_array_equal(table["nseed"], [1, 1])
    np.testing.assert_allclose(table["sum"], [1040.0, 540.0])
    np.testing.assert_allclose(table["peak"], [1000.0, 500.0])
    np.testing.assert_array_equal(table["x_peak"], [10, 45])
    np.testing.assert_array_equal(table["y_peak"], [10, 30])
    np.testing.assert_allclose(table["x_centroid"], [10.0, 45.0])
    np.testing.assert_allclose(table["y_centroid"], [10.0, 30.0])
    np.testing.assert_array_equal(table["x_min"], [9, 44])
    np.testing.assert_array_equal(table["y_max"], [11, 31])
    assert str(table["x_centroid"].unit) == "pix" and str(table["angle"].unit) == "deg"
    assert table.meta["THRESH"] == 400.0 and table.meta["SEED"] == 250.0


def test_threshold_and_seed_levels(two_blobs):
    labels, table = extract_cosmics(two_blobs, threshold=300.0, **KNOWN)
    assert len(table) == 3  # the 300 region now reaches the threshold
    labels, table = extract_cosmics(two_blobs, threshold=600.0, seed=250.0, **KNOWN)
    assert len(table) == 1 and labels[10, 10] == 1


def test_track_dipping_below_seed_stays_one_footprint():
    image = np.zeros((20, 60), dtype=np.float32)
    image[10, 5:20] = 800.0
    image[10, 20:35] = 100.0  # below the seed, above 3 sigma
    image[10, 35:50] = 800.0
    labels, table = extract_cosmics(image, **KNOWN)
    assert len(table) == 1 and table["npix"][0] == 45
    assert table["nseed"][0] == 30
    # a thin horizontal line: length = n pixels, width 1, angle 0
    assert table["length"][0] == pytest.approx(np.sqrt(12 * np.cov(
        np.arange(5, 50), aweights=image[10, 5:50], bias=True) + 1))
    assert table["width"][0] == pytest.approx(1.0)
    assert table["angle"][0] == pytest.approx(0.0)
    # below 3 sigma in the middle: two cosmics
    image[10, 27] = 2.0
    labels, table = extract_cosmics(image, **KNOWN)
    assert len(table) == 2 and labels[10, 27] == 0


def test_growth_reaches_seed_only_regions_connected_by_3_sigma():
    image = np.zeros((20, 40), dtype=np.float32)
    image[10, 5:10] = 900.0
    image[10, 10:20] = 10.0
    image[10, 20:25] = 300.0  # a seed region below threshold, joined through the bridge
    labels, table = extract_cosmics(image, **KNOWN)
    assert len(table) == 1 and table["npix"][0] == 20 and table["nseed"][0] == 10


@pytest.mark.parametrize("n, angle", [(10, 0.0), (12, 90.0), (9, 45.0), (9, -45.0)])
def test_line_geometry(n, angle):
    image = np.zeros((40, 40), dtype=np.float32)
    k = np.arange(n)
    if angle == 0.0:
        image[20, 10 + k] = 500.0
    elif angle == 90.0:
        image[10 + k, 20] = 500.0
    elif angle == 45.0:
        image[10 + k, 10 + k] = 500.0
    else:
        image[30 - k, 10 + k] = 500.0
    labels, table = extract_cosmics(image, **KNOWN)
    assert len(table) == 1
    expected = n if angle in (0.0, 90.0) else np.sqrt(2 * n**2 - 1)
    assert table["length"][0] == pytest.approx(expected)
    assert table["angle"][0] == pytest.approx(angle)


def test_mask_excludes_pixels():
    image = np.zeros((20, 60), dtype=np.float32)
    image[10, 5:50] = 800.0
    image[5, 55] = 5000.0  # a hot pixel
    mask = np.zeros(image.shape, dtype=bool)
    mask[:, 27] = True  # a hot column cuts the track
    mask[5, 55] = True
    labels, table = extract_cosmics(image, mask=mask, **KNOWN)
    assert len(table) == 2
    assert not labels[mask].any()
    np.testing.assert_array_equal(table["npix"], [22, 22])
    labels, table = extract_cosmics(image, **KNOWN)
    assert len(table) == 2 and labels[5, 55] > 0  # without the mask: one track, one hot pixel


def test_connectivity():
    image = np.zeros((20, 20), dtype=np.float32)
    image[5, 5] = image[6, 6] = 500.0
    assert len(extract_cosmics(image, **KNOWN)[1]) == 1
    assert len(extract_cosmics(image, connectivity=4, **KNOWN)[1]) == 2


def test_noise_map_and_background_map():
    image = np.zeros((20, 40), dtype=np.float32) + 100.0
    image[10, 5:10] = 900.0
    image[10, 10:15] = 110.0  # 10 above background: 3 sigma of noise 3 but not of 4
    for sigma, npix in ((3.0, 10), (4.0, 5)):
        noise = np.full(image.shape, sigma, dtype=np.float32)
        _, table = extract_cosmics(image, background=np.full(image.shape, 100.0),
                                   noise_sigma=noise)
        assert table["npix"][0] == npix
        assert table["sum"][0] == pytest.approx(800 * 5 + (10 * 5 if npix == 10 else 0))


def test_empty_result():
    rng = np.random.default_rng(0)
    image = rng.normal(0.0, 2.0, (128, 128)).astype(np.float32)
    labels, table = extract_cosmics(image)
    assert not labels.any() and len(table) == 0
    assert table.colnames == list(TABLE_COLUMNS)


def test_integer_and_float64_input():
    image = np.zeros((30, 30), dtype=np.uint16)
    image[15, 15] = 1000
    labels, table = extract_cosmics(image, **KNOWN)
    assert len(table) == 1
    labels64, _ = extract_cosmics(image.astype(np.float64), **KNOWN)
    np.testing.assert_array_equal(labels, labels64)


@pytest.mark.parametrize("kwargs, match", [
    ({"dark": np.zeros(10)}, "2-D"),
    ({"dark": np.zeros((2, 10, 10))}, "2-D"),
    ({"dark": "image.fits"}, "2-D"),
    ({"threshold": 200.0}, "threshold"),
    ({"grow_sigma": 0.0}, "grow_sigma"),
    ({"grow_sigma": -3.0}, "grow_sigma"),
    ({"noise_sigma": 0.0}, "noise_sigma"),
    ({"noise_sigma": -1.0}, "noise_sigma"),
    ({"noise_sigma": np.zeros((32, 32))}, "noise_sigma"),
    ({"noise_sigma": np.ones((16, 32))}, "noise_sigma"),
    ({"background": np.ones((32, 16))}, "background"),
    ({"mask": np.zeros((31, 32), bool)}, "mask"),
    ({"connectivity": 6}, "connectivity"),
])
def test_bad_input_raises(kwargs, match):
    args = {"dark": np.zeros((32, 32), np.float32), **kwargs}
    dark = args.pop("dark")
    with pytest.raises(ValueError, match=match):
        extract_cosmics(dark, **args)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_raises(bad):
    image = np.zeros((32, 32), np.float32)
    image[3, 4] = bad
    with pytest.raises(ValueError, match="NaN/inf"):
        extract_cosmics(image)
    with pytest.raises(ValueError, match="NaN/inf"):
        estimate_background(image)


def test_estimate_background_handles_amplifiers_cosmics_and_hot_pixels():
    rng = np.random.default_rng(1)
    ny = nx = 512
    sig = np.array([[1.0, 2.0], [3.0, 1.5]])
    off = np.array([[0.5, -0.5], [0.2, 10.0]])
    image = rng.standard_normal((ny, nx))
    for i in range(2):
        for j in range(2):
            q = image[i * 256:(i + 1) * 256, j * 256:(j + 1) * 256]
            q *= sig[i, j]
            q += off[i, j]
    flat = image.ravel()
    flat[rng.choice(flat.size, 300, replace=False)] += rng.uniform(50, 5000, 300)
    bkg, sigma = estimate_background(image.astype(np.float32), block=128)
    assert bkg.shape == sigma.shape == (ny, nx) and bkg.dtype == np.float32
    for i in range(2):
        for j in range(2):
            q = (slice(i * 256, (i + 1) * 256), slice(j * 256, (j + 1) * 256))
            np.testing.assert_allclose(np.median(sigma[q]), sig[i, j], rtol=0.06)
            np.testing.assert_allclose(np.median(bkg[q]), off[i, j], atol=0.1 * sig[i, j])


def test_estimate_background_rejects_constant_image():
    with pytest.raises(ValueError, match="noise"):
        estimate_background(np.zeros((64, 64)))


def test_extract_threshold_baseline(two_blobs):
    image = two_blobs.copy()
    image[35, 5] = 8.0  # a lone 8-sigma pixel
    labels, table = extract_threshold(image, nsigma=7.0, **KNOWN)
    # every region above 7 sigma: the three blob cores (the 5-sigma halos stay out) + the pixel
    assert len(table) == 4 and labels.max() == 4
    np.testing.assert_array_equal(np.sort(table["npix"]), [1, 1, 1, 1])
    np.testing.assert_array_equal(table["nseed"], 0)
    labels, table = extract_threshold(image, nsigma=4.0, **KNOWN)
    np.testing.assert_array_equal(np.sort(table["npix"]), [1, 9, 9, 9])
    assert table.meta["NSIGMA"] == 4.0
    with pytest.raises(ValueError, match="nsigma"):
        extract_threshold(image, nsigma=0.0)


# ------------------------------------------------------------------ simulated darks
@pytest.fixture(scope="module")
def camera():
    return DarkCamera(shape=(2048, 2048), detector_seed=3)


@pytest.fixture(scope="module")
def long_dark(camera):
    """A 2048^2, 20-minute dark: a few hundred cosmics."""
    return camera.expose(1200.0, seed=2)


def test_acceptance_on_simulated_dark(long_dark):
    labels, table = extract_cosmics(long_dark, mask=long_dark.hot_mask)
    score = evaluate_extraction(labels, long_dark)  # strict: masked peaks count as missed
    assert score.n_bright > 300
    assert score.completeness_bright >= 0.99
    assert score.coverage >= 0.95 and score.coverage_bright >= 0.95
    assert score.purity >= 0.90
    assert score.n_false == 0
    assert score.n_footprints == len(table)
    assert score.completeness_dim < 0.5  # dim cosmics are (mostly) not found
    d = score.as_dict()
    assert "per_cosmic" not in d and d["completeness_bright"] == score.completeness_bright
    pc = score.per_cosmic
    assert len(pc) == score.n_true and {"found", "coverage", "bright"} <= set(pc.colnames)
    assert int(np.sum(pc["found"] & pc["bright"])) == score.n_found_bright
    assert "bright completeness" in str(score)


def test_combine_scores(camera, long_dark):
    other = camera.expose(300.0, seed=3)
    scores = [evaluate_extraction(extract_cosmics(d, mask=d.hot_mask)[0], d)
              for d in (long_dark, other)]
    pooled = combine_scores(scores)
    assert pooled.n_true == scores[0].n_true + scores[1].n_true
    assert pooled.n_found == pooled.n_found_bright + pooled.n_found_dim
    assert pooled.n_sig_pixels == sum(sc.n_sig_pixels for sc in scores)
    lo, hi = sorted(sc.purity for sc in scores)
    assert lo <= pooled.purity <= hi
    assert pooled.coverage == pytest.approx(
        sum(sc.n_sig_covered for sc in scores) / sum(sc.n_sig_pixels for sc in scores))
    assert len(pooled.per_cosmic) == pooled.n_true
    np.testing.assert_array_equal(np.unique(pooled.per_cosmic["frame"]), [0, 1])
    single = combine_scores(scores[:1])
    assert single.as_dict() == scores[0].as_dict()
    with pytest.raises(ValueError):
        combine_scores([])
    with pytest.raises(ValueError, match="threshold"):
        combine_scores([scores[0], evaluate_extraction(np.zeros(other.shape, np.int32), other,
                                                       threshold=300.0)])


def test_baseline_misses_the_wings(long_dark):
    labels, _ = extract_threshold(long_dark, nsigma=7.0, mask=long_dark.hot_mask)
    baseline = evaluate_extraction(labels, long_dark)
    labels, _ = extract_cosmics(long_dark, mask=long_dark.hot_mask)
    method = evaluate_extraction(labels, long_dark)
    assert baseline.coverage_bright < method.coverage_bright
    assert baseline.completeness_dim > method.completeness_dim


def test_profiles_resolve():
    from cosmicbook.core.config import resolve_profile

    for name in ("ci", "book", "full"):
        cfg = resolve_profile(PROFILES, name)
        assert len(cfg.exptimes) >= 3 and len(set(cfg.exptimes)) >= 2
        assert cfg.frame_size in (512, 1024, 2048, 4096)
        assert cfg.exptimes.count(300.0) >= 1, "the library is built from 300 s darks"


def test_hot_pixels_without_mask_are_false_detections(long_dark):
    labels, _ = extract_cosmics(long_dark)
    score = evaluate_extraction(labels, long_dark)
    assert score.n_false > 0 and score.completeness_bright >= 0.99


def test_learned_hot_pixel_mask():
    cam = DarkCamera(shape=(512, 512), detector_seed=5, hot_fraction=2e-3)
    darks = cam.expose_many([600.0] * 5, seed=3, progress=False)
    learned = hot_pixel_mask(darks, nsigma=5.0, progress=False)
    truth = cam.hot_mask
    assert learned.shape == truth.shape and learned.dtype == bool
    # defects clearly above the noise of the median are all found, with few false flags
    signal = np.zeros(truth.shape)
    signal.ravel()[cam.hot_index] = cam.hot_current * 600.0 / cam.gain
    for x, y0, y1, cur in cam.hot_columns:
        signal[y0:y1, x] += cur * 600.0 / cam.gain
    noise = np.sqrt(darks[0].noise_map().astype(float) ** 2 / 5 * np.pi / 2)
    strong = signal > 10 * noise
    assert strong.sum() > 100
    assert learned[strong].mean() > 0.99
    assert np.count_nonzero(learned & ~truth) <= 5
    dilated = hot_pixel_mask(darks, nsigma=5.0, dilate=1, progress=False)
    assert dilated.sum() > learned.sum() and np.all(dilated[learned])
    # the learned mask is as good as the truth for the extraction
    labels, _ = extract_cosmics(darks[0], mask=learned)
    score = evaluate_extraction(labels, darks[0], mask=learned)
    assert score.n_false <= 1 and score.completeness_bright == 1.0
    # with 20x the usual hot pixels, one cosmic peaks on a hot pixel: it cannot be found
    assert score.n_peak_masked == 1 and score.n_found_bright == score.n_bright - 1
    strict = evaluate_extraction(labels, darks[0])
    assert strict.n_peak_masked == 0 and strict.completeness_bright < 1.0


def test_hot_pixel_mask_rejects_bad_stacks():
    frames = [np.random.default_rng(i).normal(size=(64, 64)) for i in range(3)]
    with pytest.raises(ValueError, match="at least 3"):
        hot_pixel_mask(frames[:2])
    with pytest.raises(ValueError, match="shape"):
        hot_pixel_mask(frames[:2] + [np.zeros((32, 64))])
    with pytest.raises(ValueError, match="nsigma"):
        hot_pixel_mask(frames, nsigma=0)


def test_evaluate_rejects_wrong_shape(long_dark):
    with pytest.raises(ValueError, match="labels"):
        evaluate_extraction(np.zeros((10, 10), np.int32), long_dark)
    with pytest.raises(ValueError, match="mask"):
        evaluate_extraction(np.zeros(long_dark.shape, np.int32), long_dark,
                            mask=np.zeros((10, 10), bool))


# ------------------------------------------------------------------ rate fit
def test_fit_rate_recovers_injected_rate():
    rng = np.random.default_rng(42)
    exptimes = np.repeat([60.0, 120.0, 300.0, 600.0, 900.0, 1200.0], 5)
    true_rate, true_offset = 1.4, 3.0
    counts = rng.poisson(true_rate * exptimes + true_offset)
    fit = fit_rate(exptimes, counts)
    assert abs(fit.rate - true_rate) < 3 * fit.rate_err
    assert abs(fit.offset - true_offset) < 3 * fit.offset_err
    assert fit.dof == exptimes.size - 2 and 0.3 < fit.chi2_dof < 2.5
    assert fit.rate_per_4k_frame == fit.rate
    small = fit_rate(exptimes, counts, frame_shape=(2048, 2048))
    assert small.rate_per_4k_frame == pytest.approx(4 * fit.rate)
    assert small.rate_err_per_4k_frame == pytest.approx(4 * fit.rate_err)
    assert fit(0.0) == pytest.approx(fit.offset)
    assert set(fit.as_dict()) >= {"rate", "rate_err", "offset", "chi2", "rate_per_4k_frame"}


def test_fit_rate_on_extracted_simulated_darks():
    cam = DarkCamera(shape=(1024, 1024), detector_seed=4)
    exptimes = np.array([300.0, 600.0, 900.0, 1200.0, 1800.0, 2400.0, 3000.0, 3600.0])
    darks = cam.expose_many(exptimes, seed=8, progress=False)
    found = [len(extract_cosmics(d, mask=d.hot_mask)[1]) for d in darks]
    fit = fit_rate(exptimes, found, frame_shape=(1024, 1024))
    # ~1.4 bright cosmics per s per 4k frame, fewer where cosmics merge
    assert abs(fit.rate_per_4k_frame - 1.40) < 3 * fit.rate_err_per_4k_frame + 0.03
    assert abs(fit.offset) < 3 * fit.offset_err + 1


@pytest.mark.parametrize("t, c, match", [
    ([1, 2, 3], [1, 2], "same length"),
    ([100, 100, 100], [1, 2, 3], "distinct"),
    ([100, -200], [1, 2], "non-negative"),
    ([100, 200], [1, np.nan], "finite"),
])
def test_fit_rate_rejects_bad_input(t, c, match):
    with pytest.raises(ValueError, match=match):
        fit_rate(t, c)


# ------------------------------------------------------------------ reading darks
def test_read_dark_primary_and_extension(tmp_path):
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    p1 = write_image(tmp_path / "primary.fits", image, header={"EXPTIME": 300.0})
    p2 = write_image(tmp_path / "ext.fits", image * 2, header={"EXPTIME": 60.0}, extname="DARK")
    data, header = read_dark(p1)
    np.testing.assert_array_equal(data, image)
    assert data.dtype == np.float32 and header["EXPTIME"] == 300.0
    data, header = read_dark(p2)
    np.testing.assert_array_equal(data, image * 2)
    data, header = read_dark(p2, hdu="DARK")
    np.testing.assert_array_equal(data, image * 2)
    assert header["EXPTIME"] == 60.0


def test_read_dark_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_dark(tmp_path / "missing.fits")
    table_only = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(Table({"a": [1, 2]}))]).writeto(
        table_only)
    with pytest.raises(ValueError, match="2-D image"):
        read_dark(table_only)
    p = write_image(tmp_path / "ok.fits", np.zeros((4, 4)))
    with pytest.raises(ValueError, match="no HDU"):
        read_dark(p, hdu="NOPE")


def test_compare_scores_table():
    from cosmicbook.darks import (
        SCORE_ROWS,
        compare_scores,
        evaluate_extraction,
        extract_cosmics,
        simulate_dark,
    )

    sim = simulate_dark(shape=(256, 256), exptime=1200.0, seed=3)
    labels, _ = extract_cosmics(sim.data, mask=sim.hot_mask)
    score = evaluate_extraction(labels, sim)
    table = compare_scores({"a": score, "b": score})
    assert table.colnames == ["quantity", "a", "b"]
    assert len(table) == len(SCORE_ROWS)
    row = list(SCORE_ROWS).index("n_true")
    assert table["a"][row] == str(score.n_true) == table["b"][row]
    assert table["a"][0] == f"{100 * score.completeness_bright:.2f}"
    with pytest.raises(ValueError):
        compare_scores({})
