"""The deepCR-style UNet: architecture, receptive field, normalisation, training recipe."""

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from cosmicbook.core.training import frozen_batchnorm_layers
from cosmicbook.deepcr.model import UNet, frame_statistics, parse_variant, variant_name
from cosmicbook.deepcr.training import MaskNetConfig, freeze_epoch, masked_bce, train_mask_net

# deepCR's published parameter counts (kmzzhang/deepCR, Zhang & Bloom 2020): mask 2-32 and 2-4.
DEEPCR_COUNTS = {(2, 32): 101_473, (2, 4): 1_709}


@pytest.mark.parametrize(("depth", "width"), list(DEEPCR_COUNTS))
def test_parameter_count_matches_deepcr(depth, width):
    assert UNet(depth, width).n_parameters == DEEPCR_COUNTS[(depth, width)]


def test_variants_grow_with_width_and_depth():
    counts = [UNet(*parse_variant(v)).n_parameters for v in ("2-4", "2-8", "2-16", "2-32", "3-32")]
    assert counts == sorted(counts) and len(set(counts)) == 5
    # 3-32 is deepCR's inpainting 3-32 (467,521 parameters) minus its second input channel
    assert counts[-1] == 467_521 - 32 * 9


@pytest.mark.parametrize("bad", [0, -1, 2.0, True])
def test_bad_architecture_rejected(bad):
    with pytest.raises(ValueError):
        UNet(bad, 8)
    with pytest.raises(ValueError):
        UNet(2, bad)


def test_variant_names_roundtrip():
    assert parse_variant(variant_name(3, 16)) == (3, 16)
    with pytest.raises(ValueError, match="depth-width"):
        parse_variant("unet")


def test_output_shape_and_input_checks():
    net = UNet(2, 4).eval()
    out = net(torch.randn(3, 1, 32, 48))
    assert out.shape == (3, 1, 32, 48)
    with pytest.raises(ValueError, match="divisible"):
        net(torch.randn(1, 1, 31, 32))
    with pytest.raises(ValueError, match="shape"):
        net(torch.randn(1, 32, 32))
    with pytest.raises(ValueError, match="both"):
        net(torch.randn(1, 1, 32, 32), center=0.0)


def _randomise_batchnorm(net: UNet, seed: int = 0) -> UNet:
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return net.eval()


@pytest.mark.parametrize(("depth", "width"), [(1, 4), (2, 8), (3, 4)])
def test_receptive_radius_is_an_upper_bound(depth, width):
    """Changing every input pixel farther than the radius leaves the output pixel unchanged,
    and changing one pixel at the radius (or closer) can change it: the bound is tight-ish."""
    torch.manual_seed(depth)
    net = _randomise_batchnorm(UNet(depth, width))
    r = net.receptive_radius
    n = 2 * r + 24
    c = n // 2 + 1  # off the pooling grid on purpose
    x = torch.randn(1, 1, n, n)
    far = x.clone()
    yy, xx = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    outside = torch.maximum((yy - c).abs(), (xx - c).abs()) > r
    far[0, 0][outside] += 100 * torch.randn(int(outside.sum()))
    with torch.no_grad():
        a = net(x, 0.0, 1.0)[0, 0, c, c]
        b = net(far, 0.0, 1.0)[0, 0, c, c]
    assert torch.allclose(a, b, atol=1e-6)
    # autograd: the gradient reaches at least r - 2**(depth-1) pixels (so the bound is not loose)
    x.requires_grad_(True)
    net(x, 0.0, 1.0)[0, 0, c, c].backward()
    ys, xs = torch.nonzero(x.grad[0, 0], as_tuple=True)
    reach = max((ys - c).abs().max().item(), (xs - c).abs().max().item())
    assert r - 2 ** (depth - 1) - 2 <= reach <= r


def test_normalisation_removes_sky_and_scale():
    torch.manual_seed(1)
    net = _randomise_batchnorm(UNet(2, 8))
    x = 5 * torch.randn(2, 1, 64, 64)
    x[:, :, 10, 10:20] += 500
    with torch.no_grad():
        base = net(x)
        shifted = net(x + 1234.5)
    assert (base - shifted).abs().max() < 1e-3
    center, scale = frame_statistics(x + 100)
    assert center.shape == (2, 1, 1, 1)
    assert np.allclose(center.flatten().numpy(), 100, atol=0.5)
    assert np.allclose(scale.flatten().numpy(), 5, rtol=0.1)
    constant = frame_statistics(torch.zeros(1, 1, 8, 8))[1]
    assert float(constant) > 0  # floored: no division by zero


def test_masked_bce_leaves_out_ignored_pixels():
    logits = torch.zeros(1, 1, 2, 2)
    logits[0, 0, 0, 0] = 20.0  # confident "cosmic"
    target = torch.zeros(1, 1, 2, 2)
    full = masked_bce(logits, target)
    ignore = torch.zeros(1, 1, 2, 2)
    ignore[0, 0, 0, 0] = 1
    ignored = masked_bce(logits, target, ignore)
    assert full > 4 * ignored
    assert torch.isclose(ignored, torch.tensor(np.log(2.0), dtype=torch.float32))
    with pytest.raises(ValueError):
        masked_bce(logits, target[..., :1])
    with pytest.raises(ValueError):
        masked_bce(logits, target, ignore[..., :1])


def test_freeze_epoch_follows_the_seed():
    assert freeze_epoch(60) == 24
    assert freeze_epoch(5) == 2
    with pytest.raises(ValueError):
        freeze_epoch(10, 1.5)


def _toy_patches(n=12, size=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(50.0, 4.0, (n, 1, size, size)).astype(np.float32)
    y = np.zeros_like(x)
    for i in range(n):
        r, c = rng.integers(4, size - 4, 2)
        y[i, 0, r, c - 2:c + 3] = 1
        y[i, 0, r - 1:r + 2, c] = 1
    x += 400 * y
    return TensorDataset(torch.from_numpy(x), torch.from_numpy(y))


def test_training_overfits_toy_data_and_freezes_batchnorm(tmp_path):
    torch.manual_seed(0)
    net = UNet(2, 4)
    data = _toy_patches()
    history = train_mask_net(net, data, data, config=MaskNetConfig(5, batch_size=4, lr=0.02),
                             checkpoint=tmp_path / "ckpt.pt", seed=0, progress=False)
    assert len(history) == 5
    assert history["val_loss"][-1] < 0.5 * history["val_loss"][0]
    assert len(frozen_batchnorm_layers(net)) == 6  # frozen after epoch round(0.4 * 5) = 2
    assert history["lr"][-1] == pytest.approx(0.02 / 2.5)
    assert history["lr"][1] == pytest.approx(0.02)


class _Crashing(torch.utils.data.Dataset):
    """Raises after ``limit`` items, like a job killed in the middle of an epoch."""

    def __init__(self, data, limit):
        self.data, self.limit, self.served = data, limit, 0

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        self.served += 1
        if self.served > self.limit:
            raise RuntimeError("killed")
        return self.data[i]


def test_training_resumes_exactly_after_a_crash(tmp_path):
    data = _toy_patches(n=8)
    torch.manual_seed(0)
    a = UNet(2, 4)
    config = MaskNetConfig(epochs=4, batch_size=4)
    train_mask_net(a, data, config=config, seed=3, progress=False)
    torch.manual_seed(0)
    b = UNet(2, 4)
    ckpt = tmp_path / "b.pt"
    with pytest.raises(RuntimeError, match="killed"):  # dies in epoch 3, after the freeze
        train_mask_net(b, _Crashing(data, 8 * 2 + 5), config=config, seed=3,
                       progress=False, checkpoint=ckpt)
    torch.manual_seed(123)  # a different start: only the checkpoint may carry the state
    c = UNet(2, 4)
    history = train_mask_net(c, data, config=config, seed=3, progress=False,
                             checkpoint=ckpt)
    assert len(history) == 4
    assert len(frozen_batchnorm_layers(c)) == 6
    for (name, pa), pc in zip(a.state_dict().items(), c.state_dict().values(), strict=True):
        assert torch.equal(pa, pc), name


def test_fused_model_matches_eval_model():
    torch.manual_seed(2)
    net = _randomise_batchnorm(UNet(3, 8))
    fused = net.fused()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    x = 10 * torch.randn(1, 1, 64, 64) + 30
    with torch.no_grad():
        assert (net(x) - fused(x)).abs().max() < 1e-4


def test_training_on_patch_dataset_uses_the_ignore_mask():
    """PatchDataset items are (image, mask, ignore): ignored pixels carry no gradient."""
    from cosmicbook.deepcr.data import PatchDataset

    data = _toy_patches(n=2, size=64)
    images = [x[0].numpy() for x, _ in data]
    masks = [y[0].numpy() > 0 for _, y in data]
    ignore = [np.ones((64, 64), bool) for _ in images]  # everything ignored: zero loss
    ds = PatchDataset(images, masks, ignore, size=32, stride=32)
    torch.manual_seed(0)
    net = UNet(2, 4)
    before = {k: v.clone() for k, v in net.state_dict().items() if "weight" in k}
    history = train_mask_net(net, ds, config=MaskNetConfig(1, batch_size=4), progress=False)
    assert history["train_loss"][0] == 0.0
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
