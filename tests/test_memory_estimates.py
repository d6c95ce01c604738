"""Every chapter's memory estimate leaves the global random states alone (a notebook prints
it after seeding, so it must not change the numbers that follow) and grows with the profile."""

import importlib

import numpy as np
import pytest
import torch

import cosmicbook as cb

CHAPTERS = ("darks", "deepcr", "dla", "cherenkov", "tes", "crayfis")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_memory_estimate_leaves_random_states_alone(chapter):
    module = importlib.import_module(f"cosmicbook.{chapter}")
    cfg = cb.resolve_profile(module.PROFILES, "ci")
    torch.manual_seed(3)
    np.random.seed(3)  # noqa: NPY002 (the legacy global state is what is protected)
    expected = torch.rand(1), np.random.rand()  # noqa: NPY002
    torch.manual_seed(3)
    np.random.seed(3)  # noqa: NPY002
    estimate = module.memory_estimate(cfg)
    assert (torch.rand(1), np.random.rand()) == expected  # noqa: NPY002
    assert estimate.total > 0 and "about" in str(estimate)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_full_profile_needs_more_than_ci(chapter):
    module = importlib.import_module(f"cosmicbook.{chapter}")
    ci, full = (module.memory_estimate(cb.resolve_profile(module.PROFILES, p))
                for p in ("ci", "full"))
    assert full.total > ci.total
