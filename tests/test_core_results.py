import json
import math

import numpy as np
import pytest

from cosmicbook.core.results import (
    Results,
    collect_results,
    format_value,
    scoreboard_markdown,
)


def make_results(chapter="01_demo"):
    res = Results(chapter, "Demo chapter", profile="ci", method="flood fill",
                  baseline_name="7 sigma")
    res.add("completeness", np.float64(99.51), unit="%", baseline=97.0, paper=99.0,
            source="seed", goal=">= 99")
    res.add("library size", np.int64(1234), paper="~41k", source="seed")
    res.add("extraction time", 0.8123, unit="s", timing=True)
    return res


def test_format_value():
    assert format_value(None) == "-"
    assert format_value(0.0) == "0"
    assert format_value(99.51234) == "99.51"
    assert format_value(3) == "3"
    assert format_value(float("nan")) == "nan"
    assert format_value("~41k") == "~41k"


def test_format_separates_timings():
    res = make_results()
    science = res.format()
    assert "completeness" in science and "99.51" in science
    assert "extraction time" not in science
    assert science.splitlines()[0].rstrip().endswith("goal")
    timings = res.format(timings=True)
    assert "extraction time" in timings and "completeness" not in timings
    header = science.splitlines()[0].split()
    assert header[:3] == ["metric", "flood", "fill"]


def test_numpy_scalars_become_python_numbers():
    res = make_results()
    assert type(res["completeness"].value) is float
    assert type(res["library size"].value) is int


def test_duplicate_metric_raises():
    res = make_results()
    with pytest.raises(ValueError, match="already"):
        res.add("completeness", 1.0)
    with pytest.raises(KeyError):
        res["nope"]


def test_save_load_roundtrip(tmp_path):
    res = make_results()
    path = res.save(tmp_path)
    assert path.name == "01_demo.json"
    data = json.loads(path.read_text())
    assert data["schema"] == 1 and data["profile"] == "ci"
    back = Results.load(path)
    assert back.metrics == res.metrics
    assert back.title == res.title and back.baseline_name == "7 sigma"


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        Results.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"schema": 99}))
    with pytest.raises(ValueError, match="schema"):
        Results.load(bad)


def test_nan_survives_json(tmp_path):
    res = Results("x", "X", profile="ci")
    res.add("sigma", float("nan"))
    back = Results.load(res.save(tmp_path))
    assert math.isnan(back["sigma"].value)


def test_scoreboard_collects_chapters_in_order(tmp_path):
    make_results("02_b").save(tmp_path)
    make_results("01_a").save(tmp_path)
    found = collect_results(tmp_path)
    assert [r.chapter for r in found] == ["01_a", "02_b"]
    md = scoreboard_markdown(found, doc_prefix="notebooks/")
    assert "{doc}`the chapter </notebooks/01_a>`" in md
    assert md.count("## Demo chapter") == 2
    assert "| completeness | 99.51 | 97 | 99 | % | seed | >= 99 |" in md
    assert "extraction time (timing)" in md
    assert "No chapter results" in scoreboard_markdown(collect_results(tmp_path / "none"))


def test_view_renders_markdown_and_text():
    res = make_results()
    view = res.view()
    assert repr(view) == res.format()
    assert view._repr_markdown_().startswith("| metric | flood fill | 7 sigma |")
    assert "extraction time" not in view._repr_markdown_()
    assert "extraction time" in repr(res.view(timings=True))
    assert repr(res).startswith("Results('01_demo', profile='ci', 3 metrics)")
