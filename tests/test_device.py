"""Tests of cosmicbook.core.device: device choice, seeding and thread count."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from cosmicbook.core import device as devmod
from cosmicbook.core.device import get_device, seed_everything, set_num_threads

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _restore_torch_globals():
    """seed_everything(deterministic=True) and set_num_threads change process-wide state."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    yield
    torch.set_num_threads(threads)
    now = (torch.are_deterministic_algorithms_enabled(),
           torch.is_deterministic_algorithms_warn_only_enabled())
    if now != (deterministic, warn_only):  # the first call is slow (~1 s): only when needed
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn


# -- get_device ------------------------------------------------------------------------------
def test_get_device_cpu():
    assert get_device("cpu") == torch.device("cpu")
    assert get_device(" CPU ") == torch.device("cpu")
    assert get_device(torch.device("cpu")) == torch.device("cpu")


def test_get_device_auto_is_consistent():
    dev = get_device()
    assert isinstance(dev, torch.device)
    assert get_device("auto") == dev == get_device("AUTO")
    if torch.cuda.is_available():
        assert dev.type == "cuda"
    elif not devmod._mps_works():
        assert dev == torch.device("cpu")
    torch.zeros(1, device=dev)  # the chosen device works


def test_auto_prefers_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device(None) == torch.device("cuda")


def test_auto_uses_working_mps_before_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devmod, "_mps_works", lambda: True)
    assert get_device() == torch.device("mps")


@pytest.mark.skipif(sys.platform == "darwin", reason="MPS may really work on macOS")
def test_auto_skips_mps_that_claims_availability_but_fails(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("cpu")
    with pytest.raises(ValueError, match="MPS"):
        get_device("mps")


@pytest.mark.parametrize("name", ["gpu", "cuda0", "banana", ""])
def test_unknown_device_name(name):
    with pytest.raises(ValueError, match="unknown device"):
        get_device(name)


def test_unsupported_device_type():
    with pytest.raises(ValueError, match="unsupported device type 'meta'"):
        get_device("meta")


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "CUDA"])
def test_cuda_requested_but_unavailable(monkeypatch, name):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        get_device(name)
    with pytest.raises(ValueError, match="CUDA is not available"):
        get_device(torch.device("cuda"))


def test_cuda_index_out_of_range(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert get_device("cuda:1") == torch.device("cuda", 1)
    assert get_device("cuda") == torch.device("cuda")
    with pytest.raises(ValueError, match="2 CUDA device"):
        get_device("cuda:2")


def test_get_device_bad_type():
    with pytest.raises(TypeError, match="device must be"):
        get_device(0)


# -- seed_everything -------------------------------------------------------------------------
def _draws(rng: np.random.Generator) -> tuple:
    return (
        random.random(),
        np.random.rand(3),  # noqa: NPY002 - the legacy global RNG must be seeded too
        torch.rand(3),
        torch.randn(2, 2),
        torch.randint(0, 1000, (5,)),
        rng.normal(size=4),
    )


def test_seed_everything_reproducible():
    first = _draws(seed_everything(123))
    second = _draws(seed_everything(123))
    other = _draws(seed_everything(124))
    for a, b, c in zip(first, second, other, strict=True):
        if isinstance(a, torch.Tensor):
            assert torch.equal(a, b)
            assert not torch.equal(a, c)
        else:
            np.testing.assert_array_equal(a, b)
            assert np.any(np.asarray(a) != np.asarray(c))


def test_seed_everything_returns_default_rng():
    rng = seed_everything(7)
    assert isinstance(rng, np.random.Generator)
    np.testing.assert_array_equal(rng.random(5), np.random.default_rng(7).random(5))


def test_seed_everything_accepts_numpy_ints_and_limits():
    seed_everything(np.int64(3))
    seed_everything(0)
    seed_everything(2**32 - 1)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, True, 2**32])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        seed_everything(bad)


def test_seed_everything_deterministic_flags():
    was = torch.are_deterministic_algorithms_enabled()
    seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled() == was  # False leaves settings alone
    seed_everything(0, deterministic=True)
    assert torch.are_deterministic_algorithms_enabled()
    assert torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False


# -- set_num_threads -------------------------------------------------------------------------
def test_set_num_threads_explicit():
    assert set_num_threads(2) == 2 == torch.get_num_threads()
    assert set_num_threads(1) == 1 == torch.get_num_threads()


def test_set_num_threads_from_environment(monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setenv("COSMICBOOK_NUM_THREADS", "2")
    assert set_num_threads() == 2 == torch.get_num_threads()


def test_set_num_threads_none_keeps_default(monkeypatch):
    monkeypatch.delenv("COSMICBOOK_NUM_THREADS", raising=False)
    torch.set_num_threads(1)
    assert set_num_threads() == 1
    monkeypatch.setenv("COSMICBOOK_NUM_THREADS", "  ")
    assert set_num_threads(None) == 1


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_set_num_threads_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="positive number of threads"):
        set_num_threads(bad)


@pytest.mark.parametrize("raw", ["many", "0", "-1"])
def test_set_num_threads_rejects_bad_environment(monkeypatch, raw):
    monkeypatch.setenv("COSMICBOOK_NUM_THREADS", raw)
    with pytest.raises(ValueError, match="COSMICBOOK_NUM_THREADS"):
        set_num_threads()


# -- lazy import -----------------------------------------------------------------------------
def test_modules_import_torch_lazily():
    script = textwrap.dedent(
        """
        import sys
        import cosmicbook, cosmicbook.core
        before = "torch" in sys.modules
        import cosmicbook.core.device, cosmicbook.core.training
        print(before, "torch" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split()
    if out[0] == "True":
        pytest.skip("the package's __init__ imports torch itself")
    assert out == ["False", "False"]
