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

import copy
import math
import numbers
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosmicbook.core.device import get_device
from cosmicbook.core.progress import progress as _progress
from cosmicbook.core.training import Checkpoint, History, update_average
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
    white_noise_covariance,
)
from cosmicbook.tes.model import Discriminator, Generator

__all__ = ["CRAB", "LOSSES", "OPTIMIZERS", "STAT_LOSSES", "OptimizerPair", "compress", "expand",
           "stat_losses", "train_gan"]

#: Loss functions :func:`train_gan` knows.
LOSSES: tuple[str, ...] = ("bce", "wgan-gp")
#: Discriminator optimizers :func:`train_gan` knows.
OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
#: Statistic-matching generator losses (:mod:`cosmicbook.tes.losses`) :func:`train_gan` knows:
#: ``"glitch"`` on the TOD in sigma units, the others on the compressed TOD.
STAT_LOSSES: tuple[str, ...] = ("psd", "correlation", "quantile", "peak", "glitch")


def compress(x, scale: float = 3.0):
    """The training representation :math:`\\mathrm{asinh}(x / s)` (numpy or torch)."""
    if isinstance(x, torch.Tensor):
        return torch.asinh(x / scale)
    return np.arcsinh(np.asarray(x) / scale)


def expand(y, scale: float = 3.0):
    """Inverse of :func:`compress`: :math:`s \\sinh(y)`."""
    if isinstance(y, torch.Tensor):
        return scale * torch.sinh(y)
    return scale * np.sinh(np.asarray(y))


class CRAB(nn.Module):
    """A trained (or training) CRAB GAN: generator, discriminator and their data conventions.

    Parameters
    ----------
    generator : Generator
    discriminator : Discriminator
    scale : float
        ``s`` of the compressed representation, sigma units.
    loss : str
        The loss it is trained with (one of :data:`LOSSES`), for the record.
    sample_rate : float
        Hz of the TOD it generates (for the record and the timings).
    """

    def __init__(self, generator: Generator, discriminator: Discriminator, *,
                 scale: float = 3.0, loss: str = "bce", sample_rate: float = 180.37):
        super().__init__()
        if generator.n_channels != discriminator.n_channels or \
                generator.n_cond != discriminator.n_cond:
            raise ValueError("generator and discriminator disagree on channels or conditions")
        self.generator = generator
        self.discriminator = discriminator
        self.scale = float(scale)
        self.loss = loss
        self.sample_rate = float(sample_rate)

    @property
    def conditional(self) -> bool:
        """Whether the generator takes the flux as a condition."""
        return self.generator.n_cond > 0

    @property
    def n_bolometers(self) -> int:
        return self.generator.n_channels

    @property
    def n_samples(self) -> int:
        return self.generator.length

    def config(self) -> dict:
        """Everything needed to rebuild the model around saved weights."""
        return {"generator": self.generator.config(),
                "discriminator": self.discriminator.config(),
                "scale": self.scale, "loss": self.loss, "sample_rate": self.sample_rate}

    @classmethod
    def from_config(cls, config: dict) -> CRAB:
        return cls(Generator(**config["generator"]), Discriminator(**config["discriminator"]),
                   scale=config["scale"], loss=config["loss"],
                   sample_rate=config["sample_rate"])

    def condition(self, flux, n: int) -> torch.Tensor | None:
        """The generator's condition (natural log of the flux) for ``n`` segments."""
        if not self.conditional:
            if flux is not None:
                raise ValueError("this CRAB model is unconditional: flux must be None")
            return None
        flux = 1.0 if flux is None else flux
        flux = np.broadcast_to(np.asarray(flux, dtype=np.float64), (n,))
        if not np.all(np.isfinite(flux)) or np.any(flux <= 0):
            raise ValueError("flux must be positive and finite")
        return torch.from_numpy(np.log(flux).astype(np.float32)).reshape(n, 1)

    @torch.no_grad()
    def generate(self, n_segments: int, flux=None, *, seed: int | None = None,
                 batch_size: int = 256, compressed: bool = False) -> np.ndarray:
        """Generate segments of TOD with the generator in eval mode.

        Parameters
        ----------
        n_segments : int
        flux : float, array_like of shape (n_segments,) or None
            Cosmic-ray flux relative to Planck at L2 (conditional models; ``None`` = 1);
            must be ``None`` for an unconditional model.
        seed : int, optional
            Seeds the latent vectors (a private generator: global RNGs are untouched).
        batch_size : int
            Segments per forward pass.
        compressed : bool
            Return the compressed representation instead of sigma units.

        Returns
        -------
        numpy.ndarray of float32, shape (n_segments, n_bolometers, n_samples)
        """
        if isinstance(n_segments, bool) or not isinstance(n_segments, numbers.Integral) \
                or n_segments < 1:
            raise ValueError(f"n_segments must be a positive int, got {n_segments!r}")
        cond = self.condition(flux, int(n_segments))
        gen = torch.Generator().manual_seed(int(seed) if seed is not None else
                                            int(torch.randint(0, 2**31 - 1, ()).item()))
        device = next(self.parameters()).device
        was_training = self.generator.training
        self.generator.eval()
        out = []
        try:
            for start in range(0, n_segments, batch_size):
                n = min(batch_size, n_segments - start)
                z = torch.randn(n, self.generator.latent_dim, generator=gen).to(device)
                c = None if cond is None else cond[start:start + n].to(device)
                y = self.generator(z, c, generator=gen)
                out.append((y if compressed else expand(y, self.scale)).float().cpu().numpy())
        finally:
            self.generator.train(was_training)
        return np.concatenate(out, axis=0)


class OptimizerPair:
    """The generator's and the discriminator's optimizers, saved and loaded as one."""

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


def _gradient_penalty(disc, real, fake, cond, gen):
    eps = torch.rand(len(real), 1, 1, generator=gen).to(real.device)
    mix = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    out = disc(mix, cond)
    (grad,) = torch.autograd.grad(out.sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()


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


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def train_gan(
    train: np.ndarray,
    flux: np.ndarray | None = None,
    *,
    loss: str = "bce",
    d_optimizer: str = "sgd",
    iterations: int = 1000,
    pretrain_steps: int = 50,
    batch_size: int = 32,
    lr_g: float = 2e-4,
    lr_d: float | None = None,
    n_critic: int = 1,
    gp_weight: float = 10.0,
    label_smoothing: float = 0.1,
    synthetic_weight: float = 0.5,
    scale: float = 3.0,
    latent_dim: int = 100,
    noise_inputs: bool = True,
    film: bool = False,
    white_noise: bool = False,
    bounded: bool = False,
    red_noise: bool = False,
    d_norm: str = "channel",
    stat_weights: dict[str, float] | None = None,
    stat_groups: int = 1,
    ema: float = 0.0,
    log_every: int = 50,
    monitor: np.ndarray | None = None,
    monitor_flux: np.ndarray | None = None,
    seed: int = 0,
    sample_rate: float = 180.37,
    checkpoint: str | Path | None = None,
    resume: bool = True,
    device: str | torch.device | None = "cpu",
    progress: bool | None = None,
) -> tuple[CRAB, History]:
    """Train a CRAB GAN on Monte-Carlo segments.

    Parameters
    ----------
    train : numpy.ndarray, shape (n_segments, n_bolometers, n_samples)
        Training MC in sigma units.
    flux : numpy.ndarray, shape (n_segments,), optional
        The flux of each training segment: given, the GAN is conditional on ``log(flux)``.
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
    scale : float
        ``s`` of the compressed representation asinh(x / s), sigma units.
    latent_dim : int
        Size of the latent vector (100 in the seed).
    noise_inputs : bool
        Per-sample noise injected into the generator after each batch normalisation
        (:class:`~cosmicbook.tes.model.NoiseInjection`; not in the seed).
    film : bool
        Conditional GANs only: modulate every upsampling stage of the generator by the
        condition (:class:`~cosmicbook.tes.model.FiLM`; not in the seed).
    white_noise : bool
        End the generator with additive white noise of learned covariance in sigma units
        (:class:`~cosmicbook.tes.model.WhiteNoise`; not in the seed), initialised to the
        training data's white noise (:func:`~cosmicbook.tes.metrics.white_noise_covariance`).
    red_noise : bool
        With ``white_noise``, also end the generator with Gaussian 1/f noise of learned
        covariance and index (:class:`~cosmicbook.tes.model.RedNoise`; not in the seed).
    bounded : bool
        Soft-limit the generator's compressed output to 1.5 times the largest absolute value
        of the compressed training data (``out_bound`` of
        :class:`~cosmicbook.tes.model.Generator`, b tanh(y / b); not in the seed): nearly
        linear over the data's range, a ceiling some six times above its largest glitch.
    d_norm : {"channel", "segment", "none"}
        The discriminator's layer normalisation (see
        :class:`~cosmicbook.tes.model.Discriminator`; ``"channel"`` is the seed's).
    stat_weights : dict, optional
        Weights of the statistic-matching generator losses (:func:`stat_losses`, names in
        :data:`STAT_LOSSES`; missing names weigh 0) added to the adversarial generator loss,
        each computed against the real batch whose conditions the generated batch got. Not in
        the seed; ``None`` trains the purely adversarial GAN.
    stat_groups : int
        Flux groups of the marginal statistic losses (see :func:`stat_losses`).
    ema : float
        Decay of an exponential moving average of the generator's weights (Polyak
        averaging; Yazici et al. 2019), updated after every generator step; its batch-norm
        statistics are copied from the trained generator. When positive, the diagnostics
        use the averaged generator and the returned model carries it: it smooths the jumps of
        short GAN runs. 0 (the seed) returns the last iterate.
    log_every : int
        Iterations per round: diagnostics, history row and checkpoint.
    monitor, monitor_flux : numpy.ndarray, optional
        Validation MC (sigma units) and its flux for the diagnostics; without it only the
        losses are logged.
    seed : int
        Seeds the initial weights, batches and latent vectors.
    sample_rate : float
        Hz (PSD diagnostics).
    checkpoint : path, optional
        Written after every round; with ``resume`` an existing file is continued (or returned
        at once when complete): a run can be extended by raising ``iterations``. A checkpoint
        written with another loss, optimizer, batch size, ``log_every`` or seed is an error.
    device : str, torch.device or None
    progress : bool or None
        Progress bar over rounds; ``None`` follows ``COSMICBOOK_PROGRESS``.

    Returns
    -------
    (CRAB, History)
        The model (eval mode, on ``device``) and one history row per round with
        ``train_loss`` (generator loss, statistic losses included), ``val_loss``
        (discriminator loss on the monitor), ``d_loss``, ``d_real``, ``d_fake`` (mean
        discriminator outputs on training batches), ``gp``, one ``stat_<name>`` per weighted
        statistic loss (unweighted) and, with a monitor, ``diversity``, ``psd_dev``,
        ``corr_dev`` and ``iteration``.

    Raises
    ------
    ValueError
        For bad shapes, NaNs, unknown loss/optimizer names or inconsistent settings.
    """
    train = check_tod(train, "train")
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    if d_optimizer not in OPTIMIZERS:
        raise ValueError(f"d_optimizer must be one of {OPTIMIZERS}, got {d_optimizer!r}")
    iterations = _positive_int(iterations, "iterations")
    log_every = _positive_int(log_every, "log_every")
    batch_size = _positive_int(batch_size, "batch_size")
    n_critic = _positive_int(n_critic, "n_critic")
    if iterations % log_every:
        raise ValueError(f"iterations ({iterations}) must be a multiple of log_every "
                         f"({log_every})")
    weights = {} if stat_weights is None else dict(stat_weights)
    unknown = set(weights) - set(STAT_LOSSES)
    if unknown:
        raise ValueError(f"unknown stat_weights {sorted(unknown)}; known: {STAT_LOSSES}")
    if any(not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0
           for w in weights.values()):
        raise ValueError(f"stat_weights must be finite and non-negative, got {weights}")
    weights = {k: float(w) for k, w in weights.items() if w > 0}
    stat_groups = _positive_int(stat_groups, "stat_groups")
    if not isinstance(ema, numbers.Real) or not 0.0 <= ema < 1.0:
        raise ValueError(f"ema must lie in [0, 1), got {ema!r}")
    if isinstance(pretrain_steps, bool) or not isinstance(pretrain_steps, numbers.Integral) \
            or pretrain_steps < 0:
        raise ValueError(f"pretrain_steps must be a non-negative int, got {pretrain_steps!r}")
    n, n_bolo, length = train.shape
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

    torch.manual_seed(seed)
    y = compress(train, scale)
    gen_net = Generator(n_bolo, latent_dim, n_cond=int(flux is not None), length=length,
                        out_scale=float(y.std()), out_shift=float(y.mean()),
                        noise=noise_inputs, film=film,
                        white_noise=scale if white_noise else 0.0,
                        out_bound=1.5 * float(np.abs(y).max()) if bounded else 0.0,
                        red_noise=red_noise)
    if gen_net.white is not None:  # start from the training data's white noise
        cov = white_noise_covariance(train)
        chol = torch.from_numpy(np.linalg.cholesky(cov)).float()
        with torch.no_grad():
            gen_net.white.weight.copy_(chol)
            if gen_net.red is not None:  # 1/f as much as white power at 1 Hz, learned
                gen_net.red.weight.copy_(chol)
    disc = Discriminator(n_bolo, n_cond=int(flux is not None), length=length, norm=d_norm)
    model = CRAB(gen_net, disc, scale=scale, loss=loss, sample_rate=sample_rate).to(dev)
    data = torch.from_numpy(y.astype(np.float32)).to(dev)
    conds = None if flux is None else torch.from_numpy(np.log(flux).astype(np.float32)).to(dev)
    opt_g = torch.optim.Adam(gen_net.parameters(), lr=lr_g, betas=(0.5, 0.999))
    if d_optimizer == "sgd":
        opt_d = torch.optim.SGD(disc.parameters(), lr=0.02 if lr_d is None else lr_d)
    else:
        opt_d = torch.optim.Adam(disc.parameters(), lr=2e-4 if lr_d is None else lr_d,
                                 betas=(0.5, 0.9))
    opts = OptimizerPair(opt_g, opt_d)
    rng = torch.Generator().manual_seed(seed)
    mon = None if monitor is None else _Monitor(model, monitor, monitor_flux, seed + 1)
    ckpt = None if checkpoint is None else Checkpoint(checkpoint)
    meta = {"loss": loss, "d_optimizer": d_optimizer, "log_every": log_every,
            "pretrain_steps": pretrain_steps, "batch_size": batch_size, "seed": seed,
            "conditional": flux is not None, "noise_inputs": noise_inputs, "film": film,
            "white_noise": white_noise, "bounded": bounded,
            "red_noise": red_noise,
            "d_norm": d_norm, "stat_weights": weights, "stat_groups": stat_groups,
            "ema": float(ema)}

    history, done = History(), 0
    if ckpt is not None and resume and ckpt.exists():
        extra = ckpt.read().get("extra") or {}
        if extra.get("meta") != meta or extra.get("config") != model.config():
            raise ValueError(f"checkpoint {ckpt.path} was written with other settings or "
                             f"another architecture ({extra.get('meta')}); delete it or pass "
                             f"resume=False")
        state = ckpt.load(model, opts, generators=[rng])
        history, done = state["history"], int(state["epoch"])
        saved_ema = extra.get("ema_state")
    else:
        saved_ema = None
    # the averaged generator, evaluated through a CRAB that shares the discriminator
    ema_gen = copy.deepcopy(gen_net).requires_grad_(False) if ema > 0 else None
    if ema_gen is not None and saved_ema is not None:
        ema_gen.load_state_dict(saved_ema)
    shown = model if ema_gen is None else CRAB(ema_gen, disc, scale=scale, loss=loss,
                                                sample_rate=sample_rate)

    rounds = iterations // log_every

    def batch():
        idx = torch.randint(0, n, (batch_size,), generator=rng).to(dev)
        z = torch.randn(batch_size, latent_dim, generator=rng).to(dev)
        return data[idx], (None if conds is None else conds[idx]), z

    def d_step() -> tuple[float, float, float, float]:
        real, c, z = batch()
        with torch.no_grad():
            fake = gen_net(z, c, generator=rng)
        d_real, d_fake = disc(real, c), disc(fake, c)
        lossd = _d_loss(loss, d_real, d_fake, label_smoothing, synthetic_weight)
        gp = torch.zeros(())
        if loss == "wgan-gp":
            gp = _gradient_penalty(disc, real, fake, c, rng)
            lossd = lossd + gp_weight * gp
        opt_d.zero_grad(set_to_none=True)
        lossd.backward()
        opt_d.step()
        if loss == "bce":
            d_real, d_fake = torch.sigmoid(d_real), torch.sigmoid(d_fake)
        return (float(lossd.detach()), float(d_real.detach().mean()),
                float(d_fake.detach().mean()), float(gp.detach()))

    model.train()
    if done == 0 and not len(history):
        for _ in range(pretrain_steps):
            d_step()
    bar = _progress(total=rounds, initial=done, desc=f"training {loss}", unit="round",
                    enabled=progress)
    try:
        for r in range(done + 1, rounds + 1):
            t0 = time.perf_counter()
            sums = np.zeros(5)
            stat_sums = dict.fromkeys(weights, 0.0)
            for _ in range(log_every):
                for _ in range(n_critic):
                    sums[1:] += np.array(d_step()) / n_critic
                real, c, z = batch()
                fake = gen_net(z, c, generator=rng)
                lossg = _g_loss(loss, disc(fake, c), label_smoothing)
                if weights:
                    stats = stat_losses(fake, real, c, scale=scale, groups=stat_groups,
                                        names=tuple(weights))
                    for key, w in weights.items():
                        lossg = lossg + w * stats[key]
                        stat_sums[key] += float(stats[key].detach()) / log_every
                opt_g.zero_grad(set_to_none=True)
                lossg.backward()
                opt_g.step()
                if ema_gen is not None:
                    update_average(ema_gen, gen_net, ema)
                value = float(lossg.detach())
                if not math.isfinite(value):
                    raise RuntimeError(f"generator loss is {value} in round {r}")
                sums[0] += value
            means = sums / log_every
            values: dict[str, Any] = {"d_loss": means[1], "d_real": means[2],
                                      "d_fake": means[3], "gp": means[4],
                                      "iteration": r * log_every,
                                      **{f"stat_{k}": v for k, v in stat_sums.items()}}
            val = None
            if mon is not None:
                model.eval()
                diag = mon(shown, loss, label_smoothing, synthetic_weight, dev)
                model.train()
                val = diag.pop("val_loss")
                values.update(diag)
            history.append(r, means[0], val, lr=lr_g, seconds=time.perf_counter() - t0,
                           **values)
            if ckpt is not None:
                ckpt.save(model, opts, epoch=r, history=history, generators=[rng],
                          extra={"meta": meta, "config": model.config(),
                                 "ema_state": None if ema_gen is None else
                                 ema_gen.state_dict()})
            bar.set_postfix(g=f"{means[0]:.3g}", d=f"{means[1]:.3g}", refresh=False)
            bar.update(1)
    finally:
        bar.close()
    if ema_gen is not None:
        gen_net.load_state_dict(ema_gen.state_dict())
    model.eval()
    return model, history
