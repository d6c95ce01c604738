import json

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
    assert format_value(float("nan")) == "—"
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


def test_results_files_are_strict_json(tmp_path):
    """NaN (not measurable) is written as null, which json.loads with NaN refused accepts."""
    res = Results("x", "X", profile="ci")
    res.add("sigma", float("nan"), baseline=float("inf"))
    res.extra["curve"] = [1.0, float("nan")]
    path = res.save(tmp_path)
    data = json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["metrics"][0]["value"] is None and data["extra"]["curve"] == [1.0, None]
    back = Results.load(path)
    assert back["sigma"].value is None
    assert not list(tmp_path.glob("*.tmp"))


def test_peer_column():
    res = Results("x", "X", profile="ci", method="ours", baseline_name="old")
    res.add("TPR", 97.0, baseline=70.0, peer=88.0, peer_name="deepCR", headline=True)
    res.add("FPR", float("nan"), baseline=0.5)
    text = res.format()
    assert "best peer" in text and "88 (deepCR)" in text and "—" in text
    md = res.markdown()
    assert "| best peer |" in md and "not measurable" in md
    with pytest.raises(ValueError, match="peer_name"):
        res.add("AUC", 0.9, peer=0.8)


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


def test_headline_table_and_figure(tmp_path):
    from cosmicbook.core.results import headline_figure, headline_markdown

    a = Results("01_a", "Chapter A", profile="ci", method="CNN", baseline_name="SDSS")
    a.add("TPR", 97.0, unit="%", baseline=70.0, peer=88.0, peer_name="deepCR", paper=92.5,
          headline=True)
    a.add("FPR", 0.05, unit="%")
    b = Results("02_b", "Chapter B", profile="ci", method="GAN", baseline_name="MC")
    b.add("PSD ratio", 0.9)  # no headline flag: the first science row stands in
    md = headline_markdown([a, b])
    assert md.count("\n") == 3  # header, rule, two rows
    assert "| Chapter A | TPR | 97 (CNN) | 70 (SDSS) | 88 (deepCR) | 92.5 | % |" in md
    assert "| Chapter B | PSD ratio | 0.9 (GAN) |" in md
    path = headline_figure([a, b], tmp_path / "h.png")
    assert path.exists() and path.stat().st_size > 1000
    empty = Results("03_c", "C", profile="ci")
    empty.add("label", "n/a")
    assert headline_figure([empty], tmp_path / "none.png") is None
    board = scoreboard_markdown([a, b], figure="h.png")
    assert "## All chapters at a glance" in board and "{figure} h.png" in board


def test_load_benchmark(tmp_path):
    import json

    from cosmicbook.core.results import load_benchmark

    (tmp_path / "study_book_cpu.json").write_text(json.dumps({"a": 1}))
    assert load_benchmark("study_book_cpu.json", tmp_path) == {"a": 1}
    with pytest.raises(FileNotFoundError, match="benchmarks/other_study.py"):
        load_benchmark("other_study_book_cpu.json", tmp_path)
    with pytest.raises(FileNotFoundError, match="benchmarks/writer.py"):
        load_benchmark("x.json", tmp_path, script="writer")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        load_benchmark("list.json", tmp_path)


def test_load_benchmark_missing_ok(tmp_path):
    from cosmicbook.core.results import load_benchmark

    assert load_benchmark("absent.json", tmp_path, missing_ok=True) is None
