"""Tests of cosmicbook.darks.library: building, FITS round trip, injection."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from cosmicbook.darks import CosmicLibrary, DarkCamera, estimate_background, extract_cosmics


@pytest.fixture(scope="module")
def camera():
    return DarkCamera(shape=(512, 512), detector_seed=2)


@pytest.fixture(scope="module")
def extraction(camera):
    dark = camera.expose(1200.0, seed=1)
    labels, table = extract_cosmics(dark, mask=dark.hot_mask)
    return dark, labels, table


@pytest.fixture(scope="module")
def library(extraction):
    dark, labels, table = extraction
    return CosmicLibrary.from_extraction(dark, labels, table)


def test_from_extraction(extraction, library):
    dark, labels, table = extraction
    assert len(library) == len(table) > 20
    background, _ = estimate_background(dark)
    for k in range(len(library)):
        stamp, mask = library[k]
        row = library.table[k]
        assert stamp.dtype == np.float32 and mask.dtype == bool and stamp.shape == mask.shape
        y0, x0 = int(row["y0"]), int(row["x0"])
        sl = (slice(y0, y0 + stamp.shape[0]), slice(x0, x0 + stamp.shape[1]))
        np.testing.assert_array_equal(mask, labels[sl] == row["label"])
        assert mask.sum() == row["npix"]
        np.testing.assert_allclose(stamp[mask], (dark.data - background)[sl][mask], rtol=1e-6)
        assert np.all(stamp[~mask] == 0)
        inner = (row["x_min"] - 2 >= 0 and row["y_min"] - 2 >= 0
                 and row["x_max"] + 2 < 512 and row["y_max"] + 2 < 512)
        if inner:  # bounding box plus the 2-pixel margin
            assert stamp.shape == (row["y_max"] - row["y_min"] + 5, row["x_max"] - row["x_min"] + 5)
    assert library[-1][0] is library.stamps[-1]
    assert library.gain == 1.5
    np.testing.assert_array_equal(library.exptimes, [1200.0])
    src = library.sources[0]
    assert (src["ny"], src["nx"], src["threshold"], src["seed"], src["grow_sigma"]) == \
        (512, 512, 400.0, 250.0, 3.0)
    expected_rate = len(library) / (1200.0 * 512 * 512 / 4096**2)
    assert library.rate == pytest.approx(expected_rate)
    assert "cosmics" in repr(library)


def test_margin_and_background(extraction):
    dark, labels, table = extraction
    lib0 = CosmicLibrary.from_extraction(dark.data, labels, table, background=0.0, margin=0,
                                         exptime=1200.0, gain=1.5)
    for k in range(len(lib0)):
        stamp, mask = lib0[k]
        row = table[k]
        assert stamp.shape == (row["y_max"] - row["y_min"] + 1, row["x_max"] - row["x_min"] + 1)
        sl = (slice(int(row["y_min"]), int(row["y_max"]) + 1),
              slice(int(row["x_min"]), int(row["x_max"]) + 1))
        np.testing.assert_array_equal(stamp[mask], dark.data[sl][mask])
    assert lib0.sources["margin"][0] == 0 and lib0.gain == 1.5
    plain = CosmicLibrary.from_extraction(dark.data, labels, table, mask=dark.hot_mask)
    assert plain.gain is None and np.isnan(plain.rate)
    background, _ = estimate_background(dark.data, mask=dark.hot_mask)
    stamp, mask = plain[0]
    row = plain.table[0]
    sl = (slice(int(row["y0"]), int(row["y0"]) + stamp.shape[0]),
          slice(int(row["x0"]), int(row["x0"]) + stamp.shape[1]))
    np.testing.assert_array_equal(stamp[mask], (dark.data - background)[sl][mask])


def test_from_extraction_rejects_mismatches(extraction):
    dark, labels, table = extraction
    with pytest.raises(ValueError, match="shape"):
        CosmicLibrary.from_extraction(dark, labels[:10], table)
    with pytest.raises(ValueError, match="columns"):
        CosmicLibrary.from_extraction(dark, labels, Table({"label": [1]}))
    with pytest.raises(ValueError, match="margin"):
        CosmicLibrary.from_extraction(dark, labels, table, margin=-1)


def test_fits_roundtrip_is_exact(tmp_path, camera, library):
    dark = camera.expose(300.0, seed=5)
    other = CosmicLibrary.from_extraction(dark, *extract_cosmics(dark, mask=dark.hot_mask))
    both = CosmicLibrary.concatenate([library, other])
    both.meta.update({"ORIGIN": "test", "THIRD": 1.0 / 3.0})
    path = both.write(tmp_path / "library.fits")
    back = CosmicLibrary.read(path)
    assert len(back) == len(both) == len(library) + len(other)
    for (s1, m1), (s2, m2) in zip(both, back, strict=True):
        assert s2.dtype == np.float32 and m2.dtype == bool
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(m1, m2)
    assert back.table.colnames == both.table.colnames
    for name in both.table.colnames:
        np.testing.assert_array_equal(back.table[name], both.table[name])
        assert back.table[name].dtype == both.table[name].dtype
        assert back.table[name].unit == both.table[name].unit
    for name in both.sources.colnames:
        np.testing.assert_array_equal(back.sources[name], both.sources[name])
    assert back.meta == both.meta and back.meta["THIRD"] == 1.0 / 3.0
    assert back.rate == both.rate
    # the file layout: flat pixel and mask arrays plus the tables
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "PIXELS", "MASKS", "STAMPS", "SOURCES"]
        assert hdul["PIXELS"].data.ndim == 1
        assert hdul["PIXELS"].data.size == sum(s.size for s in both.stamps)


def test_concatenate(library):
    both = CosmicLibrary.concatenate([library, library])
    assert len(both) == 2 * len(library) and len(both.sources) == 2
    np.testing.assert_array_equal(np.unique(both.table["source"]), [0, 1])
    assert both.rate == pytest.approx(library.rate)
    with pytest.raises(ValueError):
        CosmicLibrary.concatenate([])
    with pytest.raises(ValueError):
        CosmicLibrary.concatenate([library, "not a library"])


def test_write_and_read_errors(tmp_path, library):
    path = library.write(tmp_path / "lib.fits")
    with pytest.raises(OSError):
        library.write(path)  # no overwrite by default
    library.write(path, overwrite=True)
    with pytest.raises(FileNotFoundError):
        CosmicLibrary.read(tmp_path / "missing.fits")
    plain = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(plain)
    with pytest.raises(ValueError, match="PIXELS"):
        CosmicLibrary.read(plain)
    text = tmp_path / "notfits.fits"
    text.write_text("hello")
    with pytest.raises(ValueError):
        CosmicLibrary.read(text)


def test_empty_library_roundtrip(tmp_path):
    empty = CosmicLibrary([], [])
    back = CosmicLibrary.read(empty.write(tmp_path / "empty.fits"))
    assert len(back) == 0 and np.isnan(back.rate)


def test_indexing(library):
    with pytest.raises(IndexError):
        library[len(library)]
    with pytest.raises(TypeError):
        library[0:2]
    sub = library.subset([0, 2])
    assert len(sub) == 2 and sub[1][0] is library[2][0]
    assert len(library.subset(np.asarray(library.table["npix"]) > 10)) > 0


def test_constructor_validation():
    with pytest.raises(ValueError, match="masks"):
        CosmicLibrary([np.zeros((2, 2))], [])
    with pytest.raises(ValueError, match="same shape"):
        CosmicLibrary([np.zeros((2, 2))], [np.zeros((2, 3), bool)])


def test_inject(library):
    image = np.random.default_rng(0).normal(0, 3, (256, 300)).astype(np.float32)
    before = image.copy()
    out, mask = library.inject(image, n=20, seed=3)
    np.testing.assert_array_equal(image, before)  # input untouched
    assert out.shape == image.shape and out.dtype == np.float32 and mask.dtype == bool
    assert mask.sum() > 100
    np.testing.assert_array_equal(out[~mask], image[~mask])  # charge only in footprints
    assert np.all(out[mask] > image[mask])
    again, mask2 = library.inject(image, n=20, seed=3)
    np.testing.assert_array_equal(out, again)
    np.testing.assert_array_equal(mask, mask2)
    # gain converts ADU to electrons
    e_out, e_mask = library.inject(image, n=20, seed=3, gain=1.5)
    np.testing.assert_array_equal(e_mask, mask)
    np.testing.assert_allclose(e_out - image, 1.5 * (out - image), rtol=1e-5, atol=1e-3)
    # no rotation: a single cosmic lands as stored
    one = library.subset([0])
    flat, m1 = one.inject(np.zeros((200, 200), np.float32), n=1, seed=1, rotate=False)
    stamp, fp = one[0]
    ys, xs = np.nonzero(m1)
    assert m1.sum() == fp.sum() and flat.sum() == pytest.approx(stamp.sum(), rel=1e-5)
    np.testing.assert_array_equal(m1[ys.min():ys.max() + 1, xs.min():xs.max() + 1],
                                  fp[np.ix_(fp.any(1), fp.any(0))])


def test_inject_edges_and_rates(library):
    tiny, mask = library.inject(np.zeros((5, 5)), n=50, seed=0)
    assert tiny.shape == (5, 5) and tiny.dtype == np.float64 and mask.any()
    same, mask = library.inject(np.zeros((64, 64)), exptime=0.0, seed=0)
    assert not mask.any() and not same.any()
    _, mask = library.inject(np.zeros((512, 512)), exptime=1000.0, seed=0)
    assert mask.any()  # ~ library.rate x 1000 s x 1/64 ~ 20 cosmics
    _, mask = library.inject(np.zeros((512, 512)), exptime=1000.0, rate=0.0, seed=0)
    assert not mask.any()


@pytest.mark.parametrize("kwargs, match", [
    ({}, "n"),
    ({"n": 3, "exptime": 10.0}, "not both"),
    ({"n": -1}, "non-negative"),
    ({"exptime": -1.0}, "exptime"),
    ({"n": 1, "gain": 0.0}, "gain"),
])
def test_inject_rejects_bad_arguments(library, kwargs, match):
    with pytest.raises(ValueError, match=match):
        library.inject(np.zeros((32, 32)), **kwargs)


def test_inject_needs_a_2d_image_and_cosmics(library):
    with pytest.raises(ValueError, match="2-D"):
        library.inject(np.zeros(32), n=1)
    with pytest.raises(ValueError, match="empty"):
        CosmicLibrary([], []).inject(np.zeros((8, 8)), n=1)
    with pytest.raises(ValueError, match="rate"):
        CosmicLibrary([], []).inject(np.zeros((8, 8)), exptime=10.0)


def test_library_plot_shows_footprints():
    import matplotlib.pyplot as plt

    from cosmicbook.darks import CosmicLibrary

    stamps = [np.full((3, 4), float(i + 1)) for i in range(5)]
    masks = [np.ones((3, 4), bool) for _ in range(5)]
    lib = CosmicLibrary(stamps, masks)
    fig = lib.plot(n=12, ncols=3)
    assert len([ax for ax in fig.axes if ax.images]) == 5
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        CosmicLibrary([], []).plot()
