"""deepcr.predict_mask_dask: chunked inference equals whole-frame inference, and why.

The equality holds because the chunks overlap by the network's halo (overlap_depth) and start
on its pooling grid; a smaller overlap must differ, near the chunk boundaries only.
"""

import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")

from _unets import random_unet  # noqa: E402
from astropy.io import fits  # noqa: E402

from cosmicbook.core.batch import require  # noqa: E402
from cosmicbook.deepcr import (  # noqa: E402
    WEIGHTS_DIR,
    UNet,
    lazy_focal_plane,
    load_model,
    overlap_depth,
    predict_mask,
    predict_mask_dask,
    read_fits_mosaic,
    simulate_ccd,
)

SMALLEST = WEIGHTS_DIR / "deepcr_2-8_randomised.pt"  # the smallest shipped weights
CHUNK = 128


@pytest.fixture(scope="module")
def frame():
    """A 512 x 512 simulated spectrograph frame with cosmic rays (electrons)."""
    return simulate_ccd(512, seed=11)


@pytest.fixture(scope="module")
def whole(frame):
    return predict_mask(frame, load_model(SMALLEST), tile=0)


def _chunked(frame, model=SMALLEST, **kwargs):
    lazy = predict_mask_dask(da.from_array(frame, chunks=CHUNK), model, **kwargs)
    return lazy.compute(scheduler="sync")


def _random_net(depth, width=4, seed=0):
    return random_unet(depth, width, seed)


def test_chunked_equals_whole_frame(frame, whole):
    prob = _chunked(frame)
    assert prob.shape == frame.shape and prob.dtype == np.float32
    assert np.abs(prob - whole).max() < 1e-5
    assert (whole > 0.5).sum() > 100  # the frame has cosmic rays to find
    mask = _chunked(frame, threshold=0.5)
    assert mask.dtype == bool and np.array_equal(mask, whole > 0.5)


def test_the_depth_is_a_function_of_the_model():
    assert overlap_depth(SMALLEST) == overlap_depth() == 10
    assert overlap_depth(UNet(2, 4)) == 10  # receptive radius 10, pooling grid 2
    assert overlap_depth(UNet(3, 4)) == 28  # receptive radius 26 rounded up to a multiple of 4
    assert overlap_depth(UNet(4, 4)) == UNet(4, 4).default_halo


def test_too_small_a_depth_differs_near_chunk_boundaries(frame, whole):
    depth = overlap_depth(SMALLEST)
    assert np.abs(_chunked(frame, depth=depth) - whole).max() < 1e-5
    short = _chunked(frame, depth=depth - 4)
    diff = np.abs(short - whole)
    assert diff.max() > 1e-3
    # the damage sits within the receptive radius of a chunk boundary
    to_edge = np.minimum(np.arange(512) % CHUNK, -np.arange(1, 513) % CHUNK)
    near = np.minimum.outer(to_edge, to_edge) < 10
    assert diff[~near].max() < 1e-5
    assert np.abs(_chunked(frame, depth=0) - whole).max() > diff.max() / 2


def test_a_deeper_net_needs_its_own_depth_and_grid():
    """Depth 3: overlap 28 px, chunks on a 4-pixel grid (two max-pools)."""
    rng = np.random.default_rng(3)
    image = rng.normal(50.0, 5.0, (256, 256)).astype(np.float32)
    image[60:64, 100:140] += 3000.0
    net = _random_net(3)
    reference = predict_mask(image, net, tile=0)
    lazy = predict_mask_dask(da.from_array(image, chunks=64), net)
    assert np.abs(lazy.compute(scheduler="sync") - reference).max() < 1e-6
    naive = predict_mask_dask(da.from_array(image, chunks=64), net, depth=0)
    assert np.abs(naive.compute(scheduler="sync") - reference).max() > 1e-3
    with pytest.raises(ValueError, match="4-pixel pooling grid"):
        predict_mask_dask(da.from_array(image, chunks=66), net)
    with pytest.raises(ValueError, match="multiple of 4"):
        predict_mask_dask(da.from_array(image, chunks=64), net, depth=10)


def test_explicit_statistics_and_integer_frames(frame):
    stats = (100.0, 7.0)
    reference = predict_mask(frame, load_model(SMALLEST), statistics=stats)
    assert np.abs(_chunked(frame, statistics=stats) - reference).max() < 1e-5
    counts = np.round(frame).astype(np.int32)
    assert np.abs(_chunked(counts) - predict_mask(counts, load_model(SMALLEST))).max() < 1e-5


def test_a_stack_is_masked_frame_by_frame():
    plane = lazy_focal_plane(2, 256, seed=4, chunks=128)
    assert plane.shape == (2, 256, 256) and plane.chunksize == (1, 128, 128)
    prob = predict_mask_dask(plane, SMALLEST).compute(scheduler="sync")
    net = load_model(SMALLEST)
    for i, ccd in enumerate(plane.compute(scheduler="sync")):
        assert np.abs(prob[i] - predict_mask(ccd, net)).max() < 1e-5
    assert not np.array_equal(prob[0], prob[1])  # independent seeds


def test_fits_mosaic(tmp_path):
    rng = np.random.default_rng(5)
    images = [rng.normal(10.0 * i, 2.0, (64, 96)).astype(np.float32) for i in range(4)]
    for i, image in enumerate(images):
        fits.PrimaryHDU(image).writeto(tmp_path / f"ccd{i}.fits")
    stack = read_fits_mosaic(tmp_path)
    assert stack.shape == (4, 64, 96) and stack.dtype == np.float32
    assert np.array_equal(stack.compute(scheduler="sync"), np.stack(images))
    mosaic = read_fits_mosaic(str(tmp_path / "ccd*.fits"), grid=(2, 2), chunks=32)
    assert mosaic.shape == (128, 192) and mosaic.chunksize == (32, 32)
    assert np.array_equal(mosaic.compute(scheduler="sync")[64:, :96], images[2])
    prob = predict_mask_dask(stack.rechunk((1, 32, 32)), SMALLEST).compute(scheduler="sync")
    assert np.abs(prob[3] - predict_mask(images[3], load_model(SMALLEST))).max() < 1e-5
    fits.PrimaryHDU(np.zeros((8, 8), np.float32)).writeto(tmp_path / "odd.fits")
    with pytest.raises(ValueError, match="differ in shape"):
        read_fits_mosaic(tmp_path)
    with pytest.raises(ValueError, match="grid holds 4"):
        read_fits_mosaic([tmp_path / f"ccd{i}.fits" for i in range(3)], grid=(2, 2))


def test_bad_input(frame):
    x = da.from_array(frame, chunks=CHUNK)
    with pytest.raises(TypeError, match="dask.array.from_array"):
        predict_mask_dask(frame)
    with pytest.raises(ValueError, match="pooling grid"):
        predict_mask_dask(da.from_array(frame, chunks=127), SMALLEST)
    with pytest.raises(ValueError, match="smaller than the overlap depth"):
        predict_mask_dask(da.from_array(frame[:, :506], chunks=(128, 168)), SMALLEST)
    with pytest.raises(ValueError, match="multiple of 2"):
        predict_mask_dask(x, SMALLEST, depth=5)
    with pytest.raises(ValueError, match="threshold"):
        predict_mask_dask(x, SMALLEST, threshold=1.5)
    with pytest.raises(ValueError, match="scale > 0"):
        predict_mask_dask(x, SMALLEST, statistics=(0.0, 0.0))
    with pytest.raises(ValueError, match="2-D frame or 3-D"):
        predict_mask_dask(da.zeros(10, chunks=5), SMALLEST)
    with pytest.raises(ValueError, match="one \\(center, scale\\) per frame"):
        predict_mask_dask(da.zeros((2, 64, 64), chunks=32), SMALLEST, statistics=[(0, 1)])
    with pytest.raises(FileNotFoundError):
        predict_mask_dask(x, "no-such-weights.pt")
    nan = frame.copy()
    nan[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _chunked(nan)


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ModuleNotFoundError, match=r"cosmicbook\[survey\]"):
        require("dask.array")
    with pytest.raises(ModuleNotFoundError, match=r"cosmicbook\[survey\]"):
        lazy_focal_plane(1, 64)
