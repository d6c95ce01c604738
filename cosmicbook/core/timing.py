"""Wall-clock timing for the chapters' timing tables (reported, never asserted)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["best_time", "Timer"]


def best_time(func: Callable[[], Any], repeat: int = 3, number: int = 1,
              sync_cuda: bool = False) -> float:
    """The best of ``repeat`` timings of ``number`` calls of ``func``, per call, in seconds.

    The minimum is the least noisy estimate of what the code costs (other processes only ever
    add time), as in :mod:`timeit`.

    Parameters
    ----------
    func : callable
        Called with no arguments.
    repeat, number : int
        Timing rounds, and calls per round.
    sync_cuda : bool
        Synchronise CUDA before reading the clock (for GPU work, which runs asynchronously).
    """
    if repeat < 1 or number < 1:
        raise ValueError(f"repeat and number must be >= 1, got {repeat} and {number}")

    def sync() -> None:
        if sync_cuda:
            import torch

            if torch.cuda.is_available():
                torch.cuda.synchronize()

    best = float("inf")
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        for _ in range(number):
            func()
        sync()
        best = min(best, (time.perf_counter() - start) / number)
    return best


class Timer:
    """Context manager measuring the wall-clock time of a block.

    Examples
    --------
    >>> with Timer() as t:
    ...     _ = sum(range(1000))
    >>> t.seconds >= 0
    True
    """

    def __init__(self) -> None:
        self.seconds = float("nan")
        self._start = 0.0

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start
