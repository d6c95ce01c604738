"""The multitask 1D CNN of Parks et al. (2018) in PyTorch.

One 400-pixel window of normalised flux in, three numbers out: the logit that the window is
centred within 60 pixels of a DLA (classification), the offset of the DLA centre from the
window centre (localisation, in units of :data:`OFFSET_SCALE` pixels) and log N(HI).

Architecture (``width=1`` is the paper's)::

    conv 100 filters, kernel 32, stride 3  -> ReLU -> max-pool 7, stride 4
    conv  96 filters, kernel 16            -> ReLU -> max-pool 6, stride 4
    conv  96 filters, kernel 16            -> ReLU -> max-pool 6, stride 4
    flatten -> dense 350 (shared) -> ReLU -> dropout
    heads: dense 200 -> 1 (classification), 350 -> 1 (offset), 150 -> 1 (log NHI)

``width`` scales the number of filters and dense units, so that the book profile can train a
narrower network in minutes on one CPU thread.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["OFFSET_SCALE", "WINDOW", "DLACNN"]

#: Window length in pixels.
WINDOW = 400
#: The offset head predicts offset / OFFSET_SCALE (pixels), i.e. values in [-1, 1].
OFFSET_SCALE = 60.0
#: log NHI is predicted relative to this value (dex), so the head starts near the middle.
NHI_ZERO = 20.5


def _scaled(n: int, width: float) -> int:
    return max(int(round(n * width)), 4)


class DLACNN(nn.Module):
    """Parks et al. (2018) three-head CNN.

    Parameters
    ----------
    width : float
        Multiplies every number of filters and dense units (1.0 = the paper).
    dropout : float
        Dropout probability after the shared dense layer (the paper keeps 98%: 0.02).
    window : int
        Input length in pixels.

    Notes
    -----
    Input: tensor of shape ``(batch, 1, window)`` (or ``(batch, window)``). Output: a tuple of
    three tensors of shape ``(batch,)``: classification logit, offset / :data:`OFFSET_SCALE`,
    log NHI (dex).
    """

    def __init__(self, width: float = 1.0, dropout: float = 0.02, window: int = WINDOW):
        super().__init__()
        if not width > 0:
            raise ValueError(f"width must be positive, got {width!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        self.width, self.dropout_p, self.window = float(width), float(dropout), int(window)
        c1, c2, c3 = _scaled(100, width), _scaled(96, width), _scaled(96, width)
        self.features = nn.Sequential(
            nn.Conv1d(1, c1, 32, stride=3, padding=15), nn.ReLU(),
            nn.MaxPool1d(7, stride=4, padding=3),
            nn.Conv1d(c1, c2, 16, padding=8), nn.ReLU(),
            nn.MaxPool1d(6, stride=4, padding=3),
            nn.Conv1d(c2, c3, 16, padding=8), nn.ReLU(),
            nn.MaxPool1d(6, stride=4, padding=3),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, 1, self.window)).shape[1]
        self.shared = nn.Sequential(nn.Linear(n_flat, _scaled(350, width)), nn.ReLU(),
                                    nn.Dropout(dropout))
        n_shared = _scaled(350, width)

        def head(n: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(n_shared, _scaled(n, width)), nn.ReLU(),
                                 nn.Linear(_scaled(n, width), 1))

        self.cls_head, self.offset_head, self.nhi_head = head(200), head(350), head(150)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if x.ndim == 2:
            x = x.unsqueeze(1)
        if x.ndim != 3 or x.shape[1] != 1 or x.shape[2] != self.window:
            raise ValueError(f"expected input of shape (batch, 1, {self.window}), "
                             f"got {tuple(x.shape)}")
        h = self.shared(self.features(x))
        return (self.cls_head(h).squeeze(1), self.offset_head(h).squeeze(1),
                self.nhi_head(h).squeeze(1) + NHI_ZERO)

    def config(self) -> dict:
        """The constructor arguments (stored with shipped weights)."""
        return {"width": self.width, "dropout": self.dropout_p, "window": self.window}
