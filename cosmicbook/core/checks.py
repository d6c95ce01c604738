"""Argument checks shared by the package: one wording for every "must be a positive int".

Each returns the value as a plain Python ``int`` or ``float`` and raises ``ValueError``
naming the argument otherwise; bools are refused where numbers are expected.

>>> positive_int(3, "epochs")
3
>>> nonnegative_number(0, "weight")
0.0
"""

from __future__ import annotations

import math
import numbers

__all__ = ["nonnegative_int", "nonnegative_number", "positive_int", "positive_number"]


def positive_int(value: object, name: str) -> int:
    """``value`` as an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def nonnegative_int(value: object, name: str) -> int:
    """``value`` as an int >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def positive_number(value: object, name: str) -> float:
    """``value`` as a finite float > 0 (e.g. a learning rate)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def nonnegative_number(value: object, name: str) -> float:
    """``value`` as a finite float >= 0 (e.g. a loss weight)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
    return float(value)
