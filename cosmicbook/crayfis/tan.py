"""Transformation Adversarial Network (TAN): learn a phone's readout from unpaired frames.

The seed deck's recipe: simulation of the particle-sensor interaction + an *approximate*
readout gives frames that are almost, but not quite, real. A generator ``G`` transforms them;
a discriminator ``D`` tells transformed frames from real ones; constraints ``L0`` keep the
transformation faithful. Here

* ``G`` is residual and fully convolutional: ``G(x, z) = x + c(x, z)`` with ``x`` the
  approximate frame (ADU / :data:`ADU_SCALE`) and ``z`` maps of Gaussian noise, so it can
  add the noise the approximation lacks. Its one 3 x 3 convolution (cross-talk, blooming)
  sees only the signal more than :data:`SIGNAL_THRESHOLD` ADU above the frame's median, and
  the noise joins pixel by pixel after it: a first version that convolved the whole frame
  and the noise made neighbouring pixels' noise correlated (and anisotropic), which a
  two-sample classifier spots at once. Its output goes through an ADC to integer ADU with a
  straight-through gradient (real frames are 8-bit integers, and a discriminator would
  otherwise spot fractional values); the ADC's levels are half-integers during training and
  are then fitted to the real frames' pixel-value histogram (:func:`calibrate_adc`);
* ``D`` is a small spectrally normalised CNN that sees each frame on a logarithmic and a
  linear scale and answers per frame and per 4 x 4-pixel patch (:class:`Discriminator`),
  trained with the binary cross-entropy (non-saturating generator loss, as in Goodfellow et
  al.); the generator returned is a moving average of the trained one;
* the constraint loss :func:`constraint_losses` (i) keeps the charge of the track, measured
  on the pixels where the approximate frame has signal, within ``charge_tolerance`` (50%) of
  its value before the transformation, and (ii) penalises charge the generator creates far from
  where the track was (outside the track's footprint dilated by 2 pixels, smoothed over
  3 x 3 pixels so that single noisy pixels are allowed);
* distribution-matching losses :func:`matching_losses` — an addition beyond the seed deck,
  in the spirit of feature matching: per batch, the 1-D Wasserstein distances between the
  generated frames' brightest-cluster sizes and charges and those of all the (unpaired) real
  training frames, and between the batch's pixel values and the real batch's. A
  discriminator on single frames is nearly blind to a 15% change of the charge scale when
  tracks differ by a factor five in charge; these losses say which statistics to match.
  The cluster terms take their gradient from a soft count restricted to the brightest
  cluster and its rim (:func:`frame_observables`): counting every pixel above the threshold
  instead lets the generator grow "clusters" by widening the noise floor, which a
  two-sample test spots at once; the pixel-value term holds the noise floor in place;
* three noise-floor losses, because the evaluation counts cluster pixels from each frame's
  *median* and a classifier counts noise pixels: :func:`floor_loss` (per frame, the fractions
  of pixels below 0.5, 1.5, ... 4.5 ADU: a floor 0.1 ADU too high moves most frames' median
  up by one ADU, and every cluster shrinks), :func:`tail_loss` (per frame, the number of
  *isolated* pixels 3 to 8 ADU above the median: the read noise's tails, which tracks would
  hide) and :func:`histogram_loss` (the log pixel-value histogram of the batch, 0-15 ADU).
  They act on the generator's values before rounding (:meth:`Generator.response`) through
  soft, sigmoid-edged counts.

Real and approximate frames come from *different* interaction draws (unpaired training).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cosmicbook.core.checks import nonnegative_number, positive_int
from cosmicbook.core.device import get_device
from cosmicbook.core.training import (
    AdversarialSchedule,
    AdversarialSteps,
    Checkpoint,
    History,
    OptimizerPair,
    train_adversarial,
)
from cosmicbook.crayfis.evaluate import brightest_cluster, cluster_features
from cosmicbook.crayfis.model import INPUT_SCALE

__all__ = ["ADU_SCALE", "FLOOR_LEVELS", "MATCH_WEIGHTS", "SIGNAL_THRESHOLD", "TAIL_LEVELS",
           "Discriminator", "Generator", "calibrate_adc", "constraint_losses", "floor_loss",
           "floor_observables", "frame_observables", "histogram_loss", "matching_losses",
           "quantile_w1", "reference_observables", "tail_loss", "tail_observables",
           "TANConfig", "train_tan", "transform", "value_histogram"]

#: Default weights of the distribution-matching losses in :func:`train_tan`.
MATCH_WEIGHTS = {"size": 2.0, "charge": 1.0, "pixels": 2.0, "floor": 1.0, "tail": 3.0,
                 "histogram": 3.0}

#: The generator works on ADU / ADU_SCALE.
ADU_SCALE = 16.0

#: The generator's 3 x 3 convolution sees the signal more than this many ADU above the frame's
#: median (the approximate readout's noise stays below it).
SIGNAL_THRESHOLD = 2.0


class Generator(nn.Module):
    """Residual, fully convolutional transformation of approximate frames.

    Parameters
    ----------
    hidden : int
        Channels of the hidden layers.
    layers : int
        Hidden layers: one 3 x 3 convolution of the frame, then ``layers - 1`` pointwise
        (1 x 1) ones that also take the noise; the receptive field is 3 x 3 pixels, enough
        for cross-talk and blooming.
    noise_channels : int
        Gaussian noise maps per frame. The noise joins after the 3 x 3 convolution, so the
        noise the generator makes is independent from pixel to pixel (a sensor's read and
        shot noise are); several maps let the pointwise layers shape non-Gaussian noise
        (e.g. a scale mixture, which has heavy tails).

    Notes
    -----
    ``forward(adu, z)``: ``adu`` of shape ``(batch, 1, h, w)`` in ADU (float), ``z`` Gaussian
    noise of shape ``(batch, noise_channels, h, w)`` (:meth:`sample_noise`); returns
    transformed integer-valued ADU in [0, 255]. The last layer starts at zero, so the
    untrained generator is the identity.
    """

    def __init__(self, hidden: int = 16, layers: int = 3, noise_channels: int = 1):
        super().__init__()
        if int(hidden) < 1 or int(layers) < 1 or int(noise_channels) < 1:
            raise ValueError(f"hidden, layers and noise_channels must be positive, got "
                             f"{hidden!r}, {layers!r}, {noise_channels!r}")
        self.hidden, self.layers = int(hidden), int(layers)
        self.noise_channels = int(noise_channels)
        # the 3 x 3 convolution sees only the signal above the noise floor (cross-talk,
        # blooming: nearest neighbours); the frame's own pixel and the noise z join per
        # pixel, so the noise it makes is independent from pixel to pixel, as a sensor's read
        # and shot noise are; then 1 x 1 layers (gain curve, noise model)
        self.context = nn.Sequential(nn.Conv2d(2, self.hidden, 3, padding=1), nn.LeakyReLU(0.2))
        mods: list[nn.Module] = []
        width = self.hidden + 2 + self.noise_channels
        for _ in range(self.layers - 1):
            mods += [nn.Conv2d(width, self.hidden, 1), nn.LeakyReLU(0.2)]
            width = self.hidden
        self.body = nn.Sequential(*mods)
        self.out = nn.Conv2d(width, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        # the ADC: response values at which the output steps from k to k + 1 ADU (rounding
        # until :func:`calibrate_adc` fits them)
        self.register_buffer("adc_levels", torch.arange(255, dtype=torch.float32) + 0.5)

    def response(self, adu: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The transformed frames before the rounding to integer ADU (in [0, 255])."""
        if (adu.ndim != 4 or adu.shape[1] != 1 or z.ndim != 4
                or z.shape != (adu.shape[0], self.noise_channels, *adu.shape[2:])):
            raise ValueError(f"expected adu of shape (batch, 1, h, w) and z of shape (batch, "
                             f"{self.noise_channels}, h, w), got {tuple(adu.shape)} and "
                             f"{tuple(z.shape)}")
        u = adu / ADU_SCALE
        # linear (gains) and logarithmic (noise floor) views of the frame, pixel by pixel;
        # the 3 x 3 convolution sees only the signal above the noise floor, so that the
        # neighbours' noise does not leak into a pixel (the noise stays uncorrelated)
        views = torch.cat([u, torch.log1p(adu) / INPUT_SCALE], dim=1)
        floor = adu.flatten(1).median(dim=1).values.view(-1, 1, 1, 1) + SIGNAL_THRESHOLD
        signal = F.relu(adu - floor)
        context = self.context(torch.cat([signal / ADU_SCALE,
                                          torch.log1p(signal) / INPUT_SCALE], dim=1))
        corr = self.out(self.body(torch.cat([context, views, z], dim=1)))
        return torch.clamp((u + corr) * ADU_SCALE, 0.0, 255.0)

    def quantize(self, response: torch.Tensor) -> torch.Tensor:
        """Integer ADU from :meth:`response` through the ADC levels (identity gradient)."""
        levels = self.adc_levels.to(response.dtype)
        q = torch.searchsorted(levels, response.contiguous(), right=True).to(response.dtype)
        return response + (q - response).detach()

    def forward(self, adu: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.quantize(self.response(adu, z))

    def sample_noise(self, adu: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Gaussian noise ``z`` for frames ``adu`` of shape ``(batch, 1, h, w)``."""
        shape = (adu.shape[0], self.noise_channels, *adu.shape[2:])
        return torch.randn(shape, generator=generator).to(adu.device)

    def config(self) -> dict:
        """Constructor arguments."""
        return {"hidden": self.hidden, "layers": self.layers,
                "noise_channels": self.noise_channels}


class Discriminator(nn.Module):
    """A small spectrally normalised CNN judging frames of ADU values.

    It sees each frame twice, on a logarithmic scale (the noise floor) and on a linear one
    (track charge), and answers twice: one logit per 4 x 4-pixel patch (a PatchGAN map,
    texture and noise) and one per frame (from global max- and mean-pooled features: cluster
    sizes and charges).

    Notes
    -----
    ``forward(adu)`` returns ``(frame_logits, patch_logits)`` of shapes ``(batch,)`` and
    ``(batch, h / 4, w / 4)``.
    """

    def __init__(self, hidden: int = 16):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        h = int(hidden)
        if h < 1:
            raise ValueError(f"hidden must be positive, got {hidden!r}")
        self.features = nn.Sequential(
            sn(nn.Conv2d(2, h, 3, padding=1)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(h, 2 * h, 3, padding=1, stride=2)), nn.LeakyReLU(0.2),
            sn(nn.Conv2d(2 * h, 2 * h, 3, padding=1, stride=2)), nn.LeakyReLU(0.2),
        )
        self.patch = sn(nn.Conv2d(2 * h, 1, 1))
        self.head = sn(nn.Linear(4 * h, 1))

    def forward(self, adu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([torch.log1p(adu) / INPUT_SCALE, adu / 64.0], dim=1)
        h = self.features(x)
        frame = self.head(torch.cat([h.amax(dim=(2, 3)), h.mean(dim=(2, 3))], 1)).squeeze(1)
        return frame, self.patch(h).squeeze(1)


def _d_loss(out: tuple[torch.Tensor, torch.Tensor], real: bool) -> torch.Tensor:
    """Binary cross-entropy of both discriminator heads against ``real``."""
    bce = F.binary_cross_entropy_with_logits
    return sum(bce(o, torch.full_like(o, float(real))) for o in out)


def constraint_losses(approx: torch.Tensor, out: torch.Tensor,
                      charge_tolerance: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """The two faithfulness constraints of the TAN (means over the batch).

    The *footprint* of a frame is where the approximate frame has signal: pixels more than
    2 ADU above its median, dilated by 2 pixels. Backgrounds are the mean of each frame
    outside its footprint, so that noise adds nothing to a charge on average.

    Parameters
    ----------
    approx, out : torch.Tensor, shape (batch, 1, h, w)
        Frames (ADU) before and after the transformation.
    charge_tolerance : float
        Relative change of the track charge allowed without penalty: the real phone's gain is
        unknown to tens of percent, so the constraint forbids erasing or inventing charge, not
        recalibrating it.

    Returns
    -------
    (charge, position) : tuple of torch.Tensor
        ``charge``: ``relu(|log((Q_out + 1) / (Q_in + 1))| - log(1 + tol))^2``, ``Q`` the
        background-subtracted charge on the footprint (frames whose ``Q_in`` is below 5 ADU
        are not constrained). ``position``: charge of ``out`` *outside* the footprint,
        smoothed over 3 x 3 pixels and counted more than 2 ADU above the background (single
        noise pixels do not count, a new track does), relative to ``Q_in + 10``.
    """
    with torch.no_grad():
        med = approx.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
        foot = F.max_pool2d((approx - med > 2).float(), 5, stride=1, padding=2)
        outside = (1 - foot).sum(dim=(1, 2, 3)).clamp(min=1)
        bg_in = ((approx * (1 - foot)).sum(dim=(1, 2, 3)) / outside).view(-1, 1, 1, 1)
        q_in = ((approx - bg_in) * foot).sum(dim=(1, 2, 3))
    bg_out = ((out * (1 - foot)).sum(dim=(1, 2, 3)) / outside).view(-1, 1, 1, 1)
    q_out = ((out - bg_out) * foot).sum(dim=(1, 2, 3))
    ratio = torch.log((q_out.clamp(min=0) + 1) / (q_in.clamp(min=0) + 1))
    dev = ratio.abs() - math.log1p(charge_tolerance)
    charge = (F.relu(dev).pow(2) * (q_in > 5).float()).mean()
    smooth = F.avg_pool2d(out - bg_out, 3, stride=1, padding=1, count_include_pad=False)
    stray = (F.relu(smooth - 2) * (1 - foot)).sum(dim=(1, 2, 3))
    position = (stray / (q_in.clamp(min=0) + 10)).mean()
    return charge, position


def frame_observables(adu: torch.Tensor, threshold: float = 3.0, temperature: float = 1.5,
                      grow: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Size and charge of each frame's brightest cluster, with a surrogate gradient.

    The values are exactly those of :func:`~cosmicbook.crayfis.evaluate.cluster_features`
    (pixels more than ``threshold`` ADU above the frame's median, the 8-connected cluster
    holding the brightest one; the labelling itself has no gradient). The gradient is that of
    a soft count ``sigmoid((x - m - threshold - 0.5) / temperature)`` over the cluster grown
    by ``grow`` pixels (straight-through): it reaches the pixels just outside the cluster,
    which is where a readout's cross-talk or gain makes clusters grow, and not isolated noise
    pixels elsewhere in the frame.

    Parameters
    ----------
    adu : torch.Tensor, shape (batch, 1, h, w)
        Frames (ADU).
    threshold : float
        ADU above the median (as in the evaluation).
    temperature : float
        Width of the surrogate's soft edge (ADU): wide enough that pixels at the noise level
        next to a cluster receive a gradient.
    grow : int
        Pixels by which the cluster is grown for the surrogate gradient.

    Returns
    -------
    (size, charge) : tuple of torch.Tensor, shape (batch,)
        Pixels and ADU above the median.
    """
    if adu.ndim != 4 or adu.shape[1] != 1:
        raise ValueError(f"expected frames of shape (batch, 1, h, w), got {tuple(adu.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    if int(grow) != grow or grow < 0:
        raise ValueError(f"grow must be a non-negative int, got {grow!r}")
    med = adu.detach().flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
    sig = adu - med
    with torch.no_grad():
        s = sig[:, 0].cpu().numpy()
        member = np.stack([brightest_cluster(f, threshold) for f in s])
        member = torch.from_numpy(member[:, None]).to(adu.device, adu.dtype)
        region = F.max_pool2d(member, 2 * int(grow) + 1, stride=1, padding=int(grow))
    soft = torch.sigmoid((sig - threshold - 0.5) / temperature) * region
    weight = member + soft - soft.detach()  # forward: the hard cluster; backward: the soft one
    return weight.sum(dim=(1, 2, 3)), (weight * sig).sum(dim=(1, 2, 3))


def quantile_w1(sample: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """1-D Wasserstein-1 distance between a sample and a (large, fixed) reference sample.

    The sorted ``sample`` (``n`` values) is compared with the reference's quantiles at the
    plotting positions ``(i + 0.5) / n``: the reference adds no sampling noise of its own.
    For two samples of equal size this is the mean absolute difference of the sorted values
    (the gradient reaches ``sample`` only).

    Examples
    --------
    >>> ref = torch.arange(100.0)
    >>> float(quantile_w1(torch.tensor([25.0, 75.0]), ref))
    0.0
    >>> float(quantile_w1(torch.tensor([3.0, 1.0, 2.0]), torch.tensor([2.0, 4.0, 3.0])))
    1.0
    """
    if sample.ndim != 1 or reference.ndim != 1 or len(sample) == 0 or len(reference) == 0:
        raise ValueError(f"need two non-empty 1-D samples, got {tuple(sample.shape)} and "
                         f"{tuple(reference.shape)}")
    ref = torch.sort(reference).values
    pos = ((torch.arange(len(sample), device=ref.device) + 0.5) / len(sample)
           * len(ref)).long()
    return (torch.sort(sample).values - ref[pos].detach()).abs().mean()


def reference_observables(real, threshold: float = 3.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Brightest-cluster sizes and charges of a set of real frames, for :func:`matching_losses`.

    Parameters
    ----------
    real : array_like, shape (n, h, w)
        Real frames (ADU), e.g. all the TAN's real training frames.

    Returns
    -------
    (size, charge) : tuple of torch.Tensor, shape (n,)
        Sorted.
    """
    feats = cluster_features(real, threshold)
    return (torch.sort(torch.as_tensor(feats.size, dtype=torch.float32)).values,
            torch.sort(torch.as_tensor(feats.charge, dtype=torch.float32)).values)


def matching_losses(fake: torch.Tensor, real: torch.Tensor,
                    reference: tuple[torch.Tensor, torch.Tensor] | None = None,
                    threshold: float = 3.0, temperature: float = 1.5,
                    pixel_quantiles: int = 512, pixel_stride: int = 7
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unpaired distribution matching of the statistics the TAN is judged on.

    Auxiliary generator losses next to the adversarial one (like feature matching, they tell
    the generator *which* statistics to match; nothing is paired):

    * ``size``, ``charge``: 1-D Wasserstein distances between the generated batch's
      brightest-cluster sizes and charges (:func:`frame_observables`) and those of the real
      ``reference`` set (:func:`reference_observables`, :func:`quantile_w1`);
    * ``pixels``: the mean absolute difference of ``pixel_quantiles`` quantiles of the pixel
      values of the generated and the real batch (every ``pixel_stride``-th pixel of each),
      which holds the noise floor in place while the cluster terms act.

    Parameters
    ----------
    fake, real : torch.Tensor, shape (batch, 1, h, w)
        Generated and real frames (ADU), the same number of each.
    reference : (size, charge), optional
        Real cluster sizes and charges; default: those of ``real``.
    threshold, temperature : float
        See :func:`frame_observables`.

    Returns
    -------
    (size, charge, pixels) : tuple of torch.Tensor
        W1 of the size (pixels / 4), of the charge (ADU / :data:`ADU_SCALE`) and of the pixel
        values (ADU), scaled to order one.
    """
    if fake.shape != real.shape:
        raise ValueError(f"fake and real batches differ in shape: {tuple(fake.shape)} and "
                         f"{tuple(real.shape)}")
    if reference is None:
        reference = reference_observables(real[:, 0].detach().cpu().numpy(), threshold)
    size_f, charge_f = frame_observables(fake, threshold, temperature)
    q = torch.linspace(0.0, 1.0, int(pixel_quantiles), device=fake.device)
    pixels = (torch.quantile(fake.flatten()[::pixel_stride], q)
              - torch.quantile(real.flatten()[::pixel_stride], q).detach()).abs().mean()
    return (quantile_w1(size_f, reference[0]) / 4.0,
            quantile_w1(charge_f, reference[1]) / ADU_SCALE, pixels)


def _step(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """``x > 0`` as 0/1, or its soft version ``sigmoid(x / temperature)`` when
    ``temperature > 0`` (the counts of the noise-floor losses)."""
    if temperature > 0:
        return torch.sigmoid(x / temperature)
    return (x > 0).to(x.dtype)


#: Pixel values (ADU) at which :func:`floor_observables` measures each frame's distribution.
FLOOR_LEVELS = (0.5, 1.5, 2.5, 3.5, 4.5)


def floor_observables(values: torch.Tensor, levels=FLOOR_LEVELS,
                      temperature: float = 0.0) -> torch.Tensor:
    """Fraction of each frame's pixels below a few low levels (the noise floor's shape).

    Parameters
    ----------
    values : torch.Tensor, shape (batch, 1, h, w)
        Pixel values (ADU); with ``temperature > 0`` the fractions are soft,
        ``sigmoid((level - value) / temperature)``, for a gradient (use the generator's values
        before rounding, :meth:`Generator.response`).
    levels : sequence of float
        Half-integer levels: below 1.5 ADU means "0 or 1 ADU".

    Returns
    -------
    torch.Tensor, shape (batch, len(levels))
    """
    lv = torch.as_tensor(levels, dtype=values.dtype, device=values.device).view(1, -1, 1, 1)
    return _step(lv - values, temperature).mean(dim=(2, 3))


def floor_loss(response: torch.Tensor, reference: torch.Tensor,
               temperature: float = 0.1) -> torch.Tensor:
    """Distance between the noise-floor fractions of generated frames and real ones.

    Per level, the 1-D Wasserstein distance (:func:`quantile_w1`) between the batch's soft
    fractions (:func:`floor_observables`) and those of the ``reference`` real frames, in units
    of the reference's spread (at least 0.01), averaged over the levels. The frame's median,
    from which the cluster threshold is counted, is where these fractions cross one half: a
    floor 0.1 ADU too high moves the median of most frames up by one ADU.

    Parameters
    ----------
    response : torch.Tensor, shape (batch, 1, h, w)
        Generated values before rounding.
    reference : torch.Tensor, shape (n, levels)
        :func:`floor_observables` of real frames.
    """
    frac = floor_observables(response, temperature=temperature)
    if frac.shape[1] != reference.shape[1]:
        raise ValueError(f"reference has {reference.shape[1]} levels, expected {frac.shape[1]}")
    spread = reference.std(dim=0).clamp(min=0.01)
    return torch.stack([quantile_w1(frac[:, k], reference[:, k]) / spread[k]
                        for k in range(frac.shape[1])]).mean()


def value_histogram(values: torch.Tensor, n_bins: int = 16,
                    temperature: float = 0.0) -> torch.Tensor:
    """Fractions of pixels at 0, 1, ..., ``n_bins - 2`` ADU and at ``n_bins - 1`` or more.

    With ``temperature > 0`` the bins have soft (sigmoid) edges at the half-integers, for a
    gradient through values before rounding.
    """
    edges = torch.arange(n_bins, dtype=values.dtype, device=values.device) - 0.5
    above = _step(values.reshape(-1, 1) - edges, temperature)
    above = torch.cat([above, torch.zeros_like(above[:, :1])], dim=1)
    return (above[:, :-1] - above[:, 1:]).mean(dim=0)


def histogram_loss(response: torch.Tensor, reference: torch.Tensor,
                   temperature: float = 0.1, floor: float = 1e-4) -> torch.Tensor:
    """Mean absolute difference of the log pixel-value histograms (the noise's tails).

    Parameters
    ----------
    response : torch.Tensor, shape (batch, 1, h, w)
        Generated values before rounding.
    reference : torch.Tensor, shape (n_bins,)
        :func:`value_histogram` of real frames.
    floor : float
        Added to both histograms before the logarithm.
    """
    hist = value_histogram(response, len(reference), temperature)
    return (torch.log(hist + floor) - torch.log(reference + floor)).abs().mean()


#: Levels above a frame's median (ADU) at which :func:`tail_observables` counts pixels.
TAIL_LEVELS = (2.5, 3.5, 4.5, 5.5, 6.5, 7.5)


def _neighbour_max(values: torch.Tensor) -> torch.Tensor:
    """The largest of each pixel's 8 neighbours (``-inf`` outside the frame)."""
    h, w = values.shape[-2:]
    padded = F.pad(values, (1, 1, 1, 1), value=-math.inf)
    shifts = [padded[..., 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
              for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    return torch.stack(shifts).amax(dim=0)


def tail_observables(values: torch.Tensor, levels=TAIL_LEVELS,
                     temperature: float = 0.0, isolation: float = 1.0) -> torch.Tensor:
    """``log(1 + n)``, ``n`` a frame's *isolated* pixels more than each level above its median.

    The read noise's tails: an empty real frame holds a handful of pixels 3 ADU or more above
    its median, a light-tailed noise model almost none; a classifier counts them at once.
    Only isolated pixels count (none of the 8 neighbours more than ``isolation`` ADU above
    the median), so that tracks, which dominate these counts in frames that have one, do not
    hide the noise's tails. The median and the isolation use the (rounded) values, without
    gradient.

    Returns
    -------
    torch.Tensor, shape (batch, len(levels))
    """
    rounded = torch.round(values.detach())
    med = rounded.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
    isolated = (_neighbour_max(rounded) - med <= isolation).to(values.dtype)
    lv = torch.as_tensor(levels, dtype=values.dtype, device=values.device).view(1, -1, 1, 1)
    return torch.log1p((_step(values - med - lv, temperature) * isolated).sum(dim=(2, 3)))


def tail_loss(response: torch.Tensor, reference: torch.Tensor,
              temperature: float = 0.1) -> torch.Tensor:
    """Mean over the levels of the W1 distance between :func:`tail_observables` of generated
    frames (soft, values before rounding) and of real ones (``reference``, shape (n, levels))."""
    obs = tail_observables(response, temperature=temperature)
    if obs.shape[1] != reference.shape[1]:
        raise ValueError(f"reference has {reference.shape[1]} levels, expected {obs.shape[1]}")
    return torch.stack([quantile_w1(obs[:, k], reference[:, k])
                        for k in range(obs.shape[1])]).mean()


def _as_tensor(frames) -> torch.Tensor:
    x = np.asarray(frames, dtype=np.float32)
    if x.ndim != 3:
        raise ValueError(f"expected frames of shape (n, h, w), got {x.shape}")
    if not np.all(np.isfinite(x)) or np.any(x < 0):
        raise ValueError("frames must be finite, non-negative ADU values")
    return torch.from_numpy(x[:, None].copy())


@dataclass(frozen=True)
class TANConfig:
    """How a TAN is trained (:func:`train_tan`); the architecture is the caller's
    :class:`Generator` and :class:`Discriminator`.

    Parameters
    ----------
    epochs : int
        Passes over the approximate training frames (one history row and checkpoint each).
    batch_size : int
        Frames per update (approximate and real alike).
    lr : float
        Peak learning rate of both Adam optimizers (betas 0.5, 0.9), decayed to 0 along a
        cosine over all the updates of the run.
    lambda_charge, lambda_position : float
        Weights of the two constraints of :func:`constraint_losses`.
    charge_tolerance : float
        Relative change of a track's charge allowed without penalty (0.5: 50%).
    lambda_match : float
        Weight of the distribution-matching losses (0: the adversarial loss and the
        constraints only, the seed deck's TAN).
    match_weights : dict, optional
        Relative weights of the matching losses by name, ``"size"``, ``"charge"``,
        ``"pixels"``, ``"floor"``, ``"tail"``, ``"histogram"`` (a name left out weighs 0);
        ``None`` takes :data:`MATCH_WEIGHTS`.
    calibrate : bool
        Fit the trained generator's ADC levels to the real training frames
        (:func:`calibrate_adc`).
    ema_decay : float
        Decay in [0, 1) of the moving average of the generator's weights, updated after every
        generator step; the generator ends with the averaged weights (0: the last iterate).
    precision : {"auto", "float32", "bfloat16"}
        The updates' precision (bfloat16 autocast on a CUDA device with ``"auto"``, float32
        on the CPU; see :class:`~cosmicbook.core.training.AdversarialSchedule`).
    compile : bool
        Compile both networks (opt-in, for long GPU runs).

    Raises
    ------
    ValueError
        For a non-positive ``epochs``, ``batch_size`` or ``lr``, negative weights or
        tolerance, unknown matching-loss names, or ``ema_decay`` outside [0, 1).
    """

    epochs: int = 6
    batch_size: int = 32
    lr: float = 1e-3
    lambda_charge: float = 10.0
    lambda_position: float = 1.0
    charge_tolerance: float = 0.5
    lambda_match: float = 1.0
    match_weights: dict[str, float] | None = None
    calibrate: bool = True
    ema_decay: float = 0.99
    precision: str = "auto"
    compile: bool = False

    def __post_init__(self):
        positive_int(self.epochs, "epochs")
        positive_int(self.batch_size, "batch_size")
        if nonnegative_number(self.lr, "lr") == 0:
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        for name in ("lambda_charge", "lambda_position", "charge_tolerance", "lambda_match"):
            nonnegative_number(getattr(self, name), name)
        weights = {} if self.match_weights is None else self.match_weights
        if not isinstance(weights, dict) or set(weights) - set(MATCH_WEIGHTS) or any(
                isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w)
                or w < 0 for w in weights.values()):
            raise ValueError(f"match_weights must map some of {sorted(MATCH_WEIGHTS)} to "
                             f"non-negative weights, got {self.match_weights!r}")
        if not isinstance(self.calibrate, bool):
            raise ValueError(f"calibrate must be a bool, got {self.calibrate!r}")
        if isinstance(self.ema_decay, bool) or not isinstance(self.ema_decay, numbers.Real) \
                or not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {self.ema_decay!r}")

    @property
    def weights(self) -> dict[str, float]:
        """The matching losses' relative weights (:data:`MATCH_WEIGHTS` when not given)."""
        return dict(MATCH_WEIGHTS) if self.match_weights is None else dict(self.match_weights)

    def replace(self, **changes) -> TANConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)


class _TANPair(nn.Module):
    """Generator and discriminator as one module (what :func:`train_adversarial` saves)."""

    def __init__(self, generator: Generator, discriminator: Discriminator):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator


class _TANSteps(AdversarialSteps):
    """The TAN's updates. An epoch is one round: it re-seeds its random generator with
    ``seed * 1000 + epoch``, shuffles the approximate frames and cycles through shuffled real
    ones. One iteration transforms a batch once: :meth:`critic_step` sets the (cosine)
    learning rate, draws the batch and the noise, transforms and updates the discriminator;
    :meth:`generator_step` updates the generator on the same transformed batch (so
    ``n_critic`` is 1)."""

    def __init__(self, model: _TANPair, xa: torch.Tensor, xr: torch.Tensor, config: TANConfig,
                 optimizers: OptimizerPair, seed: int, n_batches: int, references):
        self.model, self.xa, self.xr, self.config = model, xa, xr, config
        self.optimizers, self.seed, self.n_batches = optimizers, seed, n_batches
        self.references = references
        self.weights = config.weights
        self.total = config.epochs * n_batches

    def begin_round(self, round: int) -> None:
        self.round, self.i, self.sums = round, 0, {}
        self.rng = torch.Generator().manual_seed(self.seed * 1000 + round)
        self.order_a = torch.randperm(len(self.xa), generator=self.rng)
        self.order_r = torch.randperm(len(self.xr), generator=self.rng)

    def critic_step(self) -> None:
        cfg, gen, disc = self.config, self.model.generator, self.model.discriminator
        i, size = self.i, cfg.batch_size
        step = (self.round - 1) * self.n_batches + i
        for opt in (self.optimizers.generator, self.optimizers.discriminator):
            opt.param_groups[0]["lr"] = 0.5 * cfg.lr * (1 + math.cos(math.pi * step / self.total))
        a = self.xa[self.order_a[i * size:(i + 1) * size]]
        idx = torch.arange(i * size, i * size + len(a)) % len(self.xr)
        r = self.xr[self.order_r[idx]]
        resp = gen.response(a, gen.sample_noise(a, self.rng))
        fake = gen.quantize(resp)
        d_real, d_fake = disc(r), disc(fake.detach())
        loss_d = _d_loss(d_real, True) + _d_loss(d_fake, False)
        opt_d = self.optimizers.discriminator
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        self.batch = (a, r, resp, fake, loss_d, d_real, d_fake)

    def generator_step(self) -> None:
        cfg, disc = self.config, self.model.discriminator
        a, r, resp, fake, loss_d, d_real, d_fake = self.batch
        adv = _d_loss(disc(fake), True)
        charge, position = constraint_losses(a, fake, cfg.charge_tolerance)
        loss_g = adv + cfg.lambda_charge * charge + cfg.lambda_position * position
        terms: dict[str, torch.Tensor] = {}
        if cfg.lambda_match > 0:  # (0: exactly the adversarial TAN of the seed deck)
            reference, floor_ref, tail_ref, hist_ref = self.references
            weights = self.weights
            terms = dict(zip(("size", "charge", "pixels"),
                             matching_losses(fake, r, reference), strict=True))
            if weights.get("floor", 0) > 0:
                terms["floor"] = floor_loss(resp, floor_ref)
            if weights.get("tail", 0) > 0:
                terms["tail"] = tail_loss(resp, tail_ref)
            if weights.get("histogram", 0) > 0:
                terms["histogram"] = histogram_loss(resp, hist_ref)
            loss_g = loss_g + cfg.lambda_match * sum(weights.get(k, 0.0) * v
                                                     for k, v in terms.items())
        opt_g = self.optimizers.generator
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        acc = 0.5 * ((d_real[0] > 0).float().mean() + (d_fake[0] < 0).float().mean())
        record = {"d_loss": loss_d, "g_adversarial": adv, "g_charge": charge,
                  "g_position": position, "d_accuracy": acc,
                  **{f"g_match_{k}": v for k, v in terms.items()}}
        for k, v in record.items():
            self.sums[k] = self.sums.get(k, 0.0) + v.item() / self.n_batches
        self.batch = None
        self.i += 1

    def end_round(self, round: int, shown: nn.Module) -> dict[str, Any]:
        sums = self.sums
        return {"train_loss": sums["d_loss"] + sums["g_adversarial"],
                "lr": self.optimizers.generator.param_groups[0]["lr"], **sums}


def train_tan(generator: Generator, discriminator: Discriminator, approx, real,
              config: TANConfig | None = None, *, seed: int = 0,
              checkpoint: str | Path | Checkpoint | None = None, resume: bool = True,
              device: str | torch.device | None = "cpu",
              progress: bool | None = None) -> History:
    """Train a TAN on unpaired approximate and real frames.

    Runs on :func:`cosmicbook.core.training.train_adversarial`, one round per epoch. Per
    batch: one discriminator step (BCE of both heads, real vs transformed), then one
    generator step on the same transformed batch (non-saturating adversarial loss +
    ``lambda_charge`` x charge + ``lambda_position`` x position constraint, see
    :func:`constraint_losses`, + ``lambda_match`` x the weighted sum of the
    distribution-matching losses: the three :func:`matching_losses` (brightest-cluster size
    and charge against those of *all* the real training frames, pixel values against the
    batch's real frames) and the noise-floor losses :func:`floor_loss`, :func:`tail_loss` and
    :func:`histogram_loss` against all the real training frames). Adam with
    ``betas=(0.5, 0.9)`` and a cosine decay of the learning rate to 0 over all steps. The
    generator ends with an exponential moving average of its weights (``config.ema_decay``
    per step), which smooths out the oscillations of adversarial training, and with
    ``config.calibrate`` its ADC levels are then fitted to the training frames
    (:func:`calibrate_adc`).

    Parameters
    ----------
    generator : Generator
        Trained in place (its initial weights are the caller's: seed torch before building
        it, e.g. ``torch.manual_seed(seed); Generator(hidden=16)``); ends in eval mode.
    discriminator : Discriminator
        Trained in place; ends in eval mode.
    approx, real : array_like, shape (n, h, w) and (m, h, w)
        Frames (ADU) from the approximate readout and from the real phone; an epoch runs over
        ``approx`` once (``max(n // batch_size, 1)`` updates), with real frames drawn in a
        shuffled cycle.
    config : TANConfig, optional
        The training settings (default ``TANConfig()``).
    seed : int
        Seeds the shuffling and the generator's noise (epoch ``e`` draws from
        ``seed * 1000 + e``) and the noise of the ADC calibration.
    checkpoint : path or Checkpoint, optional
        Written after every epoch; with ``resume`` an existing one is continued (or, when
        complete, only loaded). One written with other settings, another seed, another
        generator or other training data sizes is an error.
    resume : bool
        Continue from ``checkpoint`` when it exists (``False`` starts over).
    device : str, torch.device or None
        Where to train (:func:`~cosmicbook.core.device.get_device`); the networks stay there.
    progress : bool or None
        A progress bar over epochs; ``None`` follows ``COSMICBOOK_PROGRESS``.

    Returns
    -------
    History
        Per epoch: ``train_loss`` (``d_loss + g_adversarial``), ``lr`` (of the epoch's last
        update), and the epoch means of ``d_loss``, ``g_adversarial``, ``g_charge``,
        ``g_position``, ``d_accuracy`` (on the frame head) and one ``g_match_<name>`` per
        matching loss used.

    Raises
    ------
    ValueError
        For frames that are not finite non-negative ADU of shape (n, h, w), approximate and
        real frames of different sizes, a ``config`` that is not a :class:`TANConfig`, networks
        that are not a TAN's, or a checkpoint written with other settings.
    """
    config = TANConfig() if config is None else config
    if not isinstance(config, TANConfig):
        raise ValueError(f"config must be a TANConfig, got {type(config).__name__}")
    if not isinstance(generator, Generator) or not isinstance(discriminator, Discriminator):
        raise ValueError(f"expected a crayfis.tan Generator and Discriminator, got "
                         f"{type(generator).__name__} and {type(discriminator).__name__}")
    xa, xr = _as_tensor(approx), _as_tensor(real)
    if xa.shape[1:] != xr.shape[1:]:
        raise ValueError(f"approximate and real frames differ in size: {tuple(xa.shape)} and "
                         f"{tuple(xr.shape)}")
    dev = get_device(device)
    references = None
    if config.lambda_match > 0:  # statistics of all the real training frames, computed once
        references = (tuple(t.to(dev) for t in reference_observables(xr[:, 0].numpy())),
                      floor_observables(xr).to(dev), tail_observables(xr).to(dev),
                      value_histogram(xr).to(dev))
    model = _TANPair(generator, discriminator).to(dev)
    xa, xr = xa.to(dev), xr.to(dev)
    optimizers = OptimizerPair(
        torch.optim.Adam(generator.parameters(), lr=config.lr, betas=(0.5, 0.9)),
        torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=(0.5, 0.9)))
    n_batches = max(len(xa) // config.batch_size, 1)
    steps = _TANSteps(model, xa, xr, config, optimizers, seed, n_batches, references)
    schedule = AdversarialSchedule(rounds=config.epochs, steps_per_round=n_batches,
                                   ema_decay=config.ema_decay, precision=config.precision,
                                   compile=config.compile)
    meta = {"training": {**config.as_dict(), "compile": None}, "seed": seed,
            "generator": generator.config(), "frames": [len(xa), len(xr), *xa.shape[2:]]}
    history = train_adversarial(steps, schedule, optimizers,
                                checkpoint=None if checkpoint is None else Checkpoint(checkpoint),
                                meta=meta, resume=resume, progress=progress, desc="TAN")
    model.eval()
    if config.calibrate:
        calibrate_adc(generator, xa[:, 0].cpu(), xr[:, 0].cpu(), seed=seed)
    return history


def _apply(generator: Generator, x: torch.Tensor, seed: int, batch_size: int,
           quantize: bool) -> torch.Tensor:
    """The generator in eval mode on frames ``x`` (batch, 1, h, w), noise seeded by ``seed``:
    integer ADU (``quantize``) or the values before the ADC."""
    g = torch.Generator().manual_seed(seed)
    was = generator.training
    generator.eval()
    out = []
    device = generator.adc_levels.device
    with torch.no_grad():
        for a in torch.split(x, batch_size):
            a = a.to(device)
            resp = generator.response(a, generator.sample_noise(a, g))
            out.append((generator.quantize(resp) if quantize else resp).cpu())
    generator.train(was)
    return torch.cat(out)


def calibrate_adc(generator: Generator, approx, real, seed: int = 0,
                  batch_size: int = 512) -> Generator:
    """Fit the generator's ADC levels to real frames (quantile mapping), in place.

    A real ADC's codes are not all one step wide. Here the level at which the output steps
    from ``k`` to ``k + 1`` ADU is set to the quantile of the generator's values before
    rounding (:meth:`Generator.response`, on ``approx`` with seeded noise) at the fraction of
    real pixels at or below ``k`` ADU, so that the pooled pixel-value histogram of the
    generated frames is that of ``real`` (the classical quantile mapping of simulation
    output). A monotone map of values: it moves no pixel past another. Codes that ``real``
    never reaches are never produced.

    Parameters
    ----------
    generator : Generator
        A trained generator; its ``adc_levels`` are replaced.
    approx, real : array_like, shape (n, h, w) and (m, h, w)
        Training frames of the two readouts (unpaired).
    seed : int
        Seeds the generator's noise.

    Returns
    -------
    Generator
        ``generator``, calibrated.
    """
    x, xr = _as_tensor(approx), _as_tensor(real)
    if x.shape[1:] != xr.shape[1:]:
        raise ValueError(f"approximate and real frames differ in size: {tuple(x.shape)} and "
                         f"{tuple(xr.shape)}")
    resp = _apply(generator, x, seed, batch_size, quantize=False)
    values = xr.round().clamp(0, 255).to(torch.int64).flatten()
    cdf = np.cumsum(np.bincount(values.numpy(), minlength=256)[:255]) / values.numel()
    levels = np.quantile(resp.flatten().double().numpy(), np.clip(cdf, 0.0, 1.0))
    levels[cdf <= 0] = -np.inf  # no real value this low: the code is never produced
    levels[cdf >= 1] = np.inf
    generator.adc_levels.copy_(torch.as_tensor(levels, dtype=torch.float32))
    return generator


def transform(generator: Generator, frames, seed: int = 0,
              batch_size: int = 512) -> np.ndarray:
    """Apply a trained generator to approximate frames.

    Parameters
    ----------
    generator : Generator
    frames : array_like, shape (n, h, w)
        Approximate frames (ADU).
    seed : int
        Seeds the generator's noise input.

    Returns
    -------
    numpy.ndarray of uint8, shape (n, h, w)
    """
    out = _apply(generator, _as_tensor(frames), seed, batch_size, quantize=True)
    return out[:, 0].numpy().astype(np.uint8)
