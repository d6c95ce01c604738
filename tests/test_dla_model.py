"""The Parks et al. network, the combined loss and a tiny training run."""

import numpy as np
import pytest
import torch

from cosmicbook.dla import DLACNN, TrainingConfig, WindowSet, multitask_loss, train_model
from cosmicbook.dla.training import make_loader


def test_shapes_and_bad_input():
    model = DLACNN(width=0.25)
    logit, off, nhi = model(torch.zeros(5, 1, 400))
    assert logit.shape == off.shape == nhi.shape == (5,)
    with pytest.raises(ValueError, match="400"):
        model(torch.zeros(2, 1, 300))
    with pytest.raises(ValueError, match="width"):
        DLACNN(width=0)
    full = DLACNN(width=1.0)
    assert full.features[0].out_channels == 100 and full.features[3].out_channels == 96
    assert full.shared[0].out_features == 350


def test_loss_masks():
    out = (torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.1, 0.0, 0.3]),
           torch.tensor([21.0, 20.0, 20.0]))
    cls = torch.tensor([1.0, 0.0, -1.0])
    off = torch.tensor([0.2, 0.0, 0.9])
    nhi = torch.tensor([21.5, 0.0, 0.0])
    l_c, l_o, l_h = multitask_loss(out, cls, off, nhi)
    # log NHI only on the positive: (21.5 - 21)^2 over 2 valid windows
    assert float(l_h) == pytest.approx(0.25 / 2, rel=1e-4)
    # the masked window contributes nothing to any term
    out2 = (torch.tensor([2.0, -1.0, -9.0]), out[1], out[2])
    l_c2, l_o2, _ = multitask_loss(out2, cls, torch.tensor([0.2, 0.0, -5.0]), nhi)
    assert float(l_c2) == pytest.approx(float(l_c)) and float(l_o2) == pytest.approx(float(l_o))
    # changing the NHI label of a negative changes nothing
    _, _, l_h3 = multitask_loss(out, cls, off, torch.tensor([21.5, 25.0, 25.0]))
    assert float(l_h3) == pytest.approx(float(l_h))


def _toy_windows(n, rng):
    """Windows with a box-shaped trough at a known offset (positives) or none."""
    x = np.ones((n, 1, 400), np.float32) + 0.05 * rng.standard_normal((n, 1, 400)).astype(
        np.float32)
    cls = (rng.uniform(size=n) < 0.5).astype(np.float32)
    off = np.where(cls > 0, rng.integers(-40, 41, n), 0).astype(np.float32)
    nhi = np.where(cls > 0, rng.uniform(20.3, 21.5, n), np.nan).astype(np.float32)
    for i in np.flatnonzero(cls):
        c = 200 - int(off[i])
        half = int(10 + 20 * (nhi[i] - 20.3))
        x[i, 0, c - half:c + half] = 0.0
    return WindowSet(x, cls, off, nhi)


def test_tiny_training_run_learns_and_resumes(tmp_path):
    rng = np.random.default_rng(0)
    train, val = _toy_windows(1024, rng), _toy_windows(256, rng)
    ckpt = tmp_path / "dla.pt"
    config = TrainingConfig(epochs=6, batch_size=64, lr=3e-3)
    torch.manual_seed(0)
    model = DLACNN(width=0.25)
    history = train_model(model, train, val, config, checkpoint=ckpt, progress=False)
    assert history["val_loss"][-1] < 0.5 * history["val_loss"][0]
    for task in ("classification", "offset", "log_nhi"):
        assert len(history[task]) == 6
    logit, _, _ = model(torch.from_numpy(val.x))
    acc = np.mean((logit.detach().numpy() > 0) == (val.cls > 0))
    assert acc > 0.9
    # a second call with the same checkpoint returns the finished run without training
    again = DLACNN(width=0.25)
    h2 = train_model(again, train, val, config, checkpoint=ckpt, progress=False)
    assert h2["val_loss"] == history["val_loss"]
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                  again.state_dict().values(), strict=True))


def test_train_model_checks_model_and_config():
    rng = np.random.default_rng(2)
    ws = _toy_windows(8, rng)
    with pytest.raises(TypeError, match="DLACNN"):
        train_model(torch.nn.Linear(400, 3), ws, ws, progress=False)
    with pytest.raises(TypeError, match="TrainingConfig"):
        train_model(DLACNN(width=0.25), ws, ws, {"epochs": 1}, progress=False)
    for bad in (dict(epochs=0), dict(batch_size=True), dict(lr=-1.0),
                dict(weight_decay=-1e-4), dict(lr=float("inf"))):
        with pytest.raises(ValueError):
            TrainingConfig(**bad)
    assert TrainingConfig() == TrainingConfig(epochs=10, batch_size=256, lr=1e-3,
                                              weight_decay=0.0)


def test_loader_scales_offsets():
    rng = np.random.default_rng(1)
    ws = _toy_windows(8, rng)
    x, cls, off, nhi = next(iter(make_loader(ws, 8, shuffle=False)))
    assert torch.allclose(off, torch.from_numpy(ws.offset / 60.0))
    assert not torch.isnan(nhi).any()
