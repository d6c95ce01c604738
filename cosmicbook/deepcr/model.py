"""The deepCR mask network: a small UNet that turns a frame in electrons into cosmic-ray logits.

:class:`UNet` reproduces the architecture of the deepCR mask models (Zhang & Bloom 2020): ``depth``
resolution levels joined by 2 x 2 max-pooling and 2 x 2 transposed convolutions, each level two
3 x 3 convolutions with batch normalisation and ReLU, ``width`` channels at the top level doubling
at every level below, concatenation skips and a 1 x 1 output convolution. ``UNet(2, 32)`` is
deepCR's "2-32" with exactly its 101,473 parameters; ``UNet(2, 4)`` its "2-4" (1,709).

Input normalisation is part of the model, so that a pipeline feeds it electrons. Every pixel is
mapped with the *pixel-local* transform ``asinh((x - center) / scale)``, where ``center`` (the
median) and ``scale`` (the robust standard deviation, 1.4826 x MAD) are statistics of the whole
frame: computed per sample when the model sees a training patch, and computed once per frame
by :func:`cosmicbook.deepcr.predict_mask`, which hands them to every tile. Subtracting the
median removes the sky level; dividing by the robust sigma puts the frame's noise near 1; the
asinh keeps cosmic rays of 10^4 e- from dominating the batch-norm statistics.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from cosmicbook.core.stats import robust_sigma

__all__ = [
    "MIN_SCALE",
    "UNet",
    "frame_statistics",
    "normalise",
    "variant_name",
    "parse_variant",
]

#: Smallest robust sigma (electrons) used by the normalisation, so that a frame of constant
#: pixels (e.g. a noiseless simulation) does not divide by zero.
MIN_SCALE = 0.1


def frame_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Median and robust sigma (1.4826 x median absolute deviation) of each sample of ``x``
    (:func:`cosmicbook.core.stats.robust_sigma`; torch's median, the lower middle value).

    Parameters
    ----------
    x : torch.Tensor, shape (N, 1, H, W)
        Frames or patches in electrons.

    Returns
    -------
    center, scale : torch.Tensor, shape (N, 1, 1, 1)
        The median (electrons) and the robust sigma, floored at :data:`MIN_SCALE` electrons.
    """
    center, sigma = robust_sigma(x.reshape(x.shape[0], -1), axis=1, return_median=True)
    return center.view(-1, 1, 1, 1), sigma.clamp_min(MIN_SCALE).view(-1, 1, 1, 1)


def normalise(x: torch.Tensor, center, scale) -> torch.Tensor:
    """The model's pixel-local input transform ``asinh((x - center) / scale)``."""
    return torch.asinh((x - center) / scale)


def variant_name(depth: int, width: int) -> str:
    """deepCR's name of a mask model, ``"{depth}-{width}"``.

    >>> variant_name(2, 32)
    '2-32'
    """
    return f"{depth}-{width}"


def parse_variant(name: str) -> tuple[int, int]:
    """``"2-32"`` -> ``(2, 32)``; ``ValueError`` for anything else.

    >>> parse_variant("3-32")
    (3, 32)
    """
    try:
        depth, width = (int(part) for part in str(name).split("-"))
    except ValueError:
        raise ValueError(f"a UNet variant is named 'depth-width', e.g. '2-32'; got {name!r}") \
            from None
    return depth, width


def _double_conv(c_in: int, c_out: int, momentum: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.BatchNorm2d(c_out, momentum=momentum),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1),
        nn.BatchNorm2d(c_out, momentum=momentum),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """deepCR-style mask UNet with ``depth`` levels and ``width`` channels at the top.

    Parameters
    ----------
    depth : int
        Number of resolution levels (>= 1). deepCR's mask models have 2, its inpainting 3.
    width : int
        Channels of the top level; level ``l`` has ``width * 2**l``.
    bn_momentum : float
        Momentum of the batch-norm running statistics (PyTorch's convention). deepCR's
        ACS/DECam models use 0.005; with the few hundred optimiser steps of a short run,
        PyTorch's default 0.1 lets the statistics converge before they are frozen.

    Notes
    -----
    ``forward(x)`` takes electrons, shape ``(N, 1, H, W)`` with ``H`` and ``W`` multiples of
    :attr:`multiple`, and returns *logits* of the same shape (``torch.sigmoid`` gives the
    cosmic-ray probability). Every output pixel depends only on input pixels within
    :attr:`receptive_radius` of it (plus the frame statistics), which is what makes tiling
    with a halo exact.

    Examples
    --------
    >>> net = UNet(2, 32)
    >>> net.n_parameters, net.name
    (101473, '2-32')
    >>> UNet(2, 4).n_parameters
    1709
    >>> net.receptive_radius
    10
    """

    def __init__(self, depth: int = 2, width: int = 32, bn_momentum: float = 0.1) -> None:
        super().__init__()
        for value, name in ((depth, "depth"), (width, "width")):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not 0.0 < bn_momentum <= 1.0:
            raise ValueError(f"bn_momentum must be in (0, 1], got {bn_momentum!r}")
        self.depth, self.width, self.bn_momentum = depth, width, float(bn_momentum)
        channels = [width * 2**level for level in range(depth)]
        self.inc = _double_conv(1, channels[0], bn_momentum)
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool2d(2), _double_conv(channels[i], channels[i + 1],
                                                        bn_momentum))
            for i in range(depth - 1)
        )
        self.upconv = nn.ModuleList(
            nn.ConvTranspose2d(channels[i + 1], channels[i], 2, stride=2)
            for i in reversed(range(depth - 1))
        )
        self.upblock = nn.ModuleList(
            _double_conv(2 * channels[i], channels[i], bn_momentum)
            for i in reversed(range(depth - 1))
        )
        self.outc = nn.Conv2d(channels[0], 1, 1)

    # -- description --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """deepCR's name of the architecture, e.g. ``"2-32"``."""
        return variant_name(self.depth, self.width)

    @property
    def n_parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())

    @property
    def multiple(self) -> int:
        """Frame sides must be multiples of this (``2**(depth-1)``): one per max-pool."""
        return 2 ** (self.depth - 1)

    @property
    def receptive_radius(self) -> int:
        """Upper bound, in pixels, on how far an output pixel sees into the input.

        Two 3 x 3 convolutions at level ``l`` reach ``2 * 2**l`` pixels on the way down and
        again on the way up, and each pooling / transposed convolution between levels ``l``
        and ``l+1`` up to ``2**l``: ``2**depth + 6 * (2**(depth-1) - 1)`` in all
        (10 for depth 2, 26 for depth 3). The tests check it against autograd.
        """
        return 2**self.depth + 6 * (2 ** (self.depth - 1) - 1)

    @property
    def default_halo(self) -> int:
        """The halo used for seamless tiling: the receptive radius rounded up to a multiple
        of :attr:`multiple` (so that tiles stay aligned with the pooling grid)."""
        m = self.multiple
        return int(math.ceil(self.receptive_radius / m) * m)

    def config(self) -> dict:
        """Constructor arguments, to rebuild the model from saved weights."""
        return {"depth": self.depth, "width": self.width, "bn_momentum": self.bn_momentum}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, parameters={self.n_parameters}"

    def fused(self) -> UNet:
        """A copy for fast inference: batch norm folded into the convolutions, channels-last.

        The copy computes the same function as ``self.eval()`` (to float rounding, ~1e-6) about
        1.6x faster on CPUs with oneDNN; it has no batch-norm layers and cannot be trained.
        ``self`` is left untouched.
        """
        from torch.nn.utils.fusion import fuse_conv_bn_eval

        twin = copy.deepcopy(self).eval()
        blocks = [twin.inc, *(down[1] for down in twin.down), *twin.upblock]
        for block in blocks:
            for i in (0, 3):
                if isinstance(block[i + 1], nn.BatchNorm2d):
                    block[i] = fuse_conv_bn_eval(block[i], block[i + 1])
                    block[i + 1] = nn.Identity()
        twin.is_fused = True
        return twin.to(memory_format=torch.channels_last)

    # -- computation --------------------------------------------------------------------------
    def forward(self, x: torch.Tensor, center: torch.Tensor | float | None = None,
                scale: torch.Tensor | float | None = None) -> torch.Tensor:
        """Cosmic-ray logits of frames in electrons.

        Parameters
        ----------
        x : torch.Tensor, shape (N, 1, H, W)
            Bias-subtracted frames or patches in electrons.
        center, scale : tensor or float, optional
            Frame statistics for the normalisation (see :func:`frame_statistics`); computed
            from each sample of ``x`` when omitted. Pass the whole frame's values when ``x``
            is a tile of a larger frame.

        Returns
        -------
        torch.Tensor, shape (N, 1, H, W)
            Logits; ``sigmoid(logits)`` is the probability that a pixel is a cosmic ray.
        """
        if x.ndim != 4 or x.shape[1] != 1:
            raise ValueError(f"expected input of shape (N, 1, H, W), got {tuple(x.shape)}")
        m = self.multiple
        if x.shape[2] % m or x.shape[3] % m:
            raise ValueError(
                f"{self.name} needs H and W divisible by {m}, got {tuple(x.shape[2:])}; "
                "pad the frame (predict_mask does this for you)"
            )
        if (center is None) != (scale is None):
            raise ValueError("give both center and scale, or neither")
        if center is None:
            center, scale = frame_statistics(x)
        h = normalise(x, center, scale)
        if getattr(self, "is_fused", False):
            h = h.contiguous(memory_format=torch.channels_last)
        skips = [self.inc(h)]
        for block in self.down:
            skips.append(block(skips[-1]))
        h = skips.pop()
        for upconv, block in zip(self.upconv, self.upblock, strict=True):
            h = block(torch.cat([skips.pop(), upconv(h)], dim=1))
        return self.outc(h)
