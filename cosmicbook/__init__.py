"""cosmicbook: the helper package of a Jupyter Book of reproducible deep-learning tutorials for
cosmic rays and astro-particle data.

Each method of the book is a subpackage (``cosmicbook.darks``, ...); the shared machinery lives
in :mod:`cosmicbook.core` and its most used names are available here::

    import cosmicbook as cb
    from cosmicbook import darks

    cfg = cb.resolve_profile(darks.PROFILES, "book")
    device = cb.get_device()          # CUDA when available, else the CPU
"""

from __future__ import annotations

import importlib
from typing import Any

from . import core
from .core import (
    PROFILES,
    Metric,
    Profile,
    Results,
    Timer,
    best_time,
    collect_results,
    data_registry,
    fetch,
    glue,
    glue_run,
    load_benchmark,
    mask_nan,
    profile_times,
    progress,
    read_image,
    resolve_profile,
    scoreboard_markdown,
    value_span,
    write_image,
)

__version__ = "0.1.0"

_SUBPACKAGES = ("darks", "deepcr", "dla", "cherenkov", "tes", "crayfis")

__all__ = [
    "__version__",
    "core",
    "PROFILES",
    "Metric",
    "Profile",
    "Results",
    "Timer",
    "best_time",
    "collect_results",
    "data_registry",
    "fetch",
    "glue",
    "glue_run",
    "load_benchmark",
    "mask_nan",
    "profile_times",
    "progress",
    "read_image",
    "resolve_profile",
    "scoreboard_markdown",
    "value_span",
    "write_image",
    *core._LAZY,
    *_SUBPACKAGES,
]


def __getattr__(name: str) -> Any:
    if name in core._LAZY:
        value = getattr(core, name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(core._LAZY) | set(_SUBPACKAGES))
