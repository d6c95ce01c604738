"""The book as a whole: notebooks execute in the ci profile, reproduce under nbval, stay in sync
with their paired .ipynb, and render to HTML (warnings as errors) whose pages load in a browser.

Everything here runs on the notebooks listed in ``_toc.yml``; a new chapter is covered by
adding it there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import jupytext
import nbformat
import pytest

from cosmicbook import book

pytestmark = pytest.mark.book

SOURCES = book.notebook_sources()
NAMES = [s.stem for s in SOURCES]
BUILD = book.REPO_ROOT / "_build" / "ci"
REPO_URL = "https://github.com/cosmicbook/cosmicbook"
SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")


@pytest.fixture(scope="session")
def executed() -> dict[str, Path | BaseException]:
    """Execute every notebook once in the ci profile (cached when nothing changed)."""
    outputs: dict[str, Path | BaseException] = {}
    for source in SOURCES:
        try:
            outputs[source.stem] = book.execute(source, "ci", build_dir=BUILD)
        except Exception as err:  # reported by the test of that notebook
            outputs[source.stem] = err
    return outputs


def _executed_ok(executed, name) -> Path:
    result = executed[name]
    if isinstance(result, BaseException):
        pytest.fail(f"{name} failed to execute in the ci profile:\n{result}")
    return result


def test_toc_lists_chapters():
    assert NAMES, "_toc.yml lists no notebooks"


# --- sources -------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", SOURCES, ids=NAMES)
def test_paired_ipynb_in_sync(source):
    """The committed .ipynb (for Colab) is the .py source without outputs (`make sync`)."""
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} missing: run `make sync`"
    text_nb = jupytext.read(source)
    ipynb = nbformat.read(paired, as_version=4)
    assert [(c.cell_type, c.source) for c in ipynb.cells] == \
        [(c.cell_type, c.source) for c in text_nb.cells], \
        f"{paired.name} is out of sync with {source.name}: run `make sync`"
    for cell in ipynb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{paired.name} has outputs: commit it without them"
            assert cell.execution_count is None
    assert "py:percent" in ipynb.metadata.get("jupytext", {}).get("formats", "")


@pytest.mark.parametrize("source", SOURCES, ids=NAMES)
def test_notebook_shape(source):
    """A Colab install cell first, then a parameters cell with PROFILE defaulting to book."""
    nb = jupytext.read(source)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "google.colab" in code[0].source, "first code cell must install cosmicbook on Colab"
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    assert 'PROFILE = "book"' in params[0].source
    assert "RESULTS_DIR" in params[0].source
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")


@pytest.mark.parametrize("source", SOURCES, ids=NAMES)
def test_notebook_code_fits_the_page(source):
    """Code lines of at most 88 characters: longer ones are cut off in the rendered book."""
    nb = jupytext.read(source)
    long = [line for cell in nb.cells if cell.cell_type == "code"
            for line in cell.source.splitlines() if len(line) > 88]
    assert not long, f"{len(long)} code lines longer than 88 characters: {long[:3]}"


# --- execution -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_in_ci_profile(executed, name):
    path = _executed_ok(executed, name)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", f"error output in {name}"
            if output.get("output_type") == "stream":
                assert output.get("name") != "stderr", \
                    f"{name} wrote to stderr:\n{output.get('text', '')[:2000]}"
    assert nb.metadata.get("cosmicbook_wall_seconds", 0) < 120, "ci profile must stay fast"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_writes_results(executed, name):
    _executed_ok(executed, name)
    path = BUILD / "results" / f"{name}.json"
    assert path.exists(), f"{name} wrote no results file"
    data = json.loads(path.read_text())
    assert data["profile"] == "ci" and data["chapter"] == name
    science = [m for m in data["metrics"] if not m["timing"]]
    headlines = [m for m in science if m["headline"]]
    assert headlines, "no headline metrics"
    assert all(m["value"] is not None for m in headlines), headlines
    # null is "not measurable" (e.g. a ci-profile model that flags no pixel at 0.5)
    missing = [m["name"] for m in science if m["value"] is None]
    assert len(missing) <= len(science) // 4, f"{name}: no value for {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_reproduces_under_nbval(executed, name, tmp_path):
    """nbval re-executes the executed notebook and compares the cells marked as results."""
    path = _executed_ok(executed, name)
    nb = nbformat.read(path, as_version=4)
    checked = [c for c in nb.cells if c.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in c.source]
    assert checked, f"{name} marks no result cell with # NBVAL_CHECK_OUTPUT"
    assert all(c.outputs for c in checked), "a checked cell has no output to compare"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
         "--nbval-sanitize-with", str(SANITIZE),
         "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(path.parent), str(path)],
        capture_output=True, text=True, cwd=path.parent,
        env={**os.environ, "COSMICBOOK_PROGRESS": "0"},
    )
    assert proc.returncode == 0, f"nbval found differences in {name}:\n{proc.stdout[-8000:]}"


# --- the rendered book ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def html(executed) -> Path:
    failed = [n for n, r in executed.items() if isinstance(r, BaseException)]
    if failed:
        pytest.fail(f"cannot build the book: notebooks failed: {failed}")
    return book.build_html("ci", build_dir=BUILD, quiet=True)


def test_book_builds_with_warnings_as_errors(html):
    assert (html / "index.html").exists()
    for name in NAMES:
        assert (html / "notebooks" / f"{name}.html").exists()


def _pages(html: Path) -> list[Path]:
    return [p for p in html.rglob("*.html")
            if not {"_static", "_sources", "_images"} & set(p.relative_to(html).parts)]


def test_internal_links_resolve(html):
    """Every relative link and image of every page points at an existing file (and anchor)."""
    from bs4 import BeautifulSoup

    ids: dict[Path, set[str]] = {}

    def anchors(page: Path) -> set[str]:
        if page not in ids:
            soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
            ids[page] = {t["id"] for t in soup.find_all(id=True)} | \
                        {t["name"] for t in soup.find_all("a", attrs={"name": True})}
        return ids[page]

    broken = []
    for page in _pages(html):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag, attr in (("a", "href"), ("img", "src"), ("link", "href"), ("script", "src")):
            for node in soup.find_all(tag):
                url = node.get(attr)
                if not url:
                    continue
                parsed = urlparse(url)
                if parsed.scheme or url.startswith("//") or url.startswith("mailto:"):
                    continue
                target = (page.parent / unquote(parsed.path)).resolve() if parsed.path else page
                if not target.exists():
                    broken.append(f"{page.relative_to(html)}: {url}")
                elif parsed.fragment and target.suffix == ".html" and tag == "a" \
                        and parsed.fragment not in anchors(target):
                    broken.append(f"{page.relative_to(html)}: {url} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


@pytest.mark.parametrize("name", NAMES)
def test_chapter_has_colab_button(html, name):
    page = (html / "notebooks" / f"{name}.html").read_text(encoding="utf-8")
    expected = ("colab.research.google.com/github/cosmicbook/cosmicbook/blob/main/"
                f"notebooks/{name}.ipynb")
    assert expected in page, "no Colab launch button pointing at the committed .ipynb"
    assert (book.REPO_ROOT / "notebooks" / f"{name}.ipynb").exists()


def test_scoreboard_lists_every_chapter(html):
    text = (html / "book" / "scoreboard.html").read_text(encoding="utf-8")
    assert "scoreboard-table" not in text
    for name in NAMES:
        title = json.loads((BUILD / "results" / f"{name}.json").read_text())["title"]
        assert title in text, f"the scoreboard lacks {name}"


def _chromium():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are required in CI (.ci/run installs them)")
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--allow-file-access-from-files"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture(scope="module")
def browser():
    driver = _chromium()
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.mark.parametrize("name", NAMES)
def test_chapter_page_in_browser(html, browser, name):
    """The rendered chapter shows its figures and no error output, in headless Chromium."""
    browser.get((html / "notebooks" / f"{name}.html").as_uri())
    state = browser.execute_script("""
        const imgs = Array.from(document.querySelectorAll('article img'));
        return {
          images: imgs.length,
          broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
          errors: document.querySelectorAll(
              '.output.traceback, .output.error, .output.stderr, .cell_output .stderr').length,
          text: document.body.innerText,
          title: document.title,
          nan_cells: Array.from(document.querySelectorAll('article table td'))
              .filter(td => td.innerText.trim().toLowerCase() === 'nan').length,
        };""")
    assert state["images"] >= 3, f"{name} shows {state['images']} figures"
    assert "{glue" not in state["text"], f"{name} shows an unresolved glue role"
    assert not state["nan_cells"], f"{name} has table cells reading nan: use a dash"
    assert not state["broken"], f"images that did not load: {state['broken']}"
    assert state["errors"] == 0, f"{name} shows error output"
    assert "Traceback (most recent call last)" not in state["text"]
    assert "Error" not in state["title"]


def test_every_page_loads_in_browser(html, browser):
    broken = {}
    for page in _pages(html):
        browser.get(page.as_uri())
        bad = browser.execute_script(
            "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src);")
        if bad:
            broken[str(page.relative_to(html))] = bad
    assert not broken, f"pages with images that did not load: {broken}"


@pytest.mark.parametrize("name", NAMES)
def test_chapter_exercises_and_math_render(html, browser, name):
    """Every folded cell (the exercise solutions) renders as a closed toggle, and every
    formula is typeset by the MathJax shipped with the book (no network needed)."""
    browser.get((html / "notebooks" / f"{name}.html").as_uri())
    state = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const report = () => done({
          folded: document.querySelectorAll('.tag_hide-cell').length,
          toggles: document.querySelectorAll('.tag_hide-cell details.hide').length,
          open: document.querySelectorAll('.tag_hide-cell details.hide[open]').length,
          math: document.querySelectorAll('.math').length,
          typeset: document.querySelectorAll('mjx-container').length,
          mathjax: typeof window.MathJax === 'object' && !!window.MathJax.startup,
        });
        const wait = (window.MathJax && MathJax.startup && MathJax.startup.promise)
          || Promise.resolve();
        wait.then(report, report);""")
    assert state["folded"] >= 3, f"{name}: {state['folded']} folded solution cells"
    assert state["toggles"] == state["folded"] and state["open"] == 0, state
    if state["math"]:
        assert state["mathjax"] and state["typeset"] >= state["math"], state


def test_mathjax_ships_with_the_book(html):
    page = (html / "notebooks" / "03_dla.html").read_text(encoding="utf-8")
    assert "_static/mathjax/tex-chtml.js" in page and "cdn.jsdelivr" not in page
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()


@pytest.mark.parametrize("name", NAMES)
def test_pages_hide_the_machinery(html, name):
    """papermill's injected-parameters cell is not on the page; the Colab install cell is
    folded; the chapter header with its measured times is there."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((html / "notebooks" / f"{name}.html").read_text(encoding="utf-8"),
                         "html.parser")
    assert not soup.select(".tag_injected-parameters"), "the injected parameters are shown"
    colab = [c for c in soup.select("div.cell") if "google.colab" in c.get_text()]
    assert colab and all("tag_hide-cell" in c.get("class", []) for c in colab)
    header = soup.find(class_="admonition")
    assert header is not None and "You will learn" in header.get_text()
    assert "Prerequisites" in header.get_text() and "profile" in header.get_text()
    assert header.find("table") is not None, "the header lacks the table of measured times"


def test_build_summary_and_quiet_kernel():
    rows = [("01_dark_frames", "ci", "executed", 6.5), ("02_deepcr_masks", "ci", "cached", 0.1)]
    table = book.summary_table(rows)
    lines = [line.split() for line in table.splitlines()]
    assert lines[0] == ["notebook", "profile", "status", "seconds"]
    assert lines[2] == ["01_dark_frames", "ci", "executed", "6.5"]
    assert lines[3] == ["02_deepcr_masks", "ci", "cached", "0.1"]
    assert lines[-1] == ["total", "6.6"]
    assert "--IPKernelApp.log_level=CRITICAL" in book.KERNEL_ARGUMENTS

