"""The adversarial training loop shared by the book's GANs (CRAB) and the TAN (CRAYFIS).

A chapter describes *one* critic update and *one* generator update as methods of an
:class:`AdversarialSteps` object; :func:`train_adversarial` runs them in the usual order and
does the bookkeeping every adversarial training needs::

    resume from the checkpoint (weights, both optimizers, RNG states, averaged generator)
    pretrain_steps x critic_step()                       # fresh runs only
    for each round:
        begin_round(round)
        steps_per_round x [n_critic x critic_step(); generator_step(); update the average]
        row = end_round(round, shown)                    # losses, monitors (diagnostics)
        history.append(row); checkpoint.save(...)

``shown`` is the generator whose diagnostics the round reports: the exponential moving
average of the generator's weights when ``ema_decay > 0`` (Polyak averaging; Yazici et al.
2019), the generator itself otherwise. At the end the generator is given the averaged weights.

A run interrupted after any round and started again with the same call continues from its
checkpoint and ends bit-identical to an uninterrupted one (on the CPU), provided the steps
draw their random numbers only from the ``torch.Generator`` objects they list in
``generators`` (or re-seed them per round in :meth:`AdversarialSteps.begin_round`).
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cosmicbook.core.checks import nonnegative_int, positive_int
from cosmicbook.core.progress import progress as _progress

from .averaging import update_average
from .checkpoint import Checkpoint
from .history import History
from .precision import PRECISIONS, autocast

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["AdversarialSchedule", "AdversarialSteps", "OptimizerPair", "gradient_penalty",
           "train_adversarial"]


class OptimizerPair:
    """The generator's and the discriminator's optimizers, saved and loaded as one.

    Parameters
    ----------
    generator, discriminator : torch.optim.Optimizer
    """

    def __init__(self, generator: torch.optim.Optimizer, discriminator: torch.optim.Optimizer):
        self.generator = generator
        self.discriminator = discriminator

    def state_dict(self) -> dict:
        return {"generator": self.generator.state_dict(),
                "discriminator": self.discriminator.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if not isinstance(state, dict) or set(state) != {"generator", "discriminator"}:
            raise ValueError("not an OptimizerPair state")
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])


@dataclass(frozen=True)
class AdversarialSchedule:
    """How many updates of which network :func:`train_adversarial` makes.

    Parameters
    ----------
    rounds : int
        History rows (and checkpoints): one round is ``steps_per_round`` generator updates.
    steps_per_round : int
        Generator updates per round.
    n_critic : int
        Critic (discriminator) updates before each generator update (5 for WGAN-GP in
        Gulrajani et al. 2017).
    pretrain_steps : int
        Critic-only updates before the first round of a fresh run (the CRAB seed's step 1).
    ema_decay : float
        Decay in [0, 1) of the moving average of the generator's weights (0: none).
    precision : {"auto", "float32", "bfloat16"}
        Every update in bfloat16 autocast or in float32; ``"auto"`` is bfloat16 on a CUDA
        device that supports it and float32 on the CPU
        (:mod:`cosmicbook.core.training.precision`). The per-round diagnostics run in float32.
    compile : bool
        Compile both networks' forward passes in place (:meth:`torch.nn.Module.compile`;
        opt-in, for long GPU runs; the state dicts and checkpoints are unchanged).
    """

    rounds: int
    steps_per_round: int
    n_critic: int = 1
    pretrain_steps: int = 0
    ema_decay: float = 0.0
    precision: str = "auto"
    compile: bool = False

    def __post_init__(self):
        positive_int(self.rounds, "rounds")
        positive_int(self.steps_per_round, "steps_per_round")
        positive_int(self.n_critic, "n_critic")
        nonnegative_int(self.pretrain_steps, "pretrain_steps")
        if not isinstance(self.ema_decay, numbers.Real) or not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {self.ema_decay!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not isinstance(self.compile, bool):
            raise ValueError(f"compile must be True or False, got {self.compile!r}")


class AdversarialSteps:
    """Base class of the per-update steps of an adversarial training.

    Subclasses set ``model`` (an ``nn.Module`` with ``generator`` and ``discriminator``
    attributes: what is checkpointed) and implement :meth:`critic_step`,
    :meth:`generator_step` and :meth:`end_round`; they accumulate whatever they want to
    report per round themselves. The steps of one iteration may share state: with
    ``n_critic=1`` a critic step can leave its generated batch to the generator step that
    follows it (the CRAYFIS TAN updates both networks on one transformed batch).

    Attributes
    ----------
    model : torch.nn.Module
        Holds ``generator`` and ``discriminator``.
    generators : list of torch.Generator
        The random generators the steps draw from, saved in checkpoints.
    """

    model: nn.Module
    generators: Sequence[torch.Generator] = ()

    def begin_round(self, round: int) -> None:
        """Called before the first update of each round (1-based); resets the sums."""

    def critic_step(self) -> None:  # pragma: no cover - abstract
        """One update of the discriminator."""
        raise NotImplementedError

    def generator_step(self) -> None:  # pragma: no cover - abstract
        """One update of the generator."""
        raise NotImplementedError

    def end_round(self, round: int, shown: nn.Module) -> dict[str, Any]:  # pragma: no cover
        """The round's history row: ``train_loss`` (required), optionally ``val_loss`` and
        ``lr``, and any further named values. ``shown`` is the generator to evaluate
        (the averaged one when there is one); the method must leave the networks in
        training mode."""
        raise NotImplementedError


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, generator: torch.Generator | None = None
                     ) -> torch.Tensor:
    """The WGAN-GP penalty :math:`E[(\\lVert\\nabla_{\\hat x} D(\\hat x)\\rVert_2 - 1)^2]`.

    :math:`\\hat x = \\epsilon x + (1 - \\epsilon)\\tilde x` with one uniform
    :math:`\\epsilon` per sample between a real and a generated sample (Gulrajani et al. 2017).

    Parameters
    ----------
    critic : callable
        ``critic(x)`` -> one score per sample (bind any condition beforehand).
    real, fake : torch.Tensor
        Batches of the same shape ``(N, ...)``.
    generator : torch.Generator, optional
        Draws the :math:`\\epsilon` (on the CPU; moved to the batch's device).

    Returns
    -------
    torch.Tensor
        A scalar, differentiable with respect to the critic's parameters.
    """
    import torch

    if real.shape != fake.shape:
        raise ValueError(f"real and fake batches differ in shape: {tuple(real.shape)} and "
                         f"{tuple(fake.shape)}")
    shape = (len(real),) + (1,) * (real.ndim - 1)
    eps = torch.rand(shape, generator=generator).to(real.device)
    mix = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    out = critic(mix)
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


def train_adversarial(steps: AdversarialSteps, schedule: AdversarialSchedule,
                      optimizers: OptimizerPair, *, checkpoint: Checkpoint | None = None,
                      meta: dict | None = None, resume: bool = True,
                      progress: bool | None = None, desc: str = "training") -> History:
    """Run an adversarial training (see the module docstring for the order of the updates).

    Parameters
    ----------
    steps : AdversarialSteps
        The chapter's updates and per-round record.
    schedule : AdversarialSchedule
    optimizers : OptimizerPair
        Saved and restored with the checkpoint.
    checkpoint : Checkpoint, optional
        Written after every round; with ``resume`` an existing one is continued (or returned
        at once when complete), so a run can be extended by raising ``schedule.rounds``.
    meta : dict, optional
        Settings the checkpoint must have been written with (JSON-like); a checkpoint with
        other settings is an error rather than a silent mix of two runs.
    progress : bool or None
        A progress bar over rounds; ``None`` follows ``COSMICBOOK_PROGRESS``.
    desc : str
        The progress bar's label.

    Returns
    -------
    History
        One row per round (``seconds`` measured here, the rest from
        :meth:`AdversarialSteps.end_round`). The generator of ``steps.model`` ends with the
        averaged weights when ``schedule.ema_decay > 0``.

    Raises
    ------
    ValueError
        For a checkpoint written with other settings.
    """
    model = steps.model
    generator = model.generator
    meta = {} if meta is None else dict(meta)
    history, done, saved_average = History(), 0, None
    if checkpoint is not None and resume and checkpoint.exists():
        extra = checkpoint.read().get("extra") or {}
        if extra.get("meta") != meta:
            raise ValueError(f"checkpoint {checkpoint.path} was written with other settings "
                             f"({extra.get('meta')}); delete it or pass resume=False")
        state = checkpoint.load(model, optimizers, generators=list(steps.generators))
        history, done = state["history"], int(state["epoch"])
        saved_average = extra.get("average")
    average = None
    if schedule.ema_decay > 0:
        average = copy.deepcopy(generator).requires_grad_(False)
        if saved_average is not None:
            average.load_state_dict(saved_average)
    shown = generator if average is None else average
    device = next(iter(model.parameters())).device
    cast = autocast(schedule.precision, device)  # updates, forward and backward alike
    if schedule.compile:  # in place, after the average's copy: state dicts keep their keys
        model.generator.compile()
        model.discriminator.compile()

    model.train()
    if done == 0 and not len(history):
        for _ in range(schedule.pretrain_steps):
            with cast:
                steps.critic_step()
    bar = _progress(total=schedule.rounds, initial=min(done, schedule.rounds), desc=desc,
                    unit="round", enabled=progress)
    try:
        for r in range(done + 1, schedule.rounds + 1):
            t0 = time.perf_counter()
            model.train()
            steps.begin_round(r)
            for _ in range(schedule.steps_per_round):
                with cast:
                    for _ in range(schedule.n_critic):
                        steps.critic_step()
                    steps.generator_step()
                if average is not None:
                    update_average(average, generator, schedule.ema_decay)
            row = dict(steps.end_round(r, shown))
            train_loss = row.pop("train_loss")
            val_loss = row.pop("val_loss", None)
            lr = row.pop("lr", None)
            history.append(r, train_loss, val_loss, lr=lr, seconds=time.perf_counter() - t0,
                           **row)
            if checkpoint is not None:
                checkpoint.save(model, optimizers, epoch=r, history=history,
                                generators=list(steps.generators),
                                extra={"meta": meta, "average": None if average is None
                                       else average.state_dict()})
            post = {"g": train_loss, "d": row.get("d_loss", math.nan)}
            bar.set_postfix({k: f"{v:.3g}" for k, v in post.items()}, refresh=False)
            bar.update(1)
    finally:
        bar.close()
    if average is not None:
        generator.load_state_dict(average.state_dict())
    return history
