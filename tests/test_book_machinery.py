"""cosmicbook.book: papermill execution with parameters, the execution cache, errors."""

from __future__ import annotations

import json

import nbformat
import pytest

from cosmicbook import book

TINY = '''# %% [markdown]
# # Tiny

# %% tags=["parameters"]
PROFILE = "book"
SCALE = None
RESULTS_DIR = "results"

# %%
from cosmicbook.core.config import resolve_profile
from cosmicbook.core.results import Results
cfg = resolve_profile({"ci": {"scale": 1}, "book": {"scale": 2}, "full": {"scale": 3}},
                      PROFILE, scale=SCALE)
res = Results("tiny", "Tiny", profile=cfg.name)
res.add("answer", 21 * cfg.scale)
res.save(RESULTS_DIR)
print("answer", 21 * cfg.scale)
'''


@pytest.fixture
def tiny(tmp_path):
    source = tmp_path / "tiny.py"
    source.write_text(TINY)
    return source


def _answer(build, name="tiny"):
    return json.loads((build / "results" / f"{name}.json").read_text())["metrics"][0]["value"]


@pytest.mark.book
def test_execute_parameters_and_cache(tiny, tmp_path):
    build = tmp_path / "build"
    out = book.execute(tiny, "ci", build_dir=build)
    assert _answer(build) == 21
    nb = nbformat.read(out, as_version=4)
    assert any("answer 21" in o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    stamp = out.stat().st_mtime_ns

    assert book.execute(tiny, "ci", build_dir=build) == out
    assert out.stat().st_mtime_ns == stamp, "an unchanged notebook was executed again"

    book.execute(tiny, "ci", build_dir=build, parameters={"SCALE": 5})
    assert _answer(build) == 105, "a papermill parameter did not override the preset"

    tiny.write_text(TINY.replace("21 *", "22 *"))
    book.execute(tiny, "ci", build_dir=build, parameters={"SCALE": 5})
    assert _answer(build) == 110, "a changed source was not executed again"


@pytest.mark.book
def test_failing_cell_raises(tmp_path):
    import papermill

    source = tmp_path / "broken.py"
    source.write_text(TINY + "\n# %%\nraise RuntimeError('boom')\n")
    with pytest.raises(papermill.PapermillExecutionError, match="boom"):
        book.execute(source, "ci", build_dir=tmp_path / "build")


def test_bad_arguments(tmp_path, tiny):
    with pytest.raises(ValueError, match="unknown profile"):
        book.execute(tiny, "fast", build_dir=tmp_path)
    with pytest.raises(FileNotFoundError):
        book.execute(tmp_path / "missing.py", "ci", build_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown notebook"):
        book.execute_all("ci", only=["no_such_chapter"], build_dir=tmp_path)


def test_stage_requires_executed_notebooks(tmp_path):
    with pytest.raises(FileNotFoundError, match="not executed"):
        book.stage("ci", build_dir=tmp_path)


def test_notebook_sources_follow_toc():
    sources = book.notebook_sources()
    assert sources and all(s.suffix == ".py" and s.exists() for s in sources)
    assert sources[0].stem == "01_dark_frames"
