"""The shared core of cosmicbook: profiles, device and seeding, the training loop, progress
bars, plotting, I/O, timing and results.

Torch-dependent pieces (:mod:`~cosmicbook.core.device`, :mod:`~cosmicbook.core.training`) are
imported on first use, so that ``import cosmicbook`` stays fast for chapters that do not train.
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import PROFILES, Profile, resolve_profile
from .io import data_registry, fetch, read_image, write_image
from .progress import progress
from .prose import glue, glue_run, machine_name, mask_nan, profile_times, value_span
from .results import Metric, Results, collect_results, load_benchmark, scoreboard_markdown
from .timing import Timer, best_time

_LAZY = {
    "get_device": "device",
    "seed_everything": "device",
    "set_num_threads": "device",
    "fit": "training",
    "FitConfig": "training",
    "FitOptions": "training",
    "predict": "training",
    "evaluate": "training",
    "Checkpoint": "training",
    "checkpoint_name": "training",
    "History": "training",
    "freeze_batchnorm": "training",
    "unfreeze_batchnorm": "training",
    "update_average": "training",
    "train_adversarial": "training",
    "AdversarialSchedule": "training",
    "AdversarialSteps": "training",
    "OptimizerPair": "training",
    "set_style": "plotting",
    "imshow_zscale": "plotting",
    "stamp_grid": "plotting",
    "MemoryEstimate": "memory",
    "estimate_training_memory": "memory",
    "isolated_rng": "memory",
}

__all__ = [
    "glue",
    "glue_run",
    "machine_name",
    "mask_nan",
    "profile_times",
    "value_span",
    "PROFILES",
    "Profile",
    "resolve_profile",
    "data_registry",
    "fetch",
    "read_image",
    "write_image",
    "progress",
    "Metric",
    "Results",
    "collect_results",
    "load_benchmark",
    "scoreboard_markdown",
    "Timer",
    "best_time",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
