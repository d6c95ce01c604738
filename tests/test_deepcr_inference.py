"""Whole-frame masks: seamless halo tiling, input checks, shipped weights, seams, memory."""

import json

import numpy as np
import pytest
import torch
from _unets import random_unet

from cosmicbook.deepcr import inference
from cosmicbook.deepcr.evaluate import seam_difference
from cosmicbook.deepcr.inference import (
    check_frame,
    load_model,
    measure_peak_memory,
    predict_mask,
    predict_quadrants,
    save_model,
    shipped_metadata,
)
from cosmicbook.deepcr.model import UNet

_random_net = random_unet


def _frame(shape=(150, 134), seed=1, sky=80.0):
    rng = np.random.default_rng(seed)
    image = rng.normal(sky, 4.0, shape).astype(np.float32)
    image[40, 20:60] += 2000.0  # a track
    image[100:104, 90] += 800.0
    return image


@pytest.mark.parametrize(("depth", "tile"), [(2, 32), (2, 48), (3, 40), (1, 17)])
def test_halo_tiling_equals_whole_frame(depth, tile):
    net = _random_net(depth)
    image = _frame()
    whole = predict_mask(image, net, tile=0)
    tiled = predict_mask(image, net, tile=tile)
    assert whole.shape == image.shape and whole.dtype == np.float32
    assert np.abs(tiled - whole).max() < 1e-5


def test_small_halo_leaves_seams_that_the_default_halo_removes():
    net = _random_net(2, 8)
    image = _frame()
    whole = predict_mask(image, net, tile=0)
    no_halo = predict_mask(image, net, tile=32, halo=0)
    assert np.abs(no_halo - whole).max() > 1e-3
    with pytest.raises(ValueError, match="multiple"):
        predict_mask(image, net, tile=32, halo=3)


def test_sky_level_does_not_matter():
    net = _random_net(2, 8)
    image = _frame()
    assert np.abs(predict_mask(image, net) - predict_mask(image + 5000.0, net)).max() < 1e-4


def test_threshold_gives_boolean_mask_and_fast_equals_plain():
    net = _random_net(2, 8)
    image = _frame()
    prob = predict_mask(image, net, fast=False)
    assert np.abs(predict_mask(image, net, fast=True) - prob).max() < 1e-5
    mask = predict_mask(image, net, threshold=0.5, fast=False)
    assert mask.dtype == bool and np.array_equal(mask, prob > 0.5)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="threshold"):
            predict_mask(image, net, threshold=bad)


def test_integer_frames_accepted():
    net = _random_net(2, 8)
    image = np.rint(_frame()).astype(np.int32)
    prob = predict_mask(image, net)
    assert np.abs(prob - predict_mask(image.astype(np.float32), net)).max() == 0


@pytest.mark.parametrize(("bad", "match"), [
    (np.full((8, 8), np.nan), "NaN"),
    (np.zeros((2, 8, 8)), "2-D"),
    (np.zeros(16), "2-D"),
    (np.zeros((0, 8)), "empty"),
    (np.array([["a", "b"], ["c", "d"]]), "real numbers"),
    (np.ones((8, 8), dtype=complex), "real numbers"),
    (np.ones((8, 8), dtype=bool), "real numbers"),
])
def test_bad_frames_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        check_frame(bad)
    with pytest.raises(ValueError, match=match):
        predict_mask(bad, _random_net(1, 2))


def test_bad_model_and_tile_rejected():
    with pytest.raises(TypeError):
        predict_mask(_frame(), model=torch.nn.Conv2d(1, 1, 3))
    with pytest.raises(ValueError, match="tile"):
        predict_mask(_frame(), _random_net(1, 2), tile=-4)


def test_quadrants_leave_seams_only_near_block_edges():
    net = _random_net(2, 8)
    image = _frame((128, 128))
    whole = predict_mask(image, net, tile=0)
    naive = predict_quadrants(image, net, blocks=4)
    r = net.receptive_radius
    stats = seam_difference(naive, whole, tile=32, width=r)
    assert stats["max_abs_seam"] > 1e-3
    assert stats["max_abs_interior"] < 1e-5  # blocks of 32 px stay on the pooling grid
    with pytest.raises(ValueError, match="blocks"):
        predict_quadrants(image, net, blocks=0)


def test_save_and_load_roundtrip(tmp_path):
    net = _random_net(2, 4)
    path = save_model(net, tmp_path / "w" / "net.pt", metadata={"profile": "test"})
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["architecture"] == "2-4" and meta["profile"] == "test"
    assert meta["model"] == net.config()  # the layout of cosmicbook.core.weights
    assert set(torch.load(path, weights_only=True)) == set(net.state_dict())
    loaded = load_model(path)
    assert loaded is not load_model(path)  # a new network each call
    image = _frame()
    assert np.array_equal(predict_mask(image, net), predict_mask(image, loaded))
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError, match=r"other\.json"):
        load_model(tmp_path / "other.pt")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(ValueError, match="save_model"):
        load_model(tmp_path / "other.pt")
    torch.save(net.state_dict(), tmp_path / "other.pt")
    with pytest.raises(ValueError, match="save_model"):  # a state dict, no configuration
        load_model(tmp_path / "other.pt")
    with pytest.raises(TypeError):
        save_model(net.fused(), tmp_path / "fused.pt")


@pytest.mark.parametrize("name", sorted(p.name for p in inference.WEIGHTS_DIR.glob("*.pt")))
def test_shipped_files_load_bit_for_bit_as_before(name):
    """The shipped files keep the layout of the deepcr loader before cosmicbook.core.weights
    (``{"config", "state_dict"}`` in the ``.pt``); load_model reads them to the same tensors."""
    path = inference.WEIGHTS_DIR / name
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if "state_dict" not in payload:  # re-saved by save_model since: the current layout
        meta = json.loads(path.with_suffix(".json").read_text())
        payload = {"config": meta["model"], "state_dict": payload}
    old = UNet(**payload["config"])  # the old loader
    old.load_state_dict(payload["state_dict"])
    new = load_model(path, device="cpu")
    assert new.config() == old.config() and not new.training
    new_state, old_state = new.state_dict(), old.state_dict()
    assert list(new_state) == list(old_state) == list(payload["state_dict"])
    for key, value in payload["state_dict"].items():
        for tensor in (new_state[key], old_state[key]):
            assert tensor.dtype == value.dtype and torch.equal(tensor, value), key


def test_shipped_weights_find_a_cosmic_and_leave_noise_alone():
    """The weights from the chapter's book run: a 2-32 net that flags a bright track and
    (almost) nothing in pure Gaussian noise, whatever the sky level."""
    meta = shipped_metadata()
    assert meta["architecture"] == "2-32" and meta["n_parameters"] == 101_473
    assert load_model().n_parameters == 101_473
    rng = np.random.default_rng(5)
    image = rng.normal(0.0, 4.0, (256, 256)).astype(np.float32)
    rows = np.arange(60, 100)
    cols = np.round(50 + 0.6 * (rows - 60)).astype(int)
    image[rows, cols] += 1500.0
    for sky in (0.0, 300.0):
        mask = predict_mask(image + sky, threshold=0.5)
        assert mask[rows, cols].mean() > 0.9
        far = np.ones_like(mask)
        far[40:120, 30:100] = False
        assert mask[far].mean() < 1e-3


def test_peak_memory_is_measured():
    result, peak, method = measure_peak_memory(lambda: np.ones((2000, 2000)).sum())
    assert result == 4e6
    assert method in ("sampled RSS", "ru_maxrss growth")
    assert peak >= 0


def test_tiled_memory_is_bounded_by_the_tile():
    """The network never sees more than one tile plus its halo, whatever the frame size.

    (Deterministic: the largest input of the forward pass is what sets the peak memory of
    inference; sampling the process's RSS is too noisy for a test.)
    """
    net = _random_net(2, 8).fused()
    seen = []
    net.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[-2:])))
    image = np.random.default_rng(0).normal(0, 1, (512, 512)).astype(np.float32)
    predict_mask(image, net, tile=64)
    halo = net.default_halo
    assert len(seen) == 64 and max(h * w for h, w in seen) <= (64 + 2 * halo) ** 2
    seen.clear()
    predict_mask(image, net, tile=0)
    assert seen == [(512, 512)]


def test_default_tile_is_documented():
    assert inference.DEFAULT_TILE % 8 == 0


def test_hardest_cosmics_and_panels():
    from cosmicbook.deepcr.plotting import hardest_cosmics, plot_hardest_cases

    labels = np.zeros((64, 64), np.int32)
    labels[10, 5:15] = 1   # fully masked below
    labels[30, 5:15] = 2   # half masked
    labels[50, 5:15] = 3   # missed
    labels[5, 60] = 4      # one pixel: too small to show
    mask = np.zeros((64, 64), bool)
    mask[10, 5:15] = True
    mask[30, 5:10] = True
    assert hardest_cosmics(labels, mask, n=5) == [(3, 0.0), (2, 0.5), (1, 1.0)]
    image = np.random.default_rng(0).normal(0, 1, (64, 64)) + 50 * (labels > 0)
    fig = plot_hardest_cases(image, labels > 0, labels, {"a": mask, "b": ~mask}, n=2, half=8)
    assert len(fig.axes) == 2 * 3
    with pytest.raises(ValueError, match="by="):
        plot_hardest_cases(image, labels > 0, labels, {"a": mask}, by="c")


def test_bfloat16_precision_close_to_float32():
    """bfloat16 convolutions: probabilities within a few 1e-2 of float32, the same mask to a
    handful of pixels, and a clear error for an unknown precision."""
    image = _frame((160, 160), seed=3)
    image[20:23, 120] += 1200.0
    p32 = predict_mask(image)
    p16 = predict_mask(image, precision="bfloat16")
    assert p16.dtype == np.float32 and p16.shape == p32.shape
    assert np.max(np.abs(p16 - p32)) < 0.1
    flips = int(((p16 > 0.5) != (p32 > 0.5)).sum())
    assert flips <= 0.002 * image.size
    assert (p16 > 0.5)[40, 25:55].all()  # the track is still found
    with pytest.raises(ValueError, match="precision"):
        predict_mask(image, precision="float16")
