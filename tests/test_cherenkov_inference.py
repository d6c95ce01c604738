"""clean / regress / localize on raw counts, arrays and gammapy Maps, with the shipped weights."""

import json

import numpy as np
import pytest
import torch

from cosmicbook import cherenkov as ck
from cosmicbook.cherenkov.inference import DEFAULT_WEIGHTS, WEIGHTS_DIR


@pytest.fixture(scope="module")
def maps():
    templates = ck.build_templates([(20.0, 1.0)])
    return ck.simulate_maps(8, templates, seed=21, flux=(0.3, 1.0), n_sources=1, margin=20)


def test_shipped_weights_are_small_and_documented():
    for kind, name in DEFAULT_WEIGHTS.items():
        path = WEIGHTS_DIR / name
        assert path.is_file() and path.stat().st_size < 2_000_000, path
        meta = json.loads(path.with_suffix(".json").read_text())
        assert meta["profile"] == "book" and "metrics" in meta and "history" in meta
        assert type(ck.load_model(kind)).__name__ == meta["class"]


def test_localize_bright_sources_with_shipped_weights(maps):
    table = ck.localize(maps.counts, threshold=0.3, pointing=maps.pointing)
    x, y = ck.per_map_positions(table, len(maps))
    err = ck.localisation_error(x, y, maps.x[:, 0], maps.y[:, 0])
    assert np.all(np.isfinite(err)), table
    assert np.median(err) < 0.02  # deg; bright sources, 0.3-1 Crab
    sky = maps.sky()
    from astropy.coordinates import SkyCoord

    first = table[np.unique(np.asarray(table["map"]), return_index=True)[1]]
    found = SkyCoord(first["ra"], first["dec"], unit="deg")
    sep = found.separation(sky[:, 0]).deg
    assert np.allclose(sep, err, atol=1e-3)


def test_localize_on_gammapy_map_and_single_array(maps):
    from gammapy.maps import WcsGeom, WcsNDMap

    geom = WcsGeom(ck.map_wcs(maps.pointing[0]), npix=(200, 200))
    m = WcsNDMap(geom, data=maps.counts[0].astype(float))
    table = ck.localize(m, threshold=0.0, max_sources=1)
    assert len(table) == 1 and np.isfinite(table["ra"][0])
    assert table["map"][0] == 0
    sep = maps.sky(0)[0].separation(
        __import__("astropy.coordinates", fromlist=["SkyCoord"]).SkyCoord(
            table["ra"][0], table["dec"][0], unit="deg")).deg
    assert sep < 0.05
    plain = ck.localize(maps.counts[0], threshold=0.0, max_sources=1)
    assert np.isnan(plain["ra"][0])  # no WCS, no sky coordinates
    assert plain["x"][0] == pytest.approx(table["x"][0])


def test_empty_map_gives_no_detection():
    table = ck.localize(np.zeros((2, 200, 200)), threshold=0.5)
    assert len(table) == 0
    assert set(table.colnames) >= {"map", "x", "y", "ra", "dec", "score"}


def test_clean_and_regress(maps):
    cleaned = ck.clean(maps.counts)
    assert cleaned.shape == (8, 200, 200) and cleaned.dtype == np.float32
    assert 0 <= cleaned.min() and cleaned.max() <= 1
    assert ck.clean(maps.counts[0]).shape == (200, 200)
    xy = ck.regress(maps.counts)
    assert xy.shape == (8, 2)
    assert np.all((xy > -1) & (xy < 200))
    # the cleaned map peaks near the source
    iy, ix = np.unravel_index(np.argmax(cleaned.reshape(8, -1), axis=1), (200, 200))
    assert np.median(np.hypot(ix - maps.x[:, 0], iy - maps.y[:, 0])) < 10


def test_refine_centroid():
    rng = np.random.default_rng(3)
    pts = rng.normal([80.3, 120.7], 6.0, (3000, 2))
    counts = np.histogram2d(pts[:, 1], pts[:, 0], bins=200, range=[[-0.5, 199.5]] * 2)[0]
    x, y = ck.refine_centroid(counts, 83.0, 118.0)
    assert np.hypot(x - 80.3, y - 120.7) < 0.4
    # a start on an empty patch stays where it is
    assert ck.refine_centroid(np.zeros((200, 200)), 50.0, 60.0) == (50.0, 60.0)


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError):
        ck.localize(np.zeros((3, 100, 100)))
    with pytest.raises(ValueError):
        ck.clean(np.full((200, 200), np.nan))
    with pytest.raises(ValueError):
        ck.localize(np.zeros((200, 200)), threshold=2.0)
    with pytest.raises(ValueError):
        ck.load_model("denoiser")
    with pytest.raises(FileNotFoundError):
        ck.load_model("cleaner", tmp_path / "missing.pt")
    with pytest.raises(TypeError):
        ck.clean(np.zeros((200, 200)), model=ck.HeatmapLocaliser())
    path = ck.save_model(ck.HeatmapLocaliser(width=4), tmp_path / "loc.pt", profile="test")
    with pytest.raises(ValueError, match="not a cleaner"):
        ck.load_model("cleaner", path)
    loaded = ck.load_model("localiser", path)
    assert loaded.width == 4
    assert torch.equal(next(loaded.parameters()),
                       next(ck.load_model("localiser", path).parameters()))
