"""History: the per-epoch record of a training run."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validate import _as_float, _nonnegative_int

if TYPE_CHECKING:
    from astropy.table import Table
    from matplotlib.axes import Axes

class History:
    """Per-epoch record of a training run: losses, metrics, learning rate and wall time.

    Stored as a dict of equally long lists, ``history.records``, with the keys

    ``epoch``
        1-based epoch number (int).
    ``train_loss``
        Mean training loss over the epoch, weighted by batch size, in the units of the loss.
        Measured while the weights change, so it lags the end-of-epoch model slightly.
    ``val_loss``
        Validation loss of the end-of-epoch model, weighted by batch size (NaN without
        validation data).
    ``lr``
        Learning rate of the optimizer's first parameter group during the epoch.
    ``seconds``
        Wall-clock duration of the epoch (training, validation and metrics), in s.
    any metric name
        Values returned by the ``metrics`` callables of :func:`fit` (NaN for epochs in which
        the metric was not computed).

    Attributes
    ----------
    records : dict of str -> list
    stopped_early : bool
        True when an ``epoch_callback`` stopped the run.

    Examples
    --------
    >>> h = History()
    >>> h.append(1, train_loss=0.5, val_loss=0.6, lr=1e-3, seconds=2.0)
    >>> h.append(2, train_loss=0.3, val_loss=0.4, lr=1e-3, seconds=2.1, iou=0.7)
    >>> h["val_loss"], h["iou"][1]
    ([0.6, 0.4], 0.7)
    >>> h.best_epoch()
    2
    """

    BASE_KEYS: tuple[str, ...] = ("epoch", "train_loss", "val_loss", "lr", "seconds")

    def __init__(self) -> None:
        self.records: dict[str, list] = {key: [] for key in self.BASE_KEYS}
        self.stopped_early: bool = False

    # -- container protocol -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records["epoch"])

    def __getitem__(self, key: str) -> list:
        try:
            return self.records[key]
        except KeyError:
            raise KeyError(f"history has no {key!r}; it has {list(self.records)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.records

    def keys(self) -> list[str]:
        """All record names: the base keys, then metric names in order of appearance."""
        return list(self.records)

    @property
    def metric_names(self) -> list[str]:
        """The names of the extra metrics (everything but :attr:`BASE_KEYS`)."""
        return [k for k in self.records if k not in self.BASE_KEYS]

    @property
    def last(self) -> dict[str, float]:
        """The most recent epoch's record as a dict (empty when there is none)."""
        if not len(self):
            return {}
        return {k: v[-1] for k, v in self.records.items()}

    def __repr__(self) -> str:
        if not len(self):
            return "History(0 epochs)"
        last = self.last
        parts = [f"epoch {last['epoch']}", f"train_loss={last['train_loss']:.4g}"]
        if not math.isnan(last["val_loss"]):
            parts.append(f"val_loss={last['val_loss']:.4g}")
        parts += [f"{k}={last[k]:.4g}" for k in self.metric_names]
        stop = ", stopped early" if self.stopped_early else ""
        return f"History({len(self)} epochs; last: {', '.join(parts)}{stop})"

    # -- recording --------------------------------------------------------------------------
    def append(
        self,
        epoch: int,
        train_loss: float,
        val_loss: float | None = None,
        *,
        lr: float | None = None,
        seconds: float | None = None,
        **metrics: float,
    ) -> None:
        """Add one epoch's record. ``None`` is stored as NaN; a new metric is back-filled.

        Parameters
        ----------
        epoch : int
            1-based epoch number.
        train_loss, val_loss : float
            Mean losses of the epoch (``val_loss=None`` without validation data).
        lr : float, optional
            Learning rate used during the epoch.
        seconds : float, optional
            Duration of the epoch in s.
        **metrics : float
            Extra named values, e.g. ``iou=0.8``.
        """
        epoch = _nonnegative_int(epoch, "epoch")
        n = len(self)
        row: dict[str, float | int] = {
            "epoch": epoch,
            "train_loss": _as_float(train_loss),
            "val_loss": _as_float(val_loss),
            "lr": _as_float(lr),
            "seconds": _as_float(seconds),
        }
        row.update({name: _as_float(value) for name, value in metrics.items()})
        for key in row:
            if key not in self.records:
                self.records[key] = [math.nan] * n
        for key, column in self.records.items():
            column.append(row.get(key, math.nan))

    def best_epoch(self, key: str = "val_loss", mode: str = "min") -> int:
        """Epoch number with the lowest (``mode="min"``) or highest (``"max"``) ``key``.

        NaN entries are ignored. Raises ``ValueError`` when ``key`` has no finite value.
        """
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        values = np.asarray(self[key], dtype=float)
        finite = np.isfinite(values)
        if not finite.any():
            raise ValueError(f"history has no finite {key!r} value")
        masked = np.where(finite, values, np.inf if mode == "min" else -np.inf)
        index = int(np.argmin(masked) if mode == "min" else np.argmax(masked))
        return int(self.records["epoch"][index])

    # -- (de)serialisation ------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A plain-python copy (lists of floats) suitable for ``torch.save`` or JSON."""
        return {
            "records": {k: list(v) for k, v in self.records.items()},
            "stopped_early": bool(self.stopped_early),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Replace the contents with those of :meth:`state_dict`'s output."""
        records = state.get("records") if isinstance(state, Mapping) else None
        if not isinstance(records, Mapping):
            raise ValueError("not a History state dict: it has no 'records' mapping")
        missing = [k for k in self.BASE_KEYS if k not in records]
        if missing:
            raise ValueError(f"History state dict lacks {missing}")
        lengths = {k: len(v) for k, v in records.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"History state dict has columns of unequal length: {lengths}")
        ordered = list(self.BASE_KEYS) + [k for k in records if k not in self.BASE_KEYS]
        self.records = {k: list(records[k]) for k in ordered}
        self.stopped_early = bool(state.get("stopped_early", False))

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any]) -> History:
        """Build a History from :meth:`state_dict`'s output."""
        history = cls()
        history.load_state_dict(state)
        return history

    def to_table(self) -> Table:
        """The history as an :class:`astropy.table.Table`, one row per epoch.

        ``seconds`` carries the unit ``s``; the losses are in the (arbitrary) units of the
        loss function. ``meta["stopped_early"]`` records an early stop.
        """
        import astropy.units as u
        from astropy.table import Table

        table = Table(meta={"stopped_early": self.stopped_early})
        table["epoch"] = np.asarray(self.records["epoch"], dtype=np.int64)
        for key in self.records:
            if key != "epoch":
                table[key] = np.asarray(self.records[key], dtype=np.float64)
        table["seconds"].unit = u.s
        table["train_loss"].description = "mean training loss over the epoch"
        table["val_loss"].description = "validation loss of the end-of-epoch model"
        table["lr"].description = "learning rate (first parameter group)"
        table["seconds"].description = "wall-clock duration of the epoch"
        return table

    def plot(
        self, ax: Axes | None = None, keys: Sequence[str] | None = None, logy: bool = True
    ) -> Axes:
        """Learning curves: each of ``keys`` against epoch.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure is made when omitted.
        keys : sequence of str, optional
            Records to plot; default: ``train_loss`` and, when validated, ``val_loss``.
        logy : bool
            Logarithmic y axis (ignored, linear axis, when a plotted value is <= 0).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6.0, 4.0))
        if keys is None:
            keys = [
                k for k in ("train_loss", "val_loss")
                if np.isfinite(np.asarray(self.records[k], dtype=float)).any()
            ]
        elif isinstance(keys, str):
            keys = [keys]
        labels = {"train_loss": "training", "val_loss": "validation"}
        epochs = np.asarray(self.records["epoch"])
        plotted = []
        for key in keys:
            values = np.asarray(self[key], dtype=float)
            ax.plot(epochs, values, marker="o", markersize=3, label=labels.get(key, key))
            plotted.append(values[np.isfinite(values)])
        values = np.concatenate(plotted) if plotted else np.empty(0)
        if logy and values.size and (values > 0).all():
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss" if set(keys) <= {"train_loss", "val_loss"} else "value")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if keys:
            ax.legend()
        ax.grid(True, alpha=0.3)
        return ax

