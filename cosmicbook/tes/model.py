"""The CRAB generator and discriminator (Cavallotto & Della Torre 2024) in PyTorch.

Layer tables of the seed deck (Keras, one bolometer, output length 1060)::

    Generator                                   Discriminator
    Dense 265 (LeakyReLU)            26,765     Conv1D 8, k20 (LeakyReLU)     168
    Conv1DTranspose 8, k10               88     LayerNormalization             16
    BatchNormalization                   32     Conv1D 8, k10                 648
    Conv1DTranspose 16, k10, x2       1,296     LayerNormalization             16
    BatchNormalization                   64     Conv1D 16, k10, /2          1,296
    Conv1DTranspose 32, k10, x2       5,152     LayerNormalization             32
    BatchNormalization                  128     Conv1D 32, k10, /5          5,152
    SeparableConv1D 1, k10              353     LayerNormalization             64
    Normalization (lambda)                0     Dense 1                     3,393
    trainable: 33,766                           trainable: 10,785

The kernel sizes (10 and 20) follow from the parameter counts; the latent vector has 100
entries (26,765 = 100 x 265 + 265). Keras' ``LayerNormalization`` normalises over the channels
of each time step, which :class:`ChannelLayerNorm` reproduces; Keras counts the running
statistics of batch normalisation as parameters, so the table lists 224 for the three layers
of which 112 are trainable.

Here both networks handle ``n_channels`` bolometers jointly (the generator's last pointwise
convolution has ``n_channels`` outputs, the discriminator's first convolution as many inputs),
so the detector-detector correlation can be learned. The *conditional* variant (``n_cond = 1``)
appends the condition (log flux) to the latent vector of the generator and feeds it to the
discriminator as one extra constant input channel. The generator's last layer is linear (no
LeakyReLU, which would squash half of a symmetric noise distribution); the "normalisation"
is a fixed affine map from unit scale to the training data's mean and standard deviation.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosmicbook.tes.metrics import check_tod, white_noise_covariance

__all__ = ["CRAB", "SEED_PARAMETERS", "CRABConfig", "ChannelLayerNorm", "Discriminator", "FiLM",
           "Generator", "NoiseInjection", "RedNoise", "WhiteNoise", "SameConv1d",
           "SameTranspose1d", "build_crab", "compress", "count_parameters", "expand"]

#: Trainable parameters of the seed deck's one-bolometer networks.
SEED_PARAMETERS: dict[str, int] = {"generator": 33766, "discriminator": 10785}


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class ChannelLayerNorm(nn.Module):
    """Keras-style ``LayerNormalization`` of a ``(N, C, L)`` tensor: over C at each step."""

    def __init__(self, channels: int, eps: float = 1e-3):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


def _layer_norm(channels: int, mode: str) -> nn.Module:
    """The discriminator's normalisation: ``"channel"`` (Keras' default axis, the seed),
    ``"segment"`` (over channels *and* time of each segment, ``GroupNorm(1, C)``) -- both with
    a scale and an offset per channel (2 C parameters) -- or ``"none"``."""
    if mode == "channel":
        return ChannelLayerNorm(channels)
    if mode == "segment":
        return nn.GroupNorm(1, channels, eps=1e-3)
    if mode == "none":
        return nn.Identity()
    raise ValueError(f"norm must be 'channel', 'segment' or 'none', got {mode!r}")


class SameTranspose1d(nn.ConvTranspose1d):
    """``ConvTranspose1d`` whose output is exactly ``stride * L`` long (Keras' "same").

    The full transposed convolution, of length ``(L - 1) * stride + kernel``, is cropped
    symmetrically (which also works for even kernels at stride 1).
    """

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__(c_in, c_out, kernel, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = super().forward(x)
        n = x.shape[-1] * self.stride[0]
        start = (out.shape[-1] - n) // 2
        return out[..., start:start + n]


class SameConv1d(nn.Conv1d):
    """Stride-1 ``Conv1d`` with Keras' "same" zero padding, also for even kernels.

    Pads ``(k - 1) // 2`` samples on the left and the rest on the right (as Keras and
    TensorFlow do) explicitly, instead of ``padding="same"``, which warns for even kernels.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size[0]
        left = (k - 1) // 2
        return super().forward(F.pad(x, (left, k - 1 - left)))


class NoiseInjection(nn.Module):
    """Add per-sample Gaussian noise with a learned amplitude per channel (after StyleGAN).

    An independent standard-normal stream per channel, shape ``(N, C, L)``, scaled by
    ``weight`` (one value per channel, initialised to ``init``). It gives the generator a
    source of sample-to-sample randomness, which white detector noise needs and which a
    latent vector of 100 numbers can only imitate. Unlike StyleGAN's single stream broadcast
    over the channels, the streams are independent, so that the last (pointwise) layer can
    mix them into bolometers with any correlation.
    """

    def __init__(self, channels: int, init: float = 0.1):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(init)))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=generator,
                            device=generator.device if generator is not None else x.device)
        return x + self.weight.view(1, -1, 1) * noise.to(device=x.device, dtype=x.dtype)


class FiLM(nn.Module):
    """Feature-wise linear modulation by a condition: ``h * (1 + gamma(c)) + beta(c)``.

    ``gamma`` and ``beta`` are ``gain`` times linear maps (no bias) of the condition ``c`` of
    shape ``(N, n_cond)``, one value per channel of ``h`` ``(N, C, L)``; both start at zero,
    so a fresh layer is the identity. ``gain`` is a learning-rate multiplier (StyleGAN's
    ``lr_mul``): Adam moves a weight by about the learning rate per step whatever the
    gradient's size, so a few hundred steps at 5e-4 would leave the modulation below ~10%;
    with ``gain`` = 10 it can reach order one.
    """

    def __init__(self, channels: int, n_cond: int, gain: float = 10.0):
        super().__init__()
        if channels < 1 or n_cond < 1 or gain <= 0:
            raise ValueError(f"need channels >= 1, n_cond >= 1 and gain > 0, got {channels}, "
                             f"{n_cond}, {gain}")
        self.gain = float(gain)
        self.gamma = nn.Linear(n_cond, channels, bias=False)
        self.beta = nn.Linear(n_cond, channels, bias=False)
        nn.init.zeros_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        g = self.gain
        return h * (1.0 + g * self.gamma(cond)[..., None]) + g * self.beta(cond)[..., None]


class RedNoise(nn.Module):
    """Additive Gaussian :math:`1/f^\\alpha` noise with a learned covariance and index.

    White standard-normal streams, one per channel and twice as long as the input (the
    second half is kept, as a cut from a longer observation, without the wrap-around of a
    circular filter), are filtered in Fourier space by
    :math:`(f / f_0)^{-\\alpha / 2}` (zero at f = 0; ``f`` in cycles per sample,
    :math:`f_0` = ``f_ref``) and mixed by a learned lower-triangular ``C x C`` matrix ``L``, so
    the added noise has the power spectrum :math:`L L^T (f / f_0)^{-\\alpha}` times that of
    unit white noise. ``alpha`` is learned (kept positive), ``L`` starts at ``init`` times the
    identity.
    """

    def __init__(self, channels: int, init: float = 0.5, alpha: float = 1.0,
                 f_ref: float = 1.0 / 180.37):
        super().__init__()
        if channels < 1 or not 0 < f_ref <= 0.5 or alpha <= 0:
            raise ValueError(f"need channels >= 1, 0 < f_ref <= 0.5 and alpha > 0, got "
                             f"{channels}, {f_ref}, {alpha}")
        self.weight = nn.Parameter(init * torch.eye(channels))
        self.log_alpha = nn.Parameter(torch.tensor(math.log(alpha)))
        self.f_ref = float(f_ref)
        self.register_buffer("mask", torch.tril(torch.ones(channels, channels)))

    @property
    def matrix(self) -> torch.Tensor:
        """The lower-triangular mixing matrix ``L``."""
        return self.weight * self.mask

    @property
    def alpha(self) -> torch.Tensor:
        """The spectral index (positive)."""
        return self.log_alpha.exp()

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        n = x.shape[-1]
        n_fft = 2 * n   # filter a stream twice as long and keep its end (no wrap-around)
        noise = torch.randn((*x.shape[:-1], n_fft), generator=generator,
                            device=generator.device if generator is not None else x.device)
        noise = noise.to(device=x.device, dtype=x.dtype)
        freq = torch.fft.rfftfreq(n_fft, device=x.device, dtype=x.dtype)
        shape = torch.zeros_like(freq)
        shape[1:] = (freq[1:] / self.f_ref) ** (-self.alpha.to(x.dtype) / 2)
        red = torch.fft.irfft(torch.fft.rfft(noise, dim=-1) * shape, n=n_fft, dim=-1)[..., n:]
        return x + torch.einsum("ij,njl->nil", self.matrix.to(x.dtype), red)


class WhiteNoise(nn.Module):
    """Additive white Gaussian noise with a learned covariance between channels.

    Adds :math:`L \\varepsilon` to a ``(N, C, L)`` tensor, with :math:`\\varepsilon`
    independent standard normal per channel and sample and ``L`` a learned lower-triangular
    ``C x C`` matrix (a ``C x C`` weight of which the ``C (C + 1) / 2`` entries on and below
    the diagonal are used; the covariance is :math:`L L^T`),
    initialised to ``init`` times the identity. It works in the data's own units, where
    detector noise is additive.
    """

    def __init__(self, channels: int, init: float = 0.5):
        super().__init__()
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.weight = nn.Parameter(init * torch.eye(channels))
        self.register_buffer("mask", torch.tril(torch.ones(channels, channels)))

    @property
    def matrix(self) -> torch.Tensor:
        """The lower-triangular mixing matrix ``L``."""
        return self.weight * self.mask

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        noise = torch.randn(x.shape, generator=generator,
                            device=generator.device if generator is not None else x.device)
        noise = noise.to(device=x.device, dtype=x.dtype)
        return x + torch.einsum("ij,njl->nil", self.matrix, noise)


class Generator(nn.Module):
    """Latent vector (+ condition) -> ``(N, n_channels, 1060)`` segment.

    Parameters
    ----------
    n_channels : int
        Bolometers generated jointly.
    latent_dim : int
        Entries of the standard-normal latent vector (100 in the seed).
    n_cond : int
        Entries of the condition appended to the latent vector (0: unconditional).
    length : int
        Output samples; must be divisible by 4 (two x2 upsamplings of ``length / 4``).
    filters : tuple of int
        Channels of the three transposed convolutions (8, 16, 32 in the seed).
    kernel : int
        Kernel of the convolutions (10 in the seed).
    slope : float
        Negative slope of the LeakyReLUs.
    out_scale, out_shift : float
        The fixed output "normalisation": ``out = out_scale * net(z) + out_shift`` (the
        training data's standard deviation and mean), so the network itself works at unit
        scale.
    noise : bool
        Add a :class:`NoiseInjection` after each batch normalisation (not in the seed: 56
        extra parameters). ``False`` gives the seed's network exactly.
    white_noise : float
        If positive, the generator's output ``y`` is read as the compressed TOD
        :math:`\\mathrm{asinh}(x / s)` with ``s = white_noise``: it is expanded to
        :math:`x = s \\sinh(y)`, white Gaussian noise with a learned covariance is added
        (:class:`WhiteNoise`, 16 parameters for four bolometers, 10 of them used) and the
        sum is compressed again. Detector noise is additive in ``x``; added in the
        compressed representation it would scale with the glitch under it. ``0`` (the
        seed): no such layer.
    red_noise : bool
        With ``white_noise``, also add Gaussian :math:`1/f^\\alpha` noise of learned
        covariance and index (:class:`RedNoise`, 17 parameters for four bolometers, 11 of
        them used) in sigma units. ``False`` (the seed): the network makes all low-frequency noise.
    out_bound : float
        If positive, the (normalised) output is soft-limited to ``+-out_bound`` by
        :math:`b \\tanh(y / b)` before any white noise is added: a readout range, like the
        simulator's amplitude cap, which keeps a short training from producing glitches far
        beyond anything in the training data (:func:`build_crab` with ``bounded``
        sets ``b`` to 1.5 times the largest compressed training value). ``0`` (the seed):
        unbounded.
    film : bool
        With conditions, also feed them to every upsampling stage: after each batch
        normalisation the features are scaled and shifted per channel by linear functions
        of the condition, :math:`h (1 + \\gamma c) + \\beta c` (FiLM, Perez et al. 2018;
        conditional batch normalisation), initialised to the identity, with a
        learning-rate multiplier of 10 (:class:`FiLM`). Not in the seed:
        ``2 (f1 + f2 + f3) n_cond`` parameters. Without it the condition enters only the
        dense layer, together with 100 latent numbers.
    """

    def __init__(self, n_channels: int = 4, latent_dim: int = 100, n_cond: int = 0,
                 length: int = 1060, filters: tuple[int, int, int] = (8, 16, 32),
                 kernel: int = 10, slope: float = 0.2, out_scale: float = 1.0,
                 out_shift: float = 0.0, noise: bool = False, film: bool = False,
                 white_noise: float = 0.0, out_bound: float = 0.0,
                 red_noise: bool = False):
        super().__init__()
        if length % 4:
            raise ValueError(f"length must be divisible by 4, got {length}")
        if n_channels < 1 or latent_dim < 1 or n_cond < 0:
            raise ValueError("n_channels and latent_dim must be positive, n_cond >= 0")
        self.n_channels, self.latent_dim, self.n_cond = n_channels, latent_dim, n_cond
        self.length = length
        self.base = length // 4
        f1, f2, f3 = filters
        self.dense = nn.Sequential(nn.Linear(latent_dim + n_cond, self.base),
                                   nn.LeakyReLU(slope))
        layers: list[nn.Module] = []
        for c_in, c_out, stride in ((1, f1, 1), (f1, f2, 2), (f2, f3, 2)):
            layers += [SameTranspose1d(c_in, c_out, kernel, stride), nn.LeakyReLU(slope),
                       nn.BatchNorm1d(c_out)]
            if noise:
                layers.append(NoiseInjection(c_out))
        layers += [SameConv1d(f3, f3, kernel, groups=f3, bias=False),  # depthwise
                   nn.Conv1d(f3, n_channels, 1)]                     # pointwise
        self.body = nn.Sequential(*layers)
        self.film = nn.ModuleList(
            [FiLM(c, n_cond) for c in filters] if film and n_cond else [])
        if white_noise < 0 or out_bound < 0:
            raise ValueError(f"white_noise and out_bound must be >= 0, got {white_noise}, "
                             f"{out_bound}")
        self.out_bound = float(out_bound)
        if red_noise and not white_noise > 0:
            raise ValueError("red_noise needs white_noise > 0 (the sigma-unit output stage)")
        self.white = WhiteNoise(n_channels) if white_noise > 0 else None
        self.red = RedNoise(n_channels) if red_noise else None
        self.white_scale = float(white_noise)
        self.register_buffer("out_scale", torch.tensor(float(out_scale)))
        self.register_buffer("out_shift", torch.tensor(float(out_shift)))
        self._config = dict(n_channels=n_channels, latent_dim=latent_dim, n_cond=n_cond,
                            length=length, filters=tuple(filters), kernel=kernel, slope=slope,
                            out_scale=float(out_scale), out_shift=float(out_shift),
                            noise=bool(noise), film=bool(film),
                            white_noise=float(white_noise), out_bound=float(out_bound),
                            red_noise=bool(red_noise))

    def config(self) -> dict:
        """The constructor arguments (to rebuild the model from saved weights)."""
        return dict(self._config)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None, *,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """``z``: (N, latent_dim); ``cond``: (N, n_cond); ``generator`` draws the injected
        noise (default: torch's global RNG). Returns (N, n_channels, length)."""
        if self.n_cond:
            if cond is None:
                raise ValueError("this generator is conditional: pass cond of shape (N, n_cond)")
            z = torch.cat([z, cond.reshape(len(z), self.n_cond).to(z.dtype)], dim=1)
        c = z[:, self.latent_dim:]
        h = self.dense(z).unsqueeze(1)
        stage = 0
        for layer in self.body:
            h = layer(h, generator) if isinstance(layer, NoiseInjection) else layer(h)
            if isinstance(layer, nn.BatchNorm1d) and len(self.film):
                h = self.film[stage](h, c)
                stage += 1
        h = h * self.out_scale + self.out_shift
        if self.out_bound > 0:
            h = self.out_bound * torch.tanh(h / self.out_bound)
        if self.white is not None:
            s = self.white_scale
            x = self.white(s * torch.sinh(h), generator)
            if self.red is not None:
                x = self.red(x, generator)
            h = torch.asinh(x / s)
        return h


class Discriminator(nn.Module):
    """``(N, n_channels, 1060)`` segment (+ condition) -> one logit / critic value.

    Parameters
    ----------
    n_channels : int
        Bolometers per segment.
    n_cond : int
        Conditions, each fed as a constant extra input channel.
    length : int
        Samples per segment; must be divisible by 10 (strides 2 and 5).
    filters : tuple of int
        Channels of the four convolutions (8, 8, 16, 32 in the seed).
    kernels : tuple of int
        Their kernels (20, 10, 10, 10).
    slope : float
        Negative slope of the LeakyReLUs.
    norm : {"channel", "segment"}
        Where layer normalisation takes its statistics. ``"channel"`` is Keras'
        ``LayerNormalization`` (the seed): over the channels at each time step, which divides
        out the size of the features at every sample -- and with it most of what tells a
        3-sigma glitch from a 30-sigma one. ``"segment"`` normalises over channels and time
        of each segment, keeping relative amplitudes; same parameter count.
    """

    def __init__(self, n_channels: int = 4, n_cond: int = 0, length: int = 1060,
                 filters: tuple[int, int, int, int] = (8, 8, 16, 32),
                 kernels: tuple[int, int, int, int] = (20, 10, 10, 10), slope: float = 0.2,
                 norm: str = "channel"):
        super().__init__()
        if length % 10:
            raise ValueError(f"length must be divisible by 10, got {length}")
        self.n_channels, self.n_cond, self.length = n_channels, n_cond, length
        f1, f2, f3, f4 = filters
        k1, k2, k3, k4 = kernels
        c_in = n_channels + n_cond
        self.body = nn.Sequential(
            SameConv1d(c_in, f1, k1), nn.LeakyReLU(slope), _layer_norm(f1, norm),
            SameConv1d(f1, f2, k2), nn.LeakyReLU(slope), _layer_norm(f2, norm),
            nn.Conv1d(f2, f3, k3, stride=2, padding=(k3 - 2) // 2), nn.LeakyReLU(slope),
            _layer_norm(f3, norm),
            nn.Conv1d(f3, f4, k4, stride=5, padding=(k4 - 5 + 1) // 2), nn.LeakyReLU(slope),
            _layer_norm(f4, norm),
            nn.Flatten(),
        )
        self.head = nn.Linear(f4 * (length // 10), 1)
        self._config = dict(n_channels=n_channels, n_cond=n_cond, length=length,
                            filters=tuple(filters), kernels=tuple(kernels), slope=slope,
                            norm=norm)

    def config(self) -> dict:
        """The constructor arguments."""
        return dict(self._config)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.n_cond:
            if cond is None:
                raise ValueError("this discriminator is conditional: pass cond (N, n_cond)")
            c = cond.reshape(len(x), self.n_cond, 1).to(x.dtype).expand(-1, -1, x.shape[-1])
            x = torch.cat([x, c], dim=1)
        return self.head(self.body(x)).squeeze(1)


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


@dataclass(frozen=True)
class CRABConfig:
    """The architecture of a CRAB GAN (what :func:`build_crab` builds).

    Parameters
    ----------
    scale : float
        ``s`` of the compressed representation asinh(x / s), sigma units.
    latent_dim : int
        Size of the latent vector (100 in the seed).
    noise_inputs : bool
        Per-sample noise injected into the generator after each batch normalisation
        (:class:`NoiseInjection`; not in the seed).
    film : bool
        Conditional GANs only: modulate every upsampling stage of the generator by the
        condition (:class:`FiLM`; not in the seed).
    white_noise : bool
        End the generator with additive white noise of learned covariance in sigma units
        (:class:`WhiteNoise`; not in the seed), initialised to the training data's white noise
        (:func:`~cosmicbook.tes.metrics.white_noise_covariance`).
    red_noise : bool
        With ``white_noise``, also end the generator with Gaussian 1/f noise of learned
        covariance and index (:class:`RedNoise`; not in the seed).
    bounded : bool
        Soft-limit the generator's compressed output to 1.5 times the largest absolute value
        of the compressed training data (``out_bound`` of :class:`Generator`, b tanh(y / b);
        not in the seed): nearly linear over the data's range, a ceiling some six times above
        its largest glitch.
    d_norm : {"channel", "segment", "none"}
        The discriminator's layer normalisation (``"channel"`` is the seed's).
    sample_rate : float
        Hz of the TOD (for the record, the PSD diagnostics and the timings).
    """

    scale: float = 3.0
    latent_dim: int = 100
    noise_inputs: bool = True
    film: bool = False
    white_noise: bool = False
    red_noise: bool = False
    bounded: bool = False
    d_norm: str = "channel"
    sample_rate: float = 180.37

    def __post_init__(self):
        if not isinstance(self.scale, numbers.Real) or not self.scale > 0:
            raise ValueError(f"scale must be positive, got {self.scale!r}")
        if isinstance(self.latent_dim, bool) or not isinstance(self.latent_dim,
                                                               numbers.Integral) \
                or self.latent_dim < 1:
            raise ValueError(f"latent_dim must be a positive int, got {self.latent_dim!r}")
        if self.red_noise and not self.white_noise:
            raise ValueError("red_noise needs white_noise")

    @classmethod
    def from_profile(cls, profile) -> CRABConfig:
        """The architecture knobs of a chapter profile (:data:`cosmicbook.tes.PROFILES`)."""
        return cls(**{f.name: profile[f.name] for f in fields(cls) if f.name in profile})

    def replace(self, **changes) -> CRABConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)


def build_crab(train: np.ndarray, flux: np.ndarray | None = None,
               config: CRABConfig | None = None, *, seed: int = 0,
               loss: str = "bce") -> CRAB:
    """A fresh CRAB GAN sized and initialised for its training data.

    The generator's output scale and shift are the compressed training data's standard
    deviation and mean, its output bound (``config.bounded``) 1.5 times their largest absolute
    value, and its white (and 1/f) noise starts at the data's white-noise covariance.

    Parameters
    ----------
    train : numpy.ndarray, shape (n_segments, n_bolometers, n_samples)
        Training MC in sigma units.
    flux : numpy.ndarray, shape (n_segments,), optional
        Given, the GAN is conditional on ``log(flux)``.
    config : CRABConfig, optional
        The architecture (default :class:`CRABConfig()`).
    seed : int
        Seeds the initial weights (torch's global RNG is seeded with it, as
        :func:`torch.manual_seed` does).
    loss : str
        The loss it will be trained with, for the record.

    Returns
    -------
    CRAB
        On the CPU, in training mode.

    Raises
    ------
    ValueError
        For bad shapes or NaNs in ``train``, a non-positive or misshapen ``flux`` or a
        ``config`` that is not a :class:`CRABConfig`.
    """
    config = CRABConfig() if config is None else config
    if not isinstance(config, CRABConfig):
        raise ValueError(f"config must be a CRABConfig, got {type(config).__name__}")
    train = check_tod(train, "train")
    n, n_bolo, length = train.shape
    if flux is not None:
        flux = np.asarray(flux, dtype=np.float64)
        if flux.shape != (n,) or not np.all(np.isfinite(flux)) or np.any(flux <= 0):
            raise ValueError(f"flux must be positive, finite, of shape ({n},)")
    torch.manual_seed(seed)
    y = compress(train, config.scale)
    gen_net = Generator(n_bolo, config.latent_dim, n_cond=int(flux is not None), length=length,
                        out_scale=float(y.std()), out_shift=float(y.mean()),
                        noise=config.noise_inputs, film=config.film,
                        white_noise=config.scale if config.white_noise else 0.0,
                        out_bound=1.5 * float(np.abs(y).max()) if config.bounded else 0.0,
                        red_noise=config.red_noise)
    if gen_net.white is not None:  # start from the training data's white noise
        cov = white_noise_covariance(train)
        chol = torch.from_numpy(np.linalg.cholesky(cov)).float()
        with torch.no_grad():
            gen_net.white.weight.copy_(chol)
            if gen_net.red is not None:  # 1/f as much as white power at 1 Hz, learned
                gen_net.red.weight.copy_(chol)
    disc = Discriminator(n_bolo, n_cond=int(flux is not None), length=length,
                         norm=config.d_norm)
    return CRAB(gen_net, disc, scale=config.scale, loss=loss, sample_rate=config.sample_rate)
