"""cosmicbook.core.prose: values glued for the book's markdown."""

import json

import numpy as np
import pytest

import cosmicbook as cb


def test_glue_returns_plain_values_and_records_them(monkeypatch):
    myst_nb = pytest.importorskip("myst_nb")
    calls = []
    monkeypatch.setattr(myst_nb, "glue",
                        lambda name, value, display=True: calls.append((name, value, display)))
    value = cb.glue("tpr_1e3", np.float32(96.5))
    assert value == pytest.approx(96.5) and type(value) is float
    assert cb.glue("name_2", "2-8") == "2-8"
    assert calls == [("tpr_1e3", value, False), ("name_2", "2-8", False)]


@pytest.mark.parametrize("name", ["", "a b", "tpr-1", "x.y"])
def test_glue_rejects_bad_names(name):
    with pytest.raises(ValueError, match="glue names"):
        cb.glue(name, 1.0)


def test_glue_without_myst_nb(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError("no myst_nb")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    assert cb.glue("x", np.int64(3)) == 3
    assert json.dumps(cb.glue("y", np.float64(0.5))) == "0.5"


def test_mask_nan_masks_only_non_finite_floats():
    from astropy.table import Table

    t = Table({"x": [1.0, np.nan, np.inf], "n": [1, 2, 3], "s": ["a", "b", "c"]})
    m = cb.mask_nan(t)
    assert list(m["x"].mask) == [False, True, True] and "--" in str(m)
    assert "nan" not in str(m) and np.isnan(t["x"][1])  # the original is unchanged
    assert list(m["n"]) == [1, 2, 3] and list(m["s"]) == ["a", "b", "c"]


def test_mask_nan_rounds_a_copy_and_passes_none():
    from astropy.table import Table

    t = Table({"x": [1.23456, np.nan]})
    m = cb.mask_nan(t, decimals=2)
    assert m["x"][0] == 1.23 and t["x"][0] == 1.23456
    assert cb.mask_nan(None) is None


def test_value_span():
    assert cb.value_span([0.81, 0.75, 0.8]) == "3 seeds: 0.75-0.81"
    assert cb.value_span([5.0], ".1f", "runs") == "1 runs: 5.0-5.0"
    assert cb.value_span(None) == "seeds: not available"
    assert cb.value_span([]) == "no seeds"
