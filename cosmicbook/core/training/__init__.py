"""One training loop for the whole book: :func:`fit`, with checkpoints that resume exactly.

Every chapter that trains a "plain" supervised model (cosmic-ray masks with a UNet, 1D CNNs on
traces, denoising autoencoders...) calls :func:`fit`. The adversarial trainings (the CRAB GANs,
the CRAYFIS TAN) call :func:`train_adversarial` instead: a chapter describes one critic and one
generator update as an :class:`AdversarialSteps` subclass, an :class:`AdversarialSchedule` says
how many of each, and the loop does the rest -- checkpoints in an :class:`OptimizerPair`-aware
format that resume exactly, the moving average of the generator's weights
(:func:`update_average`), one :class:`History` row per round; :func:`gradient_penalty` is the
WGAN-GP term.

The knobs most calls of :func:`fit` leave at their defaults (a custom ``step_fn``, ``metrics``,
an ``epoch_callback``, ``grad_clip``, a per-epoch ``seed``, ``precision``, ``compile``) travel
in one frozen :class:`FitOptions`: ``fit(..., options=FitOptions(grad_clip=1.0, seed=0))``.

The chapters' small frozen training configs (``CleanerConfig``, ``MaskNetConfig``...) subclass
:class:`FitConfig`, which holds and checks the ``epochs``, ``batch_size`` and ``lr`` they share.

What :func:`fit` does, per epoch::

    model.train()
    for batch in train_loader:            # (inputs, targets) or (inputs, targets, weights)
        loss = loss_fn(model(inputs), targets[, weights])   # or step_fn(model, batch, device)
        loss.backward(); clip gradients (optional); optimizer.step()
    model.eval(); with torch.no_grad(): validation loss, metrics
    scheduler.step()                      # once per epoch
    history.append(...); epoch_callback(...)  # may stop early or freeze batch-norm
    checkpoint.save(...)                  # model, optimizer, scheduler, history, RNG states

Reproducibility
---------------
A run interrupted at any epoch and restarted with the same call continues from its last
checkpoint and ends with weights *bit-identical* to an uninterrupted run (on the CPU; GPU
kernels are only deterministic with ``seed_everything(..., deterministic=True)``). This works
because the checkpoint holds, besides model and optimizer, the scheduler state, the history,
the python/numpy/torch/CUDA random states and the state of the ``torch.Generator`` of the
training ``DataLoader`` (``DataLoader(..., shuffle=True, generator=g)``), which decides the
shuffling order. Optionally ``fit(..., options=FitOptions(seed=s))`` re-seeds that generator
and torch's global RNG with ``s + epoch`` at the start of every epoch, so that each epoch's
shuffling and dropout depend only on ``(s, epoch)`` and not on how many random numbers were
drawn before.

Checkpoints are pickles (``torch.load(weights_only=False)``): only load files you trust.

Examples
--------
>>> import torch
>>> from torch.utils.data import DataLoader, TensorDataset
>>> from cosmicbook.core.device import seed_everything
>>> from cosmicbook.core.training import fit, predict
>>> rng = seed_everything(0)
>>> x = torch.randn(256, 3); y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
>>> loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True,
...                     generator=torch.Generator().manual_seed(0))
>>> model = torch.nn.Linear(3, 1)
>>> opt = torch.optim.Adam(model.parameters(), lr=0.05)
>>> history = fit(model, loader, torch.nn.MSELoss(), opt, epochs=20, progress=False)
>>> history["train_loss"][-1] < 1e-2
True
>>> predict(model, x.numpy(), progress=False).shape
(256, 1)
"""

from .adversarial import (
    AdversarialSchedule,
    AdversarialSteps,
    OptimizerPair,
    gradient_penalty,
    train_adversarial,
)
from .averaging import update_average
from .batchnorm import freeze_batchnorm, frozen_batchnorm_layers, unfreeze_batchnorm
from .checkpoint import Checkpoint, checkpoint_name
from .config import FitConfig
from .history import History
from .loop import evaluate, fit, predict
from .options import FitOptions

__all__ = [
    "AdversarialSchedule",
    "AdversarialSteps",
    "Checkpoint",
    "checkpoint_name",
    "History",
    "evaluate",
    "fit",
    "FitConfig",
    "FitOptions",
    "freeze_batchnorm",
    "frozen_batchnorm_layers",
    "gradient_penalty",
    "OptimizerPair",
    "predict",
    "train_adversarial",
    "unfreeze_batchnorm",
    "update_average",
]
