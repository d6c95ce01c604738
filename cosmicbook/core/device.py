"""Compute device, random seeds and CPU threads: the three knobs every chapter sets first.

The book runs on a laptop CPU, on Colab or NERSC GPUs and on Apple silicon, so no chapter
hard-codes a device. :func:`get_device` picks the best available one (or validates the one a
reader asks for), :func:`seed_everything` makes a run repeatable, and :func:`set_num_threads`
pins the number of CPU threads so that timings quoted in the book mean something.

``torch`` is imported inside the functions, so ``import cosmicbook`` stays fast.

Examples
--------
>>> from cosmicbook.core.device import get_device, seed_everything
>>> rng = seed_everything(0)            # python, numpy and torch RNGs; returns a Generator
>>> device = get_device()               # cuda > mps > cpu
>>> get_device("cpu")
device(type='cpu')
"""

from __future__ import annotations

import numbers
import os
import random
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["get_device", "seed_everything", "set_num_threads"]

#: Device types :func:`get_device` accepts explicitly (``"auto"`` picks among the first three).
KNOWN_DEVICE_TYPES: tuple[str, ...] = ("cuda", "mps", "cpu", "xpu")

#: Environment variable read by :func:`set_num_threads` when called without an argument.
NUM_THREADS_ENV = "COSMICBOOK_NUM_THREADS"

_MAX_SEED = 2**32 - 1  # numpy's legacy RandomState accepts seeds in [0, 2**32 - 1]


def _mps_works() -> bool:
    """True when the MPS backend is both built, available and able to run a kernel.

    ``torch.backends.mps.is_available()`` can be true on machines where the first kernel
    still fails (old macOS, some virtual machines); a one-element computation settles it.
    """
    import torch

    backend = getattr(torch.backends, "mps", None)
    if backend is None:
        return False
    try:
        if not backend.is_available():
            return False
        x = torch.ones(1, device="mps")
        return bool((x + x).cpu().item() == 2.0)
    except Exception:  # any failure means "not usable"
        return False


def _xpu_available() -> bool:
    import torch

    xpu = getattr(torch, "xpu", None)
    try:
        return bool(xpu is not None and xpu.is_available())
    except Exception:
        return False


def get_device(device: str | torch.device | None = None) -> torch.device:
    """Return the ``torch.device`` to compute on.

    Parameters
    ----------
    device : str, torch.device or None
        ``None`` or ``"auto"`` chooses automatically: CUDA if available, else Apple's MPS if
        available *and* working, else the CPU. Anything else (``"cpu"``, ``"cuda"``,
        ``"cuda:1"``, ``"mps"``, ``"xpu"`` or a ``torch.device``) is validated and returned.

    Returns
    -------
    torch.device
        For ``"cuda"`` without an index the device type only (``device(type='cuda')``), which
        PyTorch maps to the current CUDA device.

    Raises
    ------
    ValueError
        For a name PyTorch does not know, a device type the book does not use (e.g.
        ``"meta"``), or a backend that is not available on this machine (``"cuda"`` without
        a GPU, ``"cuda:3"`` on a machine with two GPUs, ``"mps"`` off Apple silicon).
    TypeError
        When ``device`` is neither ``None``, a string nor a ``torch.device``.

    Examples
    --------
    >>> get_device("cpu")
    device(type='cpu')
    """
    import torch

    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_works():
            return torch.device("mps")
        return torch.device("cpu")

    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device.strip().lower())
        except (RuntimeError, ValueError) as err:
            raise ValueError(
                f"unknown device {device!r}: expected 'auto', 'cpu', 'cuda', 'cuda:N', 'mps' "
                f"or 'xpu'"
            ) from err
    else:
        raise TypeError(
            f"device must be None, a string or a torch.device, not {type(device).__name__}"
        )

    if dev.type not in KNOWN_DEVICE_TYPES:
        raise ValueError(
            f"unsupported device type {dev.type!r} (from {device!r}): expected one of "
            f"'auto', {', '.join(repr(t) for t in KNOWN_DEVICE_TYPES)}"
        )
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device {device!r} requested but CUDA is not available on this machine "
                f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); "
                f"use device='auto' or 'cpu'"
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(
                f"device {device!r} requested but this machine has {count} CUDA device(s) "
                f"(indices 0..{count - 1})"
            )
    elif dev.type == "mps":
        if not _mps_works():
            raise ValueError(
                f"device {device!r} requested but the MPS backend (Apple silicon) is not "
                f"available or not working here; use device='auto' or 'cpu'"
            )
    elif dev.type == "xpu":
        if not _xpu_available():
            raise ValueError(f"device {device!r} requested but no Intel XPU is available")
    return dev


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be a non-negative int, not {seed!r}")
    seed = int(seed)
    if not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**32 - 1] (numpy's limit), got {seed}")
    return seed


def seed_everything(seed: int, deterministic: bool = False) -> np.random.Generator:
    """Seed every random number generator a chapter may touch, and return a numpy Generator.

    Seeds python's :mod:`random`, numpy's legacy global RNG (``np.random.seed``, still used by
    many astronomy packages), torch's CPU generator and the generators of all CUDA devices.
    New code should draw from the returned :class:`numpy.random.Generator` rather than from
    the global numpy functions.

    Parameters
    ----------
    seed : int
        A non-negative integer below ``2**32``.
    deterministic : bool
        Also ask PyTorch for deterministic kernels:
        ``torch.use_deterministic_algorithms(True, warn_only=True)`` (a warning, not an error,
        for an operation that has no deterministic implementation),
        ``torch.backends.cudnn.deterministic = True``, ``torch.backends.cudnn.benchmark =
        False`` and, if not already set, ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (which only takes
        effect if CUDA has not been initialised yet). Slower on GPUs; CPU training is already
        deterministic for the layers used in the book. ``False`` leaves these settings as
        they are (it does not switch determinism off).

    Returns
    -------
    numpy.random.Generator
        ``np.random.default_rng(seed)``.

    Raises
    ------
    ValueError
        When ``seed`` is not an integer in ``[0, 2**32 - 1]`` (``bool`` is rejected too).

    Examples
    --------
    >>> rng = seed_everything(42)
    >>> a = rng.normal()
    >>> a == seed_everything(42).normal()
    True
    """
    import torch

    seed = _check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeding the legacy global RNG is the point here
    torch.manual_seed(seed)  # CPU, and (lazily) every CUDA device
    torch.cuda.manual_seed_all(seed)  # explicit; a no-op without CUDA
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)


def set_num_threads(n: int | None = None) -> int:
    """Set the number of threads PyTorch uses within one CPU operation (intra-op parallelism).

    Parameters
    ----------
    n : int or None
        A positive number of threads. ``None`` reads the environment variable
        ``COSMICBOOK_NUM_THREADS``; if that is unset or empty, torch's current setting (by
        default the number of physical cores, or ``OMP_NUM_THREADS``) is left alone.

    Returns
    -------
    int
        The number of threads in force afterwards (``torch.get_num_threads()``).

    Raises
    ------
    ValueError
        When ``n`` (or the environment variable) is not a positive integer.
    """
    import torch

    source = "n"
    if n is None:
        raw = os.environ.get(NUM_THREADS_ENV, "").strip()
        if not raw:
            return torch.get_num_threads()
        source = NUM_THREADS_ENV
        try:
            n = int(raw)
        except ValueError:
            raise ValueError(
                f"{NUM_THREADS_ENV}={raw!r} is not an integer number of threads"
            ) from None
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{source} must be a positive number of threads, got {n!r}")
    torch.set_num_threads(int(n))
    return torch.get_num_threads()
