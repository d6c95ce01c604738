"""The three networks of the chapter (PyTorch).

* :class:`CNNCleaner` -- the seed's background-subtraction autoencoder: two convolution +
  average-pooling stages, two convolution + upsampling stages, a sigmoid output (200 -> 50 ->
  200 pixels, "same" padding, 12 filters of 2 x 2).
* :class:`CNNRegressor` -- the seed's localiser: Conv2D(6, 4x4) + max-pool, four
  Conv2D(12, 2x2) + max-pool, dropout, a dense layer of ``dense`` units (the seed: 10,000),
  dropout, two sigmoid outputs (x, y in units of the map size).
* :class:`HeatmapLocaliser` -- beyond the seed: a small fully convolutional network that turns
  a counts map binned to 0.1 deg cells into a heat map of source centres (CenterNet-like), so
  that a map can hold zero to several sources.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["CNNCleaner", "CNNRegressor", "HeatmapLocaliser", "count_parameters"]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _check_input(x: torch.Tensor, channels: int, size: int | None, divisor: int) -> None:
    if x.ndim != 4 or x.shape[1] != channels:
        raise ValueError(f"expected input of shape (N, {channels}, H, W), got {tuple(x.shape)}")
    if size is not None and tuple(x.shape[-2:]) != (size, size):
        raise ValueError(f"expected {size} x {size} maps, got {tuple(x.shape[-2:])}")
    if x.shape[-1] % divisor or x.shape[-2] % divisor:
        raise ValueError(f"map sides must be multiples of {divisor}, got {tuple(x.shape[-2:])}")


class CNNCleaner(nn.Module):
    """The seed's CNN-cleaner (Di Piano et al.), in PyTorch.

    ======================  =================
    layer                   output (200 input)
    ======================  =================
    Conv2D(12, 2x2, ReLU)   12 x 200 x 200
    AvgPool 2x2             12 x 100 x 100
    Conv2D(12, 2x2, ReLU)   12 x 100 x 100
    AvgPool 2x2             12 x 50 x 50
    Conv2D(12, 2x2, ReLU)   12 x 50 x 50
    UpSampling 2x2          12 x 100 x 100
    Conv2D(12, 2x2, ReLU)   12 x 100 x 100
    UpSampling 2x2          12 x 200 x 200
    Conv2D(1, 2x2, sigmoid) 1 x 200 x 200
    ======================  =================

    Parameters
    ----------
    filters : int
        Filters of the hidden convolutions (the seed: 12).

    Input: ``(N, 1, H, W)`` smoothed, min-max normalised counts maps (H, W multiples of 4);
    output: the same shape, in [0, 1].
    """

    def __init__(self, filters: int = 12):
        super().__init__()
        if filters < 1:
            raise ValueError(f"filters must be >= 1, got {filters}")
        self.filters = int(filters)
        f = self.filters

        def conv(cin, cout):  # Keras' "same" for a 2 x 2 kernel: one extra row/column after
            return nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(cin, cout, 2))

        self.net = nn.Sequential(
            conv(1, f), nn.ReLU(), nn.AvgPool2d(2),
            conv(f, f), nn.ReLU(), nn.AvgPool2d(2),
            conv(f, f), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            conv(f, f), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            conv(f, 1), nn.Sigmoid(),
        )

    def config(self) -> dict:
        return {"filters": self.filters}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, 1, None, 4)
        return self.net(x)


class CNNRegressor(nn.Module):
    """The seed's CNN-regressor: the position (x, y) / map size of one source.

    Parameters
    ----------
    dense : int
        Units of the dense layer (the seed: 10,000, i.e. 4.3 million weights after a 200 x 200
        input; the book profile uses fewer so that the shipped weights stay small).
    dropout : float
        Dropout rate before and after the dense layer (the seed: 0.2).
    size : int
        Map side (200).
    """

    def __init__(self, dense: int = 10000, dropout: float = 0.2, size: int = 200):
        super().__init__()
        if dense < 1 or not (0 <= dropout < 1) or size < 32:
            raise ValueError(f"bad CNNRegressor settings dense={dense}, dropout={dropout}, "
                             f"size={size}")
        self.dense, self.dropout, self.size = int(dense), float(dropout), int(size)
        # Keras' "same" padding of even kernels: the extra row/column goes after
        layers = [nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(1, 6, 4), nn.ReLU(), nn.MaxPool2d(2)]
        cin, side = 6, size // 2
        for _ in range(4):
            layers += [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(cin, 12, 2), nn.ReLU(),
                       nn.MaxPool2d(2)]
            cin, side = 12, side // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Flatten(), nn.Linear(12 * side * side, dense), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(dense, 2), nn.Sigmoid())

    def config(self) -> dict:
        return {"dense": self.dense, "dropout": self.dropout, "size": self.size}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, 1, self.size, 1)
        return self.head(self.features(x))


class HeatmapLocaliser(nn.Module):
    """A fully convolutional source-centre detector on 0.1-deg cells.

    Input ``(N, 2, 50, 50)`` (see :func:`cosmicbook.cherenkov.preprocess.localiser_inputs`);
    output ``(N, 1, 50, 50)`` logits of "a source centre is in this cell". Dilated 3 x 3
    convolutions (dilations 2, 4, 8) give a receptive field of 3.3 deg, enough to see the
    background level around a source.

    Parameters
    ----------
    width : int
        Channels of the hidden layers.
    in_channels : int
        Input channels (2).
    """

    def __init__(self, width: int = 16, in_channels: int = 2):
        super().__init__()
        if width < 1 or in_channels < 1:
            raise ValueError(f"width and in_channels must be >= 1, got {width}, {in_channels}")
        self.width, self.in_channels = int(width), int(in_channels)
        w = self.width
        layers: list[nn.Module] = [nn.Conv2d(in_channels, w, 3, padding=1),
                                   nn.BatchNorm2d(w), nn.ReLU()]
        for d in (2, 4, 8):
            layers += [nn.Conv2d(w, w, 3, padding=d, dilation=d), nn.BatchNorm2d(w), nn.ReLU()]
        layers += [nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, 1, 1)]
        self.net = nn.Sequential(*layers)
        # start with a low prior probability of a source in a cell (CenterNet's -2.19)
        nn.init.constant_(self.net[-1].bias, -4.0)

    def config(self) -> dict:
        return {"width": self.width, "in_channels": self.in_channels}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.in_channels, None, 1)
        return self.net(x)
