"""Small argument validators shared by the training modules."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass

def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _positive_number(value: object, name: str) -> float:
    """A finite real number above 0 (not a bool), e.g. a learning rate."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _nonnegative_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


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

