"""The shared adversarial loop: update counts, averaging, exact resumes, bad schedules."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cosmicbook.core.training import (
    AdversarialSchedule,
    AdversarialSteps,
    Checkpoint,
    OptimizerPair,
    gradient_penalty,
    train_adversarial,
    update_average,
)


class _Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.generator = nn.Linear(2, 1)
        self.discriminator = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 1))


class _ToySteps(AdversarialSteps):
    """A 1-D WGAN-GP learning N(3, 0.5); counts its calls, records every generator state."""

    def __init__(self, seed: int = 0, fail_in_round: int | None = None):
        torch.manual_seed(seed)
        self.model = _Pair()
        self.optimizers = OptimizerPair(
            torch.optim.Adam(self.model.generator.parameters(), lr=1e-2),
            torch.optim.Adam(self.model.discriminator.parameters(), lr=1e-2))
        self.rng = torch.Generator().manual_seed(seed + 1)
        self.generators = [self.rng]
        self.fail_in_round = fail_in_round
        self.calls = {"begin": [], "critic": 0, "generator": 0, "end": []}
        self.states: list[dict] = []
        self.shown = []

    def _real(self):
        return 3.0 + 0.5 * torch.randn(16, 1, generator=self.rng)

    def _fake(self):
        return self.model.generator(torch.randn(16, 2, generator=self.rng))

    def begin_round(self, round):
        self.calls["begin"].append(round)
        self.loss_sum = 0.0

    def critic_step(self):
        self.calls["critic"] += 1
        d = self.model.discriminator
        real, fake = self._real(), self._fake().detach()
        loss = d(fake).mean() - d(real).mean() + gradient_penalty(d, real, fake, self.rng)
        self.optimizers.discriminator.zero_grad()
        loss.backward()
        self.optimizers.discriminator.step()

    def generator_step(self):
        self.calls["generator"] += 1
        loss = -self.model.discriminator(self._fake()).mean()
        self.optimizers.generator.zero_grad()
        loss.backward()
        self.optimizers.generator.step()
        self.loss_sum += float(loss.detach())
        self.states.append({k: v.clone() for k, v in self.model.generator.state_dict().items()})

    def end_round(self, round, shown):
        if round == self.fail_in_round:
            raise KeyboardInterrupt("interrupted")
        self.calls["end"].append(round)
        self.shown.append(shown)
        with torch.no_grad():
            mean = shown(torch.randn(256, 2, generator=torch.Generator().manual_seed(0))).mean()
        return {"train_loss": self.loss_sum, "lr": 1e-2, "g_mean": float(mean)}


def _run(schedule, checkpoint=None, *, seed=0, fail_in_round=None, meta=None):
    steps = _ToySteps(seed, fail_in_round)
    hist = train_adversarial(steps, schedule, steps.optimizers, checkpoint=checkpoint,
                             meta=meta, progress=False)
    return steps, hist


def _equal_states(a: nn.Module, b: nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in
               zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_update_counts_and_history():
    schedule = AdversarialSchedule(rounds=3, steps_per_round=4, n_critic=2, pretrain_steps=5)
    steps, hist = _run(schedule)
    assert steps.calls["critic"] == 5 + 3 * 4 * 2 and steps.calls["generator"] == 3 * 4
    assert steps.calls["begin"] == [1, 2, 3] and steps.calls["end"] == [1, 2, 3]
    assert hist["epoch"] == [1, 2, 3] and hist["lr"] == [1e-2] * 3
    assert len(hist["g_mean"]) == 3 and all(math.isnan(v) for v in hist["val_loss"])
    assert all(s is steps.model.generator for s in steps.shown)  # no averaging
    assert steps.model.training


def test_moving_average_of_the_generator():
    decay = 0.75
    steps, _ = _run(AdversarialSchedule(rounds=2, steps_per_round=3, ema_decay=decay))
    assert all(s is not steps.model.generator for s in steps.shown)
    torch.manual_seed(0)
    expected = _Pair().generator  # the initial weights, then one update per generator step
    for state in steps.states:
        step = nn.Linear(2, 1)
        step.load_state_dict(state)
        update_average(expected, step, decay)
    assert _equal_states(steps.model.generator, expected)  # ends with the averaged weights
    assert not torch.equal(steps.model.generator.weight, steps.states[-1]["weight"])


@pytest.mark.parametrize("ema", [0.0, 0.5])
def test_interrupted_run_resumes_bit_identically(tmp_path, ema):
    schedule = AdversarialSchedule(rounds=4, steps_per_round=3, n_critic=2, pretrain_steps=2,
                                   ema_decay=ema)
    straight, hist = _run(schedule)
    ckpt = Checkpoint(tmp_path / "adv.ckpt")
    with pytest.raises(KeyboardInterrupt):
        _run(schedule, ckpt, fail_in_round=3)  # killed after round 2 was saved
    resumed, h_res = _run(schedule, ckpt)
    assert resumed.calls["begin"] == [3, 4] and resumed.calls["critic"] == 2 * 3 * 2
    for key in ("train_loss", "g_mean", "epoch"):
        assert h_res[key] == hist[key], key
    assert _equal_states(resumed.model, straight.model)
    # a complete checkpoint is only loaded; a longer schedule extends it
    again, h_again = _run(schedule, ckpt)
    assert again.calls["critic"] == 0 and h_again["train_loss"] == hist["train_loss"]
    assert _equal_states(again.model, straight.model)
    longer = AdversarialSchedule(rounds=5, steps_per_round=3, n_critic=2, pretrain_steps=2,
                                 ema_decay=ema)
    _, h_long = _run(longer, ckpt)
    assert h_long["train_loss"][:4] == hist["train_loss"] and len(h_long) == 5


def test_checkpoint_with_other_settings_is_refused(tmp_path):
    schedule = AdversarialSchedule(rounds=1, steps_per_round=1)
    ckpt = Checkpoint(tmp_path / "adv.ckpt")
    _run(schedule, ckpt, meta={"lr": 1e-2})
    with pytest.raises(ValueError, match="other settings"):
        _run(schedule, ckpt, meta={"lr": 1e-3})
    steps = _ToySteps()
    hist = train_adversarial(steps, schedule, steps.optimizers, checkpoint=ckpt,
                             meta={"lr": 1e-3}, resume=False, progress=False)
    assert len(hist) == 1 and steps.calls["generator"] == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(rounds=0), "rounds"),
    (dict(rounds=2.0), "rounds"),
    (dict(steps_per_round=-1), "steps_per_round"),
    (dict(n_critic=0), "n_critic"),
    (dict(n_critic=True), "n_critic"),
    (dict(pretrain_steps=-1), "pretrain_steps"),
    (dict(ema_decay=1.0), "ema_decay"),
    (dict(ema_decay=-0.1), "ema_decay"),
])
def test_bad_schedules_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdversarialSchedule(**{"rounds": 1, "steps_per_round": 1, **kwargs})


def test_gradient_penalty_of_a_linear_critic():
    w = torch.tensor([[3.0, 4.0]])
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(w)
    real, fake = torch.randn(5, 2), torch.randn(5, 2)
    gp = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(0))
    assert gp.item() == pytest.approx((5.0 - 1.0) ** 2)  # the gradient is w everywhere
    gp.backward()
    assert critic.weight.grad is not None
    with pytest.raises(ValueError, match="shape"):
        gradient_penalty(critic, real, fake[:3])


def test_optimizer_pair_round_trip_and_bad_state():
    steps = _ToySteps()
    state = steps.optimizers.state_dict()
    assert set(state) == {"generator", "discriminator"}
    steps.optimizers.load_state_dict(state)
    with pytest.raises(ValueError, match="OptimizerPair"):
        steps.optimizers.load_state_dict({"generator": state["generator"]})


class _DtypeSteps(_ToySteps):
    """Records the dtype of the generator's output in every update."""

    def __init__(self):
        super().__init__()
        self.dtypes = set()

    def _fake(self):
        out = super()._fake()
        self.dtypes.add(out.dtype)
        return out


@pytest.mark.parametrize("precision, dtype", [("auto", torch.float32),
                                              ("float32", torch.float32),
                                              ("bfloat16", torch.bfloat16)])
def test_precision_reaches_the_updates(precision, dtype):
    steps = _DtypeSteps()
    schedule = AdversarialSchedule(rounds=1, steps_per_round=2, precision=precision)
    history = train_adversarial(steps, schedule, steps.optimizers, progress=False)
    assert steps.dtypes == {dtype}  # "auto" is float32 on the CPU
    assert steps.model.generator.weight.dtype == torch.float32
    assert math.isfinite(history["train_loss"][-1])


def test_precision_and_compile_are_validated():
    with pytest.raises(ValueError, match="precision must be one of"):
        AdversarialSchedule(rounds=1, steps_per_round=1, precision="half")
    with pytest.raises(ValueError, match="compile must be True or False"):
        AdversarialSchedule(rounds=1, steps_per_round=1, compile=1)
