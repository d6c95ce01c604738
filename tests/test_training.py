"""Tests of cosmicbook.core.training: fit, History, Checkpoint, freeze_batchnorm, predict."""

from __future__ import annotations

import copy
import math
import pickle

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from cosmicbook.core import training
from cosmicbook.core.device import seed_everything
from cosmicbook.core.training import (
    Checkpoint,
    FitOptions,
    History,
    evaluate,
    fit,
    freeze_batchnorm,
    frozen_batchnorm_layers,
    predict,
    unfreeze_batchnorm,
    update_average,
)

TRUE_W = torch.tensor([[1.5], [-2.0], [0.5], [3.0]])
TRUE_B = 0.3


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- helpers ---------------------------------------------------------------------------------
def regression_data(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return x, x @ TRUE_W + TRUE_B


def loader(*tensors: torch.Tensor, batch_size: int = 32, shuffle: bool = True,
           seed: int = 0) -> DataLoader:
    return DataLoader(TensorDataset(*tensors), batch_size=batch_size, shuffle=shuffle,
                      generator=torch.Generator().manual_seed(seed))


def assert_nested_equal(a, b, where="") -> None:
    """Bit-for-bit equality of (nested) state dicts."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and torch.equal(a, b), f"differs at {where}"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_nested_equal(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_nested_equal(x, y, f"{where}[{i}]")
    else:
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), where


def conv_bn_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1)
    )


def image_data(n: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and a blurred, brightened version of them (a target a conv net can learn)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 12, 12, generator=g)
    kernel = torch.full((1, 1, 3, 3), 1.0 / 9.0)
    return x, 2.0 * nn.functional.conv2d(x, kernel, padding=1) + 0.5


class NotIterable:
    """A loader that fails if fit tries to train."""

    def __len__(self) -> int:
        return 4

    def __iter__(self):
        raise AssertionError("fit iterated the training loader")


# -- learning --------------------------------------------------------------------------------
def test_linear_model_learns_regression():
    seed_everything(0)
    x, y = regression_data()
    xv, yv = regression_data(64, seed=1)
    model = nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, loader(x, y), nn.MSELoss(), opt, epochs=30,
                  val_loader=loader(xv, yv, shuffle=False), device="cpu", progress=False)
    assert len(history) == 30
    assert history["epoch"] == list(range(1, 31))
    assert history["train_loss"][-1] < history["train_loss"][0] / 100
    assert history["val_loss"][-1] < 1e-3
    assert history["lr"] == [0.05] * 30
    assert all(s >= 0 for s in history["seconds"])
    torch.testing.assert_close(model.weight.detach().T, TRUE_W, atol=0.02, rtol=0)
    assert not model.training  # fit leaves the model in eval mode


def test_conv_model_learns():
    seed_everything(0)
    x, y = image_data()
    model = nn.Conv2d(1, 1, 3, padding=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, loader(x, y, batch_size=8), nn.MSELoss(), opt, epochs=40,
                  device="cpu", progress=False)
    assert history["train_loss"][-1] < history["train_loss"][0] / 100
    assert all(math.isnan(v) for v in history["val_loss"])


def test_sample_weights_reach_the_loss():
    """Half the targets are garbage with weight 0: only a weighted loss recovers TRUE_W."""
    seed_everything(0)
    x, y = regression_data()
    y = y.clone()
    y[::2] = 1e3 * torch.randn(128, 1, generator=torch.Generator().manual_seed(3))
    w = torch.ones_like(y)
    w[::2] = 0.0

    def weighted_mse(output, target, weights):
        return (weights * (output - target) ** 2).sum() / weights.sum()

    model = nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    fit(model, loader(x, y, w), weighted_mse, opt, epochs=30, device="cpu", progress=False)
    torch.testing.assert_close(model.weight.detach().T, TRUE_W, atol=0.05, rtol=0)


def test_weights_with_two_argument_loss_is_a_clear_error():
    x, y = regression_data(64)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(TypeError, match="third item"):
        fit(model, loader(x, y, torch.ones_like(y)), nn.MSELoss(), opt, epochs=1,
            progress=False)


class DictDataset(Dataset):
    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i], "label": (self.y[i] > 0).float()}


class TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.reg = nn.Linear(8, 1)
        self.cls = nn.Linear(8, 1)

    def forward(self, x):
        h = torch.relu(self.body(x))
        return self.reg(h), self.cls(h)


def test_step_fn_multitask_with_dict_batches():
    seed_everything(0)
    x, y = regression_data()
    devices_seen = []

    def step(model, batch, device):
        devices_seen.append(batch["x"].device)
        reg, logit = model(batch["x"])
        return (nn.functional.mse_loss(reg, batch["y"])
                + nn.functional.binary_cross_entropy_with_logits(logit, batch["label"]))

    model = TwoHeads()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    data = DataLoader(DictDataset(x, y), batch_size=32, shuffle=True,
                      generator=torch.Generator().manual_seed(0))
    history = fit(model, data, None, opt, epochs=25, val_loader=data, device="cpu",
                  progress=False, options=FitOptions(step_fn=step))
    assert history["train_loss"][-1] < history["train_loss"][0] / 10
    assert not math.isnan(history["val_loss"][-1])
    assert all(d == torch.device("cpu") for d in devices_seen)


def test_unusual_batch_without_step_fn_is_a_clear_error():
    x, y = regression_data(64)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    data = DataLoader(DictDataset(x, y), batch_size=32)
    with pytest.raises(TypeError, match="step_fn"):
        fit(model, data, nn.MSELoss(), opt, epochs=1, progress=False)


# -- validation, metrics, schedulers ---------------------------------------------------------
def test_validation_loss_is_weighted_by_batch_size():
    model = nn.Linear(1, 1)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # the model stays at zero
    xv = torch.zeros(4, 1)
    yv = torch.tensor([[1.0], [2.0], [3.0], [10.0]])
    # batches of 3 and 1 samples: the mean of batch means would be (14/3 + 100) / 2 = 52.3
    val = loader(xv, yv, batch_size=3, shuffle=False)
    history = fit(model, [(xv, yv)], nn.MSELoss(), opt, epochs=1, val_loader=val,
                  progress=False)
    assert history["val_loss"][0] == pytest.approx(114 / 4)
    assert history["train_loss"][0] == pytest.approx(114 / 4)
    assert evaluate(model, val, nn.MSELoss()) == pytest.approx(114 / 4)


def test_metrics_run_after_each_epoch_in_eval_mode_without_grad():
    x, y = regression_data(128)
    val = loader(x, y, shuffle=False)
    calls = []

    def mae(model, val_loader, device):
        calls.append((model.training, torch.is_grad_enabled(), val_loader, device))
        return torch.cat([(model(xb) - yb).abs() for xb, yb in val_loader]).mean()

    model = nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, loader(x, y), nn.MSELoss(), opt, epochs=3, val_loader=val,
                  progress=False, options=FitOptions(metrics={"mae": mae}))
    assert len(calls) == 3
    assert all(c == (False, False, val, torch.device("cpu")) for c in calls)
    assert history.metric_names == ["mae"]
    assert all(isinstance(v, float) for v in history["mae"])
    assert history["mae"][-1] < history["mae"][0]


def test_step_lr_is_recorded_per_epoch():
    x, y = regression_data(64)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    history = fit(model, loader(x, y), nn.MSELoss(), opt, epochs=3, scheduler=sched,
                  progress=False)
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)


class RecordingPlateau(torch.optim.lr_scheduler.ReduceLROnPlateau):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[float] = []

    def step(self, metrics, *args, **kwargs):
        self.seen.append(float(metrics))
        return super().step(metrics, *args, **kwargs)


def test_reduce_on_plateau_gets_the_validation_loss():
    x, y = regression_data(64)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    sched = RecordingPlateau(opt, patience=0)
    history = fit(model, loader(x, y), nn.MSELoss(), opt, epochs=3, scheduler=sched,
                  val_loader=loader(x[:16], y[:16] + 100.0, shuffle=False), progress=False)
    assert sched.seen == history["val_loss"]
    assert sched.seen != history["train_loss"]


def test_grad_clip_bounds_the_update():
    x, y = regression_data(16)

    def huge(model, batch, device):
        return 1e4 * model(batch[0]).mean()

    def update_norm(grad_clip):
        torch.manual_seed(0)
        model = nn.Linear(4, 1)
        before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
        opt = torch.optim.SGD(model.parameters(), lr=1.0)
        fit(model, [(x, y)], None, opt, epochs=1, progress=False,
            options=FitOptions(step_fn=huge, grad_clip=grad_clip))
        after = torch.cat([p.detach().flatten() for p in model.parameters()])
        return float((after - before).norm())

    assert update_norm(0.5) == pytest.approx(0.5, rel=1e-4)
    assert update_norm(None) > 100


# -- errors ----------------------------------------------------------------------------------
def test_nan_loss_names_epoch_and_batch():
    x, y = regression_data()
    calls = {"n": 0}

    def flaky(output, target):
        calls["n"] += 1
        loss = nn.functional.mse_loss(output, target)
        return loss * float("nan") if calls["n"] == 8 + 2 else loss

    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(RuntimeError, match=r"training loss is nan at epoch 2, batch 2 of 8"):
        fit(model, loader(x, y), flaky, opt, epochs=3, progress=False)


def test_inf_in_validation_data_is_reported():
    x, y = regression_data(64)
    yv = y.clone()
    yv[5] = float("inf")
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(RuntimeError, match="validation loss is inf at epoch 1, batch 1"):
        fit(model, loader(x, y), nn.MSELoss(), opt, epochs=2,
            val_loader=loader(x, yv, shuffle=False), progress=False)


def test_non_scalar_loss_is_rejected():
    x, y = regression_data(64)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="scalar"):
        fit(model, loader(x, y), nn.MSELoss(reduction="none"), opt, epochs=1, progress=False)


@pytest.mark.parametrize("epochs", [0, -1, 1.5, True, None, "3"])
def test_bad_epochs(epochs):
    x, y = regression_data(32)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        fit(model, loader(x, y), nn.MSELoss(), opt, epochs=epochs, progress=False)


def test_bad_arguments():
    x, y = regression_data(32)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    data = loader(x, y)
    empty = DataLoader(TensorDataset(torch.empty(0, 4), torch.empty(0, 1)), batch_size=4)
    mse = nn.MSELoss()
    with pytest.raises(ValueError, match="train_loader is empty"):
        fit(model, empty, mse, opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="train_loader is empty"):
        fit(model, [], mse, opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="val_loader is empty"):
        fit(model, data, mse, opt, epochs=1, val_loader=empty, progress=False)
    with pytest.raises(ValueError, match="no batches"):
        fit(model, iter([]), mse, opt, epochs=1, progress=False)
    for clip in (0, -1.0, float("nan"), "1"):
        with pytest.raises(ValueError, match="grad_clip"):
            fit(model, data, mse, opt, epochs=1, options=FitOptions(grad_clip=clip),
                progress=False)
    with pytest.raises(ValueError, match="metric name"):
        fit(model, data, mse, opt, epochs=1,
            options=FitOptions(metrics={"val_loss": lambda *a: 0.0}), progress=False)
    with pytest.raises(ValueError, match="loss_fn"):
        fit(model, data, None, opt, epochs=1, progress=False)
    with pytest.raises(ValueError, match="seed"):
        fit(model, data, mse, opt, epochs=1, options=FitOptions(seed=-1), progress=False)
    with pytest.raises(TypeError, match="nn.Module"):
        fit(lambda t: t, data, mse, opt, epochs=1, progress=False)
    with pytest.raises(TypeError, match="Optimizer"):
        fit(model, data, mse, None, epochs=1, progress=False)
    with pytest.raises(ValueError, match="unknown device"):
        fit(model, data, mse, opt, epochs=1, device="gpu", progress=False)


# -- History ---------------------------------------------------------------------------------
def test_history_records_table_and_state():
    h = History()
    h.append(1, 0.5, 0.6, lr=1e-3, seconds=2.0)
    h.append(2, torch.tensor(0.3), None, lr=1e-3, seconds=2.5, iou=np.float32(0.7))
    h.append(3, 0.2, 0.4, lr=5e-4, seconds=2.2, iou=0.8)
    assert h["epoch"] == [1, 2, 3]
    assert h["train_loss"] == pytest.approx([0.5, 0.3, 0.2])
    assert math.isnan(h["val_loss"][1])
    assert math.isnan(h["iou"][0]) and h["iou"][1:] == pytest.approx([0.7, 0.8])
    assert h.metric_names == ["iou"]
    assert h.best_epoch() == 3
    assert h.best_epoch("iou", mode="max") == 3
    assert h.last["epoch"] == 3
    assert "3 epochs" in repr(h)
    with pytest.raises(KeyError, match="no 'nope'"):
        h["nope"]

    table = h.to_table()
    assert table.colnames == ["epoch", "train_loss", "val_loss", "lr", "seconds", "iou"]
    assert len(table) == 3
    assert str(table["seconds"].unit) == "s"
    assert table["epoch"].dtype.kind == "i"

    h.stopped_early = True
    clone = History.from_state_dict(pickle.loads(pickle.dumps(h.state_dict())))
    assert_nested_equal(clone.records, h.records)
    assert clone.stopped_early
    with pytest.raises(ValueError, match="records"):
        History().load_state_dict({"epoch": [1]})
    with pytest.raises(ValueError, match="unequal length"):
        History().load_state_dict({"records": {**h.state_dict()["records"], "epoch": [1]}})


def test_history_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = History()
    for e in range(1, 6):
        h.append(e, 1.0 / e, 1.5 / e, lr=0.1, seconds=1.0, acc=0.1 * e)
    ax = h.plot()
    try:
        assert [line.get_label() for line in ax.get_lines()] == ["training", "validation"]
        np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), h["val_loss"])
        assert ax.get_yscale() == "log"
        assert ax.get_xlabel() == "epoch"
        fig, ax2 = plt.subplots()
        assert h.plot(ax=ax2, keys=["acc"], logy=False) is ax2
        assert ax2.get_yscale() == "linear"
        h.append(6, -1.0)  # a non-positive value falls back to a linear axis
        assert h.plot(keys="train_loss").get_yscale() == "linear"
    finally:
        plt.close("all")


# -- Checkpoint ------------------------------------------------------------------------------
def _trained_setup(seed: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.9)
    return model, opt, sched


def test_checkpoint_roundtrip(tmp_path):
    model, opt, sched = _trained_setup(0)
    x, y = regression_data(64)
    history = fit(model, loader(x, y), nn.MSELoss(), opt, epochs=2, scheduler=sched,
                  progress=False)
    g = torch.Generator().manual_seed(11)
    torch.rand(1, generator=g)
    ckpt = Checkpoint(tmp_path / "nested" / "dir" / "run.pt")
    assert not ckpt.exists()
    assert ckpt.save(model, opt, sched, epoch=2, history=history, generators=[g],
                     extra={"profile": "ci"}) == ckpt.path
    assert ckpt.exists()
    assert sorted(p.name for p in ckpt.path.parent.iterdir()) == ["run.pt"]  # no tmp left

    expected = (torch.rand(3), np.random.rand(2), torch.rand(2, generator=g))  # noqa: NPY002
    torch.rand(10)  # move the RNGs on

    model2, opt2, sched2 = _trained_setup(1)
    g2 = torch.Generator().manual_seed(99)
    state = Checkpoint(str(ckpt.path)).load(model2, opt2, sched2, generators=[g2])
    assert state["epoch"] == 2
    assert state["extra"] == {"profile": "ci"}
    assert isinstance(state["history"], History)
    assert_nested_equal(state["history"].records, history.records)
    assert_nested_equal(model2.state_dict(), model.state_dict())
    assert_nested_equal(opt2.state_dict(), opt.state_dict())
    assert sched2.state_dict() == sched.state_dict()
    got = (torch.rand(3), np.random.rand(2), torch.rand(2, generator=g2))  # noqa: NPY002
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_checkpoint_errors(tmp_path):
    model, opt, sched = _trained_setup()
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        Checkpoint(tmp_path / "missing.pt").load(model)
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(ValueError, match="not a cosmicbook checkpoint"):
        Checkpoint(tmp_path / "bare.pt").load(model)
    ckpt = Checkpoint(tmp_path / "a.pt")
    ckpt.save(model, epoch=0)
    with pytest.raises(RuntimeError, match="does not fit this model"):
        ckpt.load(nn.Linear(4, 1))
    with pytest.raises(ValueError, match="no optimizer state"):
        ckpt.load(model, opt)
    with pytest.raises(ValueError, match="epoch"):
        ckpt.save(model, epoch=-1)
    ckpt.remove()
    assert not ckpt.exists()


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    model, opt, _ = _trained_setup()
    ckpt = Checkpoint(tmp_path / "run.pt")
    ckpt.save(model, opt, epoch=1)
    before = ckpt.path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save(model, opt, epoch=2)
    monkeypatch.undo()
    assert ckpt.path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]
    assert ckpt.read()["epoch"] == 1


# -- resuming --------------------------------------------------------------------------------
def _resumable_run(tmp_path, name, epochs, *, init_seed, loader_seed, seed=None,
                   callback=None, bn=False):
    """Build everything from scratch (as a restarted notebook would) and call fit."""
    torch.manual_seed(init_seed)
    if bn:
        model = conv_bn_net()
        x, y = image_data(24)
        xv, yv = image_data(8, seed=1)
    else:
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
        x, y = regression_data(96)
        xv, yv = regression_data(32, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)
    history = fit(model, loader(x, y, batch_size=16, seed=loader_seed), nn.MSELoss(), opt,
                  epochs=epochs, val_loader=loader(xv, yv, shuffle=False), scheduler=sched,
                  checkpoint=tmp_path / name, progress=False,
                  options=FitOptions(seed=seed, epoch_callback=callback))
    return model, opt, sched, history


@pytest.mark.parametrize("seed", [None, 7])
def test_resume_is_bit_identical_to_uninterrupted_run(tmp_path, seed):
    seed_everything(0)
    straight = _resumable_run(tmp_path, "a.pt", 4, init_seed=1, loader_seed=0, seed=seed)

    seed_everything(0)
    _resumable_run(tmp_path, "b.pt", 2, init_seed=1, loader_seed=0, seed=seed)
    # a "new process": other global seeds, other initial weights, other loader generator
    seed_everything(12345)
    resumed = _resumable_run(tmp_path, "b.pt", 4, init_seed=2, loader_seed=99, seed=seed)

    assert_nested_equal(resumed[0].state_dict(), straight[0].state_dict(), "model")
    assert_nested_equal(resumed[1].state_dict(), straight[1].state_dict(), "optimizer")
    assert resumed[2].state_dict() == straight[2].state_dict()
    assert resumed[3]["epoch"] == [1, 2, 3, 4]
    assert resumed[3]["train_loss"] == straight[3]["train_loss"]
    assert resumed[3]["val_loss"] == straight[3]["val_loss"]

    # and the resume really did something: a run that restarts from scratch differs
    seed_everything(12345)
    fresh = _resumable_run(tmp_path, "c.pt", 4, init_seed=2, loader_seed=99, seed=None)
    assert not torch.equal(fresh[0][0].weight, straight[0][0].weight)


def test_seed_reseeds_every_epoch(tmp_path):
    """With FitOptions(seed=...), shuffling and dropout ignore the generators' earlier history."""
    seed_everything(0)
    a = _resumable_run(tmp_path, "a.pt", 2, init_seed=1, loader_seed=0, seed=7)
    seed_everything(1)
    b = _resumable_run(tmp_path, "b.pt", 2, init_seed=1, loader_seed=99, seed=7)
    assert_nested_equal(a[0].state_dict(), b[0].state_dict(), "model")
    seed_everything(1)
    c = _resumable_run(tmp_path, "c.pt", 2, init_seed=1, loader_seed=99, seed=None)
    assert not torch.equal(a[0][0].weight, c[0][0].weight)

    # dropout draws from torch's global RNG, re-seeded too
    x, y = regression_data(64)
    weights = []
    for burn in (0, 5):
        torch.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.5), nn.Linear(16, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        torch.rand(burn)
        fit(model, [(x, y)], nn.MSELoss(), opt, epochs=2, options=FitOptions(seed=3),
            progress=False)
        weights.append(model[0].weight.detach().clone())
    assert torch.equal(weights[0], weights[1])


def test_resume_without_saved_generator_state_would_differ(tmp_path, monkeypatch):
    """Guard for the test above: without restoring the loader generator the runs differ."""
    seed_everything(0)
    straight = _resumable_run(tmp_path, "a.pt", 4, init_seed=1, loader_seed=0)
    seed_everything(0)
    _resumable_run(tmp_path, "b.pt", 2, init_seed=1, loader_seed=0)
    monkeypatch.setattr(training.loop, "_loader_generators", lambda loader: [])
    resumed = _resumable_run(tmp_path, "b.pt", 4, init_seed=2, loader_seed=99)
    assert not torch.equal(resumed[0][0].weight, straight[0][0].weight)


def test_completed_run_returns_immediately(tmp_path):
    seed_everything(0)
    model, opt, sched, history = _resumable_run(tmp_path, "a.pt", 3, init_seed=1,
                                                loader_seed=0)
    weights = copy.deepcopy(model.state_dict())
    again = fit(model, NotIterable(), nn.MSELoss(), opt, epochs=3, scheduler=sched,
                checkpoint=tmp_path / "a.pt", progress=False)
    assert again["epoch"] == [1, 2, 3]
    assert again["train_loss"] == history["train_loss"]
    assert_nested_equal(model.state_dict(), weights)
    # asking for more epochs continues the same run
    x, y = regression_data(96)
    more = fit(model, loader(x, y, batch_size=16), nn.MSELoss(), opt, epochs=5,
               scheduler=sched, checkpoint=Checkpoint(tmp_path / "a.pt"), progress=False)
    assert more["epoch"] == [1, 2, 3, 4, 5]
    assert more["train_loss"][:3] == history["train_loss"]
    # resume=False starts over
    fresh = fit(model, loader(x, y, batch_size=16), nn.MSELoss(), opt, epochs=1,
                scheduler=sched, checkpoint=tmp_path / "a.pt", resume=False, progress=False)
    assert fresh["epoch"] == [1]
    assert Checkpoint(tmp_path / "a.pt").read()["epoch"] == 1


def test_epoch_callback_stops_early(tmp_path):
    seen = []

    def stop_at_3(epoch, model, history):
        seen.append((epoch, len(history)))
        return epoch == 3

    seed_everything(0)
    *_, history = _resumable_run(tmp_path, "s.pt", 10, init_seed=1, loader_seed=0,
                                 callback=stop_at_3)
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert history["epoch"] == [1, 2, 3]
    assert history.stopped_early
    state = Checkpoint(tmp_path / "s.pt").read()
    assert state["epoch"] == 3 and state["history"]["stopped_early"]
    # the stopped run counts as complete
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.8)
    again = fit(model, NotIterable(), nn.MSELoss(), opt, epochs=10, scheduler=sched,
                checkpoint=tmp_path / "s.pt", progress=False)
    assert again["epoch"] == [1, 2, 3] and again.stopped_early


# -- batch-norm freezing ---------------------------------------------------------------------
def _bn_stats(model: nn.Module) -> dict[str, torch.Tensor]:
    bn = model[1]
    return {k: v.clone() for k, v in bn.state_dict().items()
            if k in ("running_mean", "running_var", "num_batches_tracked")}


def test_freeze_batchnorm_fixes_running_stats_while_other_layers_train():
    seed_everything(0)
    model = conv_bn_net()
    x, y = image_data(24)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    snapshots = {}

    def freeze_after_2(epoch, model, history):
        if epoch == 2:
            assert freeze_batchnorm(model) == 1
            snapshots["bn"] = _bn_stats(model)
            snapshots["conv"] = model[0].weight.detach().clone()
            snapshots["gamma"] = model[1].weight.detach().clone()

    before = _bn_stats(model)
    fit(model, loader(x, y, batch_size=8), nn.MSELoss(), opt, epochs=4,
        options=FitOptions(epoch_callback=freeze_after_2), progress=False)
    assert not torch.equal(snapshots["bn"]["running_mean"], before["running_mean"])
    assert_nested_equal(_bn_stats(model), snapshots["bn"], "bn stats")
    assert not torch.equal(model[0].weight, snapshots["conv"])
    assert not torch.equal(model[1].weight, snapshots["gamma"])  # affine still trains
    assert frozen_batchnorm_layers(model) == {"1": False}

    # frozen outside fit too: model.train() + data with other statistics change nothing
    model.train()
    out = model(10.0 * x + 5.0)
    assert_nested_equal(_bn_stats(model), snapshots["bn"], "bn stats after train()")
    model.eval()
    torch.testing.assert_close(out, model(10.0 * x + 5.0))  # it normalises as in eval

    # the freeze survives deepcopy and pickling
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        clone.train()
        clone(x + 3.0)
        assert_nested_equal(_bn_stats(clone), snapshots["bn"], "bn stats of a copy")

    # unfreezing restores the usual behaviour
    assert unfreeze_batchnorm(model) == 1
    assert frozen_batchnorm_layers(model) == {}
    model.train()
    model(x + 3.0)
    assert not torch.equal(_bn_stats(model)["running_mean"], snapshots["bn"]["running_mean"])


def test_freeze_batchnorm_affine_and_warnings():
    model = conv_bn_net()
    assert freeze_batchnorm(model, freeze_affine=True) == 1
    assert not model[1].weight.requires_grad and not model[1].bias.requires_grad
    assert model[0].weight.requires_grad
    assert frozen_batchnorm_layers(model) == {"1": True}
    gamma = model[1].weight.detach().clone()
    x, y = image_data(8)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, [(x, y)], nn.MSELoss(), opt, epochs=2, progress=False)
    assert torch.equal(model[1].weight, gamma)
    unfreeze_batchnorm(model)
    assert model[1].weight.requires_grad
    with pytest.warns(UserWarning, match="no batch-norm"):
        assert freeze_batchnorm(nn.Linear(2, 2)) == 0


def test_frozen_batchnorm_survives_resume_bit_identically(tmp_path):
    def freeze_at_1(epoch, model, history):
        if epoch == 1:
            freeze_batchnorm(model)

    seed_everything(0)
    straight = _resumable_run(tmp_path, "a.pt", 4, init_seed=1, loader_seed=0, bn=True,
                              callback=freeze_at_1)
    seed_everything(0)
    _resumable_run(tmp_path, "b.pt", 2, init_seed=1, loader_seed=0, bn=True,
                   callback=freeze_at_1)
    seed_everything(5)
    resumed = _resumable_run(tmp_path, "b.pt", 4, init_seed=2, loader_seed=3, bn=True,
                             callback=freeze_at_1)
    assert frozen_batchnorm_layers(resumed[0]) == {"1": False}
    assert_nested_equal(resumed[0].state_dict(), straight[0].state_dict(), "model")


# -- progress and predict --------------------------------------------------------------------
def test_progress_bars_can_be_shown_or_silenced(capsys, monkeypatch):
    x, y = regression_data(64)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    bars, real = [], training.loop._progress

    def spy(*args, **kwargs):
        bars.append(real(*args, **kwargs))
        return bars[-1]

    monkeypatch.setattr(training.loop, "_progress", spy)
    fit(model, loader(x, y), nn.MSELoss(), opt, epochs=2, progress=True)
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert "training" in err and "epoch 1/2" in err
    assert [bar.desc for bar in bars] == ["training", "epoch 1/2", "epoch 2/2"]
    assert "train=" in bars[0].postfix
    assert all("loss=" in bar.postfix for bar in bars[1:])
    fit(model, loader(x, y), nn.MSELoss(), opt, epochs=2, progress=False)
    predict(model, x, progress=False)
    assert capsys.readouterr().err == ""


def test_predict_shapes_dtypes_and_modes():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    model.train()
    x = np.random.default_rng(0).normal(size=(10, 4))  # float64
    out = predict(model, x, batch_size=3, progress=False)
    assert isinstance(out, np.ndarray)
    assert out.shape == (10, 2) and out.dtype == np.float32
    assert model.training  # mode restored
    model.eval()
    expected = model(torch.as_tensor(x, dtype=torch.float32)).detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)  # dropout was off
    np.testing.assert_allclose(predict(model, torch.as_tensor(x), progress=False), expected,
                               rtol=1e-6, atol=1e-6)
    big_endian = x.astype(">f8")[::-1]  # FITS byte order and a negative stride
    np.testing.assert_allclose(predict(model, big_endian, batch_size=4, progress=False),
                               expected[::-1], rtol=1e-6, atol=1e-6)

    heads = predict(TwoHeads(), x, batch_size=4, progress=False)
    assert isinstance(heads, tuple) and [h.shape for h in heads] == [(10, 1), (10, 1)]

    images = predict(conv_bn_net(), np.zeros((5, 1, 12, 12), np.float32), batch_size=2,
                     device="cpu", progress=False)
    assert images.shape == (5, 1, 12, 12)

    with pytest.raises(ValueError, match="batch_size"):
        predict(model, x, batch_size=0)
    with pytest.raises(ValueError, match="at least one sample"):
        predict(model, np.empty((0, 4)))
    with pytest.raises(ValueError, match="at least one sample"):
        predict(model, np.float64(1.0))


def test_update_average_moves_parameters_and_copies_buffers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    average = copy.deepcopy(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        model[1].running_mean.fill_(5.0)
    before = [p.clone() for p in average.parameters()]
    update_average(average, model, decay=0.9)
    for p0, p_avg in zip(before, average.parameters(), strict=True):
        assert torch.allclose(p_avg, p0 + 0.1)  # 10% of the way to model's (p0 + 1)
        assert not p_avg.requires_grad or p_avg.grad is None
    assert torch.all(average[1].running_mean == 5.0)
    update_average(average, model, decay=0.0)
    for p_avg, p in zip(average.parameters(), model.parameters(), strict=True):
        assert torch.equal(p_avg, p)
    with pytest.raises(ValueError, match="decay"):
        update_average(average, model, decay=1.0)
