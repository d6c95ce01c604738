"""Small argument validators shared by the training modules."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..checks import nonnegative_int, positive_int, positive_number

if TYPE_CHECKING:
    pass

_positive_int = positive_int
_positive_number = positive_number
_nonnegative_int = nonnegative_int


def _as_float(value: object) -> float:
    """``None`` -> NaN; tensors and numpy scalars -> python float."""
    if value is None:
        return math.nan
    if hasattr(value, "item"):
        value = value.item()
    return float(value)


def _check_loader(loader: Any, name: str) -> None:
    if loader is None or not isinstance(loader, Iterable):
        raise TypeError(f"{name} must be an iterable of batches (e.g. a DataLoader), got "
                        f"{type(loader).__name__}")
    try:
        n = len(loader)
    except TypeError:  # an IterableDataset without __len__: checked while iterating
        return
    if n == 0:
        raise ValueError(
            f"{name} is empty (len 0): check the dataset size and batch_size/drop_last"
        )

