"""Tests of cosmicbook.deepcr.data: patches, the patch dataset, splits, frame sets."""

import numpy as np
import pytest
import torch
from astropy.table import Table

from cosmicbook.darks import CosmicLibrary
from cosmicbook.deepcr.data import (
    PatchDataset,
    extract_patches,
    make_dataset,
    make_frames,
    patch_positions,
    train_val_split,
)


def _library():
    stamps = [np.full((3, 3), 500.0, np.float32), np.array([[800.0, 900.0]], np.float32)]
    masks = [np.ones((3, 3), bool), np.ones((1, 2), bool)]
    sources = Table({"exptime": [300.0], "gain": [1.5], "ny": np.array([4096], np.int32),
                     "nx": np.array([4096], np.int32), "threshold": [400.0], "seed": [250.0],
                     "grow_sigma": [3.0], "margin": np.array([2], np.int32)})
    return CosmicLibrary(stamps, masks, sources=sources)


def test_patch_positions_counts():
    assert patch_positions((4096, 4096)).shape == (441, 2)       # 21 x 21 at stride 192
    assert patch_positions((1024, 1024)).shape == (25, 2)
    assert patch_positions((4096, 4096), stride=256).shape == (256, 2)
    pos = patch_positions((300, 700), size=256, stride=192)
    assert set(pos[:, 0]) == {0, 44} and set(pos[:, 1]) == {0, 192, 384, 444}
    covered = np.zeros((300, 700), bool)
    for y0, x0 in pos:
        covered[y0:y0 + 256, x0:x0 + 256] = True
    assert covered.all()


def test_extract_patches_are_slices():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(512, 640))
    mask = rng.random((512, 640)) < 0.01
    patches, masks = extract_patches(image, mask, size=128, stride=96)
    pos = patch_positions(image.shape, 128, 96)
    assert patches.shape == (len(pos), 128, 128) and patches.dtype == np.float32
    assert masks.dtype == bool
    for k in (0, 7, len(pos) - 1):
        y0, x0 = pos[k]
        np.testing.assert_array_equal(patches[k], image[y0:y0 + 128, x0:x0 + 128]
                                      .astype(np.float32))
        np.testing.assert_array_equal(masks[k], mask[y0:y0 + 128, x0:x0 + 128])
    only, none = extract_patches(image, size=128)
    assert none is None and only.shape[1:] == (128, 128)


def test_extract_patches_errors():
    with pytest.raises(ValueError, match="smaller than the patch"):
        extract_patches(np.zeros((100, 300)), size=128)
    with pytest.raises(ValueError, match="NaN"):
        extract_patches(np.full((256, 256), np.nan))
    with pytest.raises(ValueError, match="shape"):
        extract_patches(np.zeros((256, 256)), np.zeros((256, 255), bool))
    with pytest.raises(ValueError, match="2-D"):
        extract_patches(np.zeros((2, 256, 256)))
    with pytest.raises(ValueError, match="stride"):
        patch_positions((256, 256), stride=0)


def test_train_val_split():
    train, val = train_val_split(2404, 0.75, seed=1)
    assert len(train) == 1803 and len(val) == 601          # the seed deck's numbers
    assert np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(2404))
    again, _ = train_val_split(2404, 0.75, seed=1)
    np.testing.assert_array_equal(train, again)
    other, _ = train_val_split(2404, 0.75, seed=2)
    assert not np.array_equal(train, other)
    with pytest.raises(ValueError):
        train_val_split(10, 1.0)


def test_patch_dataset_items():
    rng = np.random.default_rng(1)
    images = [rng.normal(size=(512, 512)).astype(np.float32), rng.normal(size=(256, 512))]
    masks = [rng.random(im.shape) < 0.01 for im in images]
    ignore = [np.zeros((512, 512), bool), np.ones((256, 512), bool)]
    ds = PatchDataset(images, masks, ignore)
    assert len(ds) == 9 + 3 == ds.n_patches_total
    image, mask, ign = ds[10]
    assert image.shape == mask.shape == ign.shape == (1, 256, 256)
    assert image.dtype == mask.dtype == ign.dtype == torch.float32
    f, y0, x0 = ds.positions[10]
    assert f == 1
    np.testing.assert_array_equal(image[0].numpy(), images[1][y0:y0 + 256, x0:x0 + 256]
                                  .astype(np.float32))
    assert float(ign.sum()) == 256 * 256 and float(ds[0][2].sum()) == 0
    train, val = ds.split(0.75, seed=0)
    assert len(train) == 9 and len(val) == 3
    assert not set(map(tuple, train.positions)) & set(map(tuple, val.positions))
    loader = torch.utils.data.DataLoader(train, batch_size=4)
    batch = next(iter(loader))
    assert batch[0].shape == (4, 1, 256, 256)
    with pytest.raises(IndexError):
        ds[12]
    with pytest.raises(ValueError, match="masks"):
        PatchDataset(images, masks[:1])


def test_make_dataset_and_frames():
    lib = _library()
    frames = make_frames(2, (256, 512), lib, seed=3, progress=False)
    assert len(frames) == 2 and frames[0].image.shape == (256, 512)
    assert 300 <= frames[0].exptime <= 1800 and frames[0].exptime != frames[1].exptime
    assert not np.array_equal(frames[0].image, frames[1].image)
    ds = make_dataset(2, (256, 512), lib, seed=3, progress=False)
    assert len(ds) == 2 * 3 and len(ds.frames) == 2
    np.testing.assert_array_equal(ds.frames[1].image, frames[1].image)   # deterministic
    n_cosmic = sum(float(ds[i][1].sum()) for i in range(len(ds)))
    assert n_cosmic > 0
    assert float(ds[0][2].sum()) == 0          # simulated frames have no zero-ivar pixels
