"""The settings every supervised training shares: :class:`FitConfig`.

Each chapter's ``train_*`` function takes a small frozen config (``CleanerConfig``,
``TrainingConfig``, ``MaskNetConfig``...). They all start with the same three fields, checked the
same way, so they subclass :class:`FitConfig`: a chapter config redeclares those fields only to
give them its defaults, adds its own, and checks its own in a ``__post_init__`` that calls
``super().__post_init__()`` first.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._validate import _positive_int, _positive_number

__all__ = ["FitConfig"]


@dataclass(frozen=True)
class FitConfig:
    """Epochs, batch size and learning rate, validated on construction.

    Attributes
    ----------
    epochs : int
        Passes over the training set (a positive int, not a bool).
    batch_size : int
        Samples per optimiser step (a positive int, not a bool).
    lr : float
        The optimiser's (initial) learning rate (a finite number above 0).

    Raises
    ------
    ValueError
        On a setting out of range, naming the field.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class MyConfig(FitConfig):
    ...     epochs: int = 5
    ...     batch_size: int = 32
    ...     lr: float = 1e-3
    ...     dropout: float = 0.1
    ...
    ...     def __post_init__(self):
    ...         super().__post_init__()
    ...         if not 0 <= self.dropout < 1:
    ...             raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
    >>> MyConfig(epochs=2)
    MyConfig(epochs=2, batch_size=32, lr=0.001, dropout=0.1)
    >>> MyConfig(batch_size=0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive int, got 0
    >>> MyConfig(lr=float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: lr must be a positive number, got nan
    """

    epochs: int
    batch_size: int
    lr: float

    def __post_init__(self) -> None:
        _positive_int(self.epochs, "epochs")
        _positive_int(self.batch_size, "batch_size")
        _positive_number(self.lr, "lr")
