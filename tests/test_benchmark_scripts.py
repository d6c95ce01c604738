"""The benchmark scripts' bookkeeping (their measurements are not tests)."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_release_merge_keeps_earlier_variants():
    release = _load("train_deepcr_release")
    previous = {"hours": 1.3, "recipe": {"epochs": {"2-32": 8, "2-8": 8}},
                "2-32": {"min_tpr_at_1e-3": 0.99}, "2-8": {"min_tpr_at_1e-3": 0.98},
                "transfer": [{"method": "2-32 randomised", "tpr": 0.99},
                             {"method": "2-8 randomised", "tpr": 0.98},
                             {"method": "2-32 single instrument", "tpr": 0.5}]}
    new = {"hours": 0.2, "machine": "m", "device": "cpu", "recipe": {"epochs": {"2-4": 8}},
           "2-4": {"min_tpr_at_1e-3": 0.97},
           "transfer": [{"method": "2-4 randomised", "tpr": 0.97},
                        {"method": "2-32 single instrument", "tpr": 0.51}]}
    merged = release.merge_results(previous, new, ["2-4"])
    methods = [r["method"] for r in merged["transfer"]]
    assert methods == ["2-32 randomised", "2-8 randomised", "2-4 randomised",
                       "2-32 single instrument"]
    assert merged["2-32"] == previous["2-32"] and merged["2-4"] == new["2-4"]
    assert merged["recipe"]["epochs"] == {"2-32": 8, "2-8": 8, "2-4": 8}
    assert [r["hours"] for r in merged["runs"]] == [1.3, 0.2]
    assert previous["recipe"]["epochs"] == {"2-32": 8, "2-8": 8}  # not modified


def test_timing_ratios():
    timing = _load("deepcr_timing")
    rows = {"cosmicbook 2-32": {"seconds": 10.0}, "cosmicbook 2-8": {"seconds": 2.0},
            "deepCR package 2-32": {"seconds": 25.0}}
    r = timing.ratios(rows, "2-8")
    assert r["deepCR package 2-32 / cosmicbook 2-32"] == pytest.approx(2.5)
    assert r["cosmicbook 2-32 / cosmicbook 2-8"] == pytest.approx(5.0)
    assert "Cosmic-CoNN NRES / cosmicbook 2-32" not in r
