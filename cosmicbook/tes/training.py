"""Training the CRAB GAN: the seed's scheme with two losses and two optimizer pairings.

The seed deck's scheme (Cavallotto & Della Torre 2024):

1. pre-train the discriminator for a limited number of steps (real MC vs the untrained
   generator), so that the joint training starts from a discriminator that already knows
   what real TOD looks like;
2. build the GAN with it and train generator and discriminator alternately;
3. (optionally) extra discriminator steps per generator step (``n_critic``);
4. generate.

Losses (:data:`LOSSES`):

``"bce"``
    binary cross-entropy on logits (Goodfellow et al. 2014) with the seed's *label
    smoothing* (real targets ``1 - label_smoothing`` for the discriminator, and the same
    target for the generator's loss) and *synthetic weighting* (the discriminator's loss on
    generated segments is multiplied by ``synthetic_weight`` = 0.5, "to keep the discriminator
    focused on real TODs").
``"wgan-gp"``
    the Wasserstein loss with a gradient penalty (Gulrajani et al. 2017): critic loss
    :math:`E[D(\\tilde x)] - E[D(x)] + \\lambda E[(\\lVert\\nabla D(\\hat x)\\rVert - 1)^2]`,
    generator loss :math:`-E[D(\\tilde x)]`. The seed found the plain weight-clipped WGAN
    unstable; the penalty is the standard cure.

Statistic-matching losses (not in the seed): with ``stat_weights`` the generator's loss also
gets weighted terms of :func:`stat_losses` (:mod:`cosmicbook.tes.losses`: log band power,
bolometer correlation, marginal values, the tail of the local extremes and the soft glitch
counts above amplitude thresholds), each comparing the generated batch with the real batch
whose conditions it was given. ``ema`` returns a moving average of the generator's weights.

Optimizers: Adam for the generator; the discriminator gets SGD (the seed's choice) or Adam
(the alternative) via ``d_optimizer``.

The knobs named here are fields of :class:`GANConfig`, except ``scale``, which belongs to the
architecture (:class:`~cosmicbook.tes.model.CRABConfig`, built by
:func:`~cosmicbook.tes.model.build_crab`). :func:`train_gan` runs on the book's shared
adversarial loop, :func:`cosmicbook.core.training.train_adversarial`.

Representation: glitch amplitudes follow power laws over two decades, which a network with
batch normalisation and a discriminator with layer normalisation see as a few enormous
outliers. Both networks therefore work on the compressed TOD :math:`y = \\mathrm{asinh}(x/s)`
(``scale`` s = 3 sigma: linear for the noise, logarithmic for glitches), and
:meth:`CRAB.generate` returns :math:`x = s \\sinh(y)` in the simulator's sigma units.

Diagnostics logged every ``log_every`` iterations into a
:class:`~cosmicbook.core.training.History` (one "epoch" = one round of ``log_every``
iterations) on a fixed validation batch of MC and a fixed latent batch: the losses, the
discriminator's mean outputs, the **diversity ratio** (mean pairwise distance of generated
segments over that of MC segments: a collapsing generator drops towards 0), the largest
deviation of the PSD ratio from 1 in any frequency decade (``psd_dev``, as :math:`|\\ln r|`)
and of the correlation matrix (``corr_dev``). Training is checkpointed after every round with
:class:`~cosmicbook.core.training.Checkpoint` and resumes exactly on the CPU.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from cosmicbook.core.checks import nonnegative_int, positive_int
from cosmicbook.core.device import get_device
from cosmicbook.core.training import (
    AdversarialSchedule,
    AdversarialSteps,
    Checkpoint,
    History,
    OptimizerPair,
    gradient_penalty,
    train_adversarial,
)
from cosmicbook.tes.losses import (
    correlation_loss,
    glitch_count_loss,
    peak_loss,
    psd_loss,
    quantile_loss,
)
from cosmicbook.tes.metrics import (
    check_tod,
    correlation_matrix,
    pairwise_diversity,
    psd_ratio_by_decade,
    welch_psd,
)
from cosmicbook.tes.model import CRAB, compress, expand

__all__ = ["LOSSES", "OPTIMIZERS", "STAT_LOSSES", "GANConfig", "stat_losses", "train_gan"]

#: Loss functions :func:`train_gan` knows.
LOSSES: tuple[str, ...] = ("bce", "wgan-gp")
#: Discriminator optimizers :func:`train_gan` knows.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
#: Statistic-matching generator losses (:mod:`cosmicbook.tes.losses`) :func:`train_gan` knows:
#: ``"glitch"`` on the TOD in sigma units, the others on the compressed TOD.
STAT_LOSSES: tuple[str, ...] = ("psd", "correlation", "quantile", "peak", "glitch")


def _d_loss(loss: str, d_real, d_fake, smoothing: float, synthetic_weight: float):
    if loss == "bce":
        real = F.binary_cross_entropy_with_logits(d_real, torch.full_like(d_real,
                                                                          1.0 - smoothing))
        fake = F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
        return real + synthetic_weight * fake
    return d_fake.mean() - d_real.mean()


def _g_loss(loss: str, d_fake, smoothing: float):
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(d_fake, torch.full_like(d_fake,
                                                                          1.0 - smoothing))
    return -d_fake.mean()


def stat_losses(fake_c: torch.Tensor, real_c: torch.Tensor, cond: torch.Tensor | None = None,
                *, scale: float = 3.0, groups: int = 1,
                names: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
    """The statistic-matching losses of a generated against a real batch (compressed TOD).

    Parameters
    ----------
    fake_c, real_c : torch.Tensor, shape (N, C, L)
        Generated and real segments in the compressed representation asinh(x / scale), with
        the same conditions segment by segment.
    cond : torch.Tensor, shape (N,) or (N, n_cond), optional
        The conditions; with ``groups > 1`` the batch is sorted by the first condition and
        split into ``groups`` equal parts, and the marginal losses (``"quantile"``,
        ``"peak"``, ``"glitch"``) are averaged over the parts, so that they compare low-flux
        with low-flux and high-flux with high-flux segments.
    scale : float
        ``s`` of the compression; ``"glitch"`` is computed on ``s sinh(y)`` (sigma units),
        the others on the compressed TOD -- also ``"psd"``: in sigma units the power of a
        batch is dominated by its few brightest glitches, and matching the log of that
        heavy-tailed quantity rewards a generator with fewer bright and more medium glitches.
    groups : int
        See ``cond``.
    names : tuple of str, optional
        The losses to compute (default: all of :data:`STAT_LOSSES`).

    Returns
    -------
    dict
        One scalar tensor per name of ``names``.
    """
    names = STAT_LOSSES if names is None else tuple(names)
    unknown = set(names) - set(STAT_LOSSES)
    if unknown:
        raise ValueError(f"unknown statistic losses {sorted(unknown)}; known: {STAT_LOSSES}")
    if cond is not None and groups > 1:
        order = torch.argsort(cond.reshape(len(cond), -1)[:, 0], stable=True)
        parts = [(fake_c[i], real_c[i]) for i in torch.tensor_split(order, groups)]
    else:
        parts = [(fake_c, real_c)]
    funcs = {
        "psd": lambda: psd_loss(fake_c, real_c),
        "correlation": lambda: correlation_loss(fake_c, real_c),
        "quantile": lambda: sum(quantile_loss(f, r) for f, r in parts) / len(parts),
        "peak": lambda: sum(peak_loss(f, r) for f, r in parts) / len(parts),
        "glitch": lambda: sum(glitch_count_loss(expand(f, scale), expand(r, scale))
                              for f, r in parts) / len(parts),
    }
    return {name: funcs[name]() for name in names}


class _Monitor:
    """Fixed validation MC and fixed latent vectors for the per-round diagnostics."""

    def __init__(self, model: CRAB, real: np.ndarray, flux: np.ndarray | None, seed: int):
        self.real = real                                   # sigma units
        self.real_c = compress(real, model.scale).astype(np.float32)
        self.cond = model.condition(flux, len(real))
        self.seed = seed
        self.freq, self.psd = welch_psd(real, sample_rate=model.sample_rate)
        self.corr = correlation_matrix(real)
        self.div = pairwise_diversity(self.real_c)

    def __call__(self, model: CRAB, loss: str, smoothing: float, synthetic_weight: float,
                 device) -> dict[str, float]:
        flux = None if self.cond is None else np.exp(self.cond.numpy().ravel())
        fake_c = model.generate(len(self.real), flux, seed=self.seed, compressed=True)
        disc = model.discriminator
        with torch.no_grad():
            c = None if self.cond is None else self.cond.to(device)
            d_real = disc(torch.from_numpy(self.real_c).to(device), c)
            d_fake = disc(torch.from_numpy(fake_c).to(device), c)
            val = float(_d_loss(loss, d_real, d_fake, smoothing, synthetic_weight))
        out = {"val_loss": val}
        fake = expand(fake_c.astype(np.float64), model.scale)
        if not np.all(np.isfinite(fake)):
            out.update(psd_dev=math.inf, corr_dev=math.inf, diversity=math.nan)
            return out
        _, psd = welch_psd(fake, sample_rate=model.sample_rate)
        table = psd_ratio_by_decade(self.freq, psd, self.psd)
        ratios = np.concatenate([np.atleast_1d(r) for r in table["ratio"]])
        out["psd_dev"] = float(np.max(np.abs(np.log(np.maximum(ratios, 1e-30)))))
        out["corr_dev"] = float(np.max(np.abs(correlation_matrix(fake) - self.corr)))
        out["diversity"] = pairwise_diversity(fake_c) / self.div
        return out


@dataclass(frozen=True)
class GANConfig:
    """How a CRAB GAN is trained (:func:`train_gan`); the architecture is
    :class:`~cosmicbook.tes.model.CRABConfig`.

    Parameters
    ----------
    loss : {"bce", "wgan-gp"}
    d_optimizer : {"sgd", "adam"}
        The discriminator's optimizer (the generator always uses Adam, betas 0.5, 0.999).
    iterations : int
        Generator updates (after pre-training); a multiple of ``log_every``.
    pretrain_steps : int
        Discriminator-only updates before the joint training (0 to skip).
    batch_size : int
        Real (and generated) segments per update.
    lr_g, lr_d : float
        Learning rates; ``lr_d=None`` takes 0.02 for SGD and 2e-4 for Adam (betas 0.5, 0.9).
    n_critic : int
        Discriminator updates per generator update.
    gp_weight : float
        lambda of the gradient penalty (``"wgan-gp"``).
    label_smoothing, synthetic_weight : float
        The seed's BCE tricks (``"bce"``).
    stat_weights : dict, optional
        Weights of the statistic-matching generator losses (:func:`stat_losses`, names in
        :data:`STAT_LOSSES`; missing names weigh 0) added to the adversarial generator loss,
        each computed against the real batch whose conditions the generated batch got. Not in
        the seed; ``None`` trains the purely adversarial GAN.
    stat_groups : int
        Flux groups of the marginal statistic losses (see :func:`stat_losses`).
    ema : float
        Decay of an exponential moving average of the generator's weights (Polyak averaging;
        Yazici et al. 2019), updated after every generator step; its batch-norm statistics
        are copied from the trained generator. When positive, the diagnostics use the
        averaged generator and the trained model ends with it. 0 (the seed) keeps the last
        iterate.
    log_every : int
        Iterations per round: diagnostics, history row and checkpoint.
    precision : {"auto", "float32", "bfloat16"}
        The updates' precision (bfloat16 autocast on a CUDA device with ``"auto"``, float32
        on the CPU; see :class:`~cosmicbook.core.training.AdversarialSchedule`).
    compile : bool
        Compile both networks (opt-in, for long GPU runs).
    """

    loss: str = "bce"
    d_optimizer: str = "sgd"
    iterations: int = 1000
    pretrain_steps: int = 50
    batch_size: int = 32
    lr_g: float = 2e-4
    lr_d: float | None = None
    n_critic: int = 1
    gp_weight: float = 10.0
    label_smoothing: float = 0.1
    synthetic_weight: float = 0.5
    stat_weights: dict[str, float] | None = None
    stat_groups: int = 1
    ema: float = 0.0
    log_every: int = 50
    precision: str = "auto"
    compile: bool = False

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.d_optimizer not in OPTIMIZERS:
            raise ValueError(f"d_optimizer must be one of {OPTIMIZERS}, got "
                             f"{self.d_optimizer!r}")
        for name in ("iterations", "log_every", "batch_size", "n_critic", "stat_groups"):
            positive_int(getattr(self, name), name)
        if self.iterations % self.log_every:
            raise ValueError(f"iterations ({self.iterations}) must be a multiple of log_every "
                             f"({self.log_every})")
        weights = {} if self.stat_weights is None else dict(self.stat_weights)
        unknown = set(weights) - set(STAT_LOSSES)
        if unknown:
            raise ValueError(f"unknown stat_weights {sorted(unknown)}; known: {STAT_LOSSES}")
        if any(not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0
               for w in weights.values()):
            raise ValueError(f"stat_weights must be finite and non-negative, got {weights}")
        if not isinstance(self.ema, numbers.Real) or not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must lie in [0, 1), got {self.ema!r}")
        nonnegative_int(self.pretrain_steps, "pretrain_steps")

    @property
    def active_stat_weights(self) -> dict[str, float]:
        """The statistic losses with positive weight."""
        weights = {} if self.stat_weights is None else self.stat_weights
        return {k: float(w) for k, w in weights.items() if w > 0}

    @classmethod
    def from_profile(cls, profile) -> GANConfig:
        """The training knobs of a chapter profile (:data:`cosmicbook.tes.PROFILES`): the main
        BCE GAN's (``lr_d`` from ``lr_d_sgd``, ``n_critic`` 1); statistic-loss weights from
        ``w_psd``, ``w_corr``, ``w_quantile``, ``w_peak``, ``w_glitch``."""
        known = {f.name for f in fields(cls)}
        values = {k: profile[k] for k in known if k in profile}
        values.update(loss="bce", d_optimizer="sgd", lr_d=profile.get("lr_d_sgd"), n_critic=1,
                      stat_weights={"psd": profile["w_psd"], "correlation": profile["w_corr"],
                                    "quantile": profile["w_quantile"],
                                    "peak": profile["w_peak"], "glitch": profile["w_glitch"]})
        return cls(**values)

    def replace(self, **changes) -> GANConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)


def _optimizers(model: CRAB, config: GANConfig) -> OptimizerPair:
    opt_g = torch.optim.Adam(model.generator.parameters(), lr=config.lr_g, betas=(0.5, 0.999))
    lr_d = config.lr_d
    if config.d_optimizer == "sgd":
        opt_d = torch.optim.SGD(model.discriminator.parameters(),
                                lr=0.02 if lr_d is None else lr_d)
    else:
        opt_d = torch.optim.Adam(model.discriminator.parameters(),
                                 lr=2e-4 if lr_d is None else lr_d, betas=(0.5, 0.9))
    return OptimizerPair(opt_g, opt_d)


class _GANSteps(AdversarialSteps):
    """The CRAB updates: batches and latent vectors from one seeded generator."""

    def __init__(self, model: CRAB, data: torch.Tensor, conds: torch.Tensor | None,
                 config: GANConfig, optimizers: OptimizerPair, monitor: _Monitor | None,
                 seed: int, device):
        self.model, self.data, self.conds, self.config = model, data, conds, config
        self.optimizers, self.monitor, self.device = optimizers, monitor, device
        self.rng = torch.Generator().manual_seed(seed)
        self.generators = [self.rng]
        self.weights = config.active_stat_weights
        self.round = 0

    def _batch(self):
        n, size = len(self.data), self.config.batch_size
        idx = torch.randint(0, n, (size,), generator=self.rng).to(self.device)
        z = torch.randn(size, self.model.generator.latent_dim, generator=self.rng).to(self.device)
        return self.data[idx], (None if self.conds is None else self.conds[idx]), z

    def begin_round(self, round: int) -> None:
        self.round = round
        self.sums = np.zeros(5)
        self.stat_sums = dict.fromkeys(self.weights, 0.0)

    def critic_step(self) -> None:
        cfg, disc = self.config, self.model.discriminator
        real, c, z = self._batch()
        with torch.no_grad():
            fake = self.model.generator(z, c, generator=self.rng)
        d_real, d_fake = disc(real, c), disc(fake, c)
        lossd = _d_loss(cfg.loss, d_real, d_fake, cfg.label_smoothing, cfg.synthetic_weight)
        gp = torch.zeros(())
        if cfg.loss == "wgan-gp":
            gp = gradient_penalty(lambda x: disc(x, c), real, fake, self.rng)
            lossd = lossd + cfg.gp_weight * gp
        opt = self.optimizers.discriminator
        opt.zero_grad(set_to_none=True)
        lossd.backward()
        opt.step()
        if cfg.loss == "bce":
            d_real, d_fake = torch.sigmoid(d_real), torch.sigmoid(d_fake)
        if self.round:  # pre-training steps are not recorded
            self.sums[1:] += np.array((float(lossd.detach()), float(d_real.detach().mean()),
                                       float(d_fake.detach().mean()),
                                       float(gp.detach()))) / cfg.n_critic

    def generator_step(self) -> None:
        cfg = self.config
        real, c, z = self._batch()
        fake = self.model.generator(z, c, generator=self.rng)
        lossg = _g_loss(cfg.loss, self.model.discriminator(fake, c), cfg.label_smoothing)
        if self.weights:
            stats = stat_losses(fake, real, c, scale=self.model.scale, groups=cfg.stat_groups,
                                names=tuple(self.weights))
            for key, w in self.weights.items():
                lossg = lossg + w * stats[key]
                self.stat_sums[key] += float(stats[key].detach()) / cfg.log_every
        opt = self.optimizers.generator
        opt.zero_grad(set_to_none=True)
        lossg.backward()
        opt.step()
        value = float(lossg.detach())
        if not math.isfinite(value):
            raise RuntimeError(f"generator loss is {value} in round {self.round}")
        self.sums[0] += value

    def end_round(self, round: int, shown) -> dict[str, Any]:
        cfg, model = self.config, self.model
        means = self.sums / cfg.log_every
        row: dict[str, Any] = {"train_loss": means[0], "val_loss": None, "lr": cfg.lr_g,
                               "d_loss": means[1], "d_real": means[2], "d_fake": means[3],
                               "gp": means[4], "iteration": round * cfg.log_every,
                               **{f"stat_{k}": v for k, v in self.stat_sums.items()}}
        if self.monitor is not None:
            view = model if shown is model.generator else CRAB(
                shown, model.discriminator, scale=model.scale, loss=model.loss,
                sample_rate=model.sample_rate)
            model.eval()
            diag = self.monitor(view, cfg.loss, cfg.label_smoothing, cfg.synthetic_weight,
                                self.device)
            model.train()
            row["val_loss"] = diag.pop("val_loss")
            row.update(diag)
        return row


def train_gan(model: CRAB, train: np.ndarray, flux: np.ndarray | None = None,
              config: GANConfig | None = None, *, monitor: np.ndarray | None = None,
              monitor_flux: np.ndarray | None = None, seed: int = 0,
              checkpoint: str | Path | None = None, resume: bool = True,
              device: str | torch.device | None = "cpu",
              progress: bool | None = None) -> History:
    """Train a CRAB GAN on Monte-Carlo segments (the seed's scheme, see the module docstring).

    Runs on :func:`cosmicbook.core.training.train_adversarial`: ``pretrain_steps``
    discriminator updates, then rounds of ``log_every`` iterations of ``n_critic``
    discriminator updates and one generator update, the moving average of the generator's
    weights, diagnostics, a history row and a checkpoint per round.

    Parameters
    ----------
    model : CRAB
        Built by :func:`~cosmicbook.tes.model.build_crab` for ``train`` (conditional exactly
        when ``flux`` is given); trained in place and moved to ``device``.
    train : numpy.ndarray, shape (n_segments, n_bolometers, n_samples)
        Training MC in sigma units.
    flux : numpy.ndarray, shape (n_segments,), optional
        The flux of each training segment (conditional GANs).
    config : GANConfig, optional
        The training settings (default ``GANConfig()``).
    monitor, monitor_flux : numpy.ndarray, optional
        Validation MC (sigma units) and its flux for the diagnostics; without it only the
        losses are logged.
    seed : int
        Seeds the batches and latent vectors (the initial weights are :func:`build_crab`'s).
    checkpoint : path, optional
        Written after every round; with ``resume`` an existing file is continued (or returned
        at once when complete): a run can be extended by raising ``iterations``. A checkpoint
        written with other settings, another seed or another architecture is an error.
    device : str, torch.device or None
    progress : bool or None
        Progress bar over rounds; ``None`` follows ``COSMICBOOK_PROGRESS``.

    Returns
    -------
    History
        One row per round with ``train_loss`` (generator loss, statistic losses included),
        ``val_loss`` (discriminator loss on the monitor), ``d_loss``, ``d_real``, ``d_fake``
        (mean discriminator outputs on training batches), ``gp``, one ``stat_<name>`` per
        weighted statistic loss (unweighted) and, with a monitor, ``diversity``, ``psd_dev``,
        ``corr_dev`` and ``iteration``. The model ends in eval mode (with the averaged
        generator when ``config.ema > 0``).

    Raises
    ------
    ValueError
        For bad shapes, NaNs, a model that does not fit the data or inconsistent settings.
    RuntimeError
        When the generator loss becomes NaN or infinite (a diverged run).
    """
    config = GANConfig() if config is None else config
    if not isinstance(config, GANConfig):
        raise ValueError(f"config must be a GANConfig, got {type(config).__name__}")
    if not isinstance(model, CRAB):
        raise ValueError(f"model must be a CRAB (see build_crab), got {type(model).__name__}")
    train = check_tod(train, "train")
    n, n_bolo, length = train.shape
    if (n_bolo, length) != (model.n_bolometers, model.n_samples):
        raise ValueError(f"the model generates {model.n_bolometers} bolometers x "
                         f"{model.n_samples} samples, the training data has {n_bolo} x {length}")
    if (flux is not None) != model.conditional:
        raise ValueError("pass flux exactly when the model is conditional (build_crab with "
                         "flux)")
    if flux is not None:
        flux = np.asarray(flux, dtype=np.float64)
        if flux.shape != (n,) or not np.all(np.isfinite(flux)) or np.any(flux <= 0):
            raise ValueError(f"flux must be positive, finite, of shape ({n},)")
    if monitor is not None:
        monitor = check_tod(monitor, "monitor")
        if monitor.shape[1:] != train.shape[1:]:
            raise ValueError("monitor and train differ in bolometers or samples")
        if (monitor_flux is None) != (flux is None):
            raise ValueError("pass monitor_flux exactly when the GAN is conditional (flux)")
    dev = get_device(device)
    model.loss = config.loss
    model.to(dev)
    data = torch.from_numpy(compress(train, model.scale).astype(np.float32)).to(dev)
    conds = None if flux is None else torch.from_numpy(np.log(flux).astype(np.float32)).to(dev)
    optimizers = _optimizers(model, config)
    mon = None if monitor is None else _Monitor(model, monitor, monitor_flux, seed + 1)
    steps = _GANSteps(model, data, conds, config, optimizers, mon, seed, dev)
    schedule = AdversarialSchedule(rounds=config.iterations // config.log_every,
                                   steps_per_round=config.log_every, n_critic=config.n_critic,
                                   pretrain_steps=config.pretrain_steps, ema_decay=config.ema,
                                   precision=config.precision, compile=config.compile)
    meta = {"training": {**config.as_dict(), "stat_weights": config.active_stat_weights,
                         "iterations": None, "compile": None},
            "seed": seed, "conditional": flux is not None, "model": model.config()}
    history = train_adversarial(steps, schedule, optimizers,
                                checkpoint=None if checkpoint is None else Checkpoint(checkpoint),
                                meta=meta, resume=resume, progress=progress,
                                desc=f"training {config.loss}")
    model.eval()
    return history
