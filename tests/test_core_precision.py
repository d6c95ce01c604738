"""Precision and compilation knobs of the training loop."""

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from cosmicbook.core.training import FitOptions, fit
from cosmicbook.core.training.precision import autocast, maybe_compile, resolve_precision


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(128, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    torch.manual_seed(seed)
    model = torch.nn.Linear(3, 1)
    return model, loader, torch.optim.Adam(model.parameters(), lr=0.05)


def test_resolve_precision():
    cpu = torch.device("cpu")
    assert resolve_precision("auto", cpu) == "float32"
    assert resolve_precision("bfloat16", cpu) == "bfloat16"
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", cpu)
    with pytest.raises(ValueError, match="compile must be True or False"):
        maybe_compile(torch.nn.Linear(1, 1), "yes")
    model = torch.nn.Linear(1, 1)
    assert maybe_compile(model, False) is model


def test_auto_on_cpu_is_float32_bit_for_bit():
    runs = []
    for precision in ("auto", "float32"):
        model, loader, opt = _problem()
        fit(model, loader, torch.nn.MSELoss(), opt, epochs=3, device="cpu", progress=False,
            options=FitOptions(precision=precision))
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])


def test_bfloat16_autocast_reaches_the_forward_pass():
    model, loader, opt = _problem()
    seen = []

    def step(m, batch, device):
        out = m(batch[0])
        seen.append(out.dtype)
        return torch.nn.functional.mse_loss(out.float(), batch[1])

    history = fit(model, loader, None, opt, epochs=15, device="cpu", progress=False,
                  val_loader=loader, options=FitOptions(step_fn=step, precision="bfloat16"))
    assert set(seen) == {torch.bfloat16}
    assert model.weight.dtype == torch.float32  # weights stay float32
    assert history["train_loss"][-1] < 0.05 * history["train_loss"][0]
    with autocast("float32", torch.device("cpu")):
        assert model(torch.ones(1, 3)).dtype == torch.float32
