"""Build the cosmicbook Jupyter Book: execute the notebooks, collect the scoreboard, render.

The notebooks in ``notebooks/*.py`` (jupytext percent format) are the one source of truth.
Building the book is three steps, each a function here and a sub-command of
``python -m cosmicbook.book``:

1. :func:`execute` converts each notebook to ``.ipynb`` and runs it with papermill in one
   profile (``ci``, ``book`` or ``full``), writing ``_build/<profile>/notebooks/<name>.ipynb``
   and the chapter's results file ``_build/<profile>/results/<name>.json``. A notebook whose
   source, profile, parameters and package code are unchanged since its last execution is not
   executed again.
2. :func:`stage` assembles a book source tree in ``_build/<profile>/src`` from ``_config.yml``,
   ``_toc.yml``, ``book/`` and the executed notebooks, and fills the scoreboard page with the
   collected results.
3. :func:`build_html` runs ``jupyter-book build`` on it with warnings as errors (``-W -n``).

The staged notebooks keep their repository paths (``notebooks/<name>.ipynb``), so each page's
Colab button opens the output-free paired notebook committed in the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from cosmicbook.core.config import PROFILES
from cosmicbook.core.prose import PROFILE_TIMES, machine_name

__all__ = [
    "REPO_ROOT",
    "notebook_sources",
    "execute",
    "execute_all",
    "stage",
    "build_html",
    "SCOREBOARD_MARKER",
    "PROFILE_TIMES",
    "machine_name",
    "prepare_page",
    "record_times",
    "times_markdown",
    "summary_table",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
SCOREBOARD_MARKER = "<!-- scoreboard-table -->"
TIMES_MARKER = "<!-- profile-times-table -->"
_CACHE_KEY = "cosmicbook_cache_key"


def _check_profile(profile: str) -> str:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}")
    return profile


def notebook_sources(root: str | os.PathLike = REPO_ROOT) -> list[Path]:
    """The chapter notebooks (``notebooks/*.py``) in the order of ``_toc.yml``."""
    import yaml

    root = Path(root)
    with open(root / "_toc.yml", encoding="utf-8") as fh:
        toc = yaml.safe_load(fh)
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    paths = []
    for entry in files:
        if entry.startswith("notebooks/"):
            path = root / (entry.removesuffix(".ipynb").removesuffix(".py") + ".py")
            if not path.exists():
                raise FileNotFoundError(f"_toc.yml lists {entry} but {path} does not exist")
            paths.append(path)
    return paths


def _package_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "cosmicbook").rglob("*.py")):
        digest.update(path.relative_to(REPO_ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _cache_key(source: Path, profile: str, parameters: dict) -> str:
    digest = hashlib.sha256()
    digest.update(source.read_bytes())
    digest.update(json.dumps({"profile": profile, "parameters": parameters},
                             sort_keys=True, default=str).encode())
    digest.update(_package_digest().encode())
    return digest.hexdigest()


def _is_current(output: Path, key: str, results: Path) -> bool:
    if not output.exists() or not results.exists():
        return False
    try:
        with open(output, encoding="utf-8") as fh:
            meta = json.load(fh).get("metadata", {})
    except (OSError, json.JSONDecodeError):
        return False
    return meta.get(_CACHE_KEY) == key


#: Kernel options: no "running over TCP without encryption" notice (the kernel runs on this
#: machine's loopback interface, for papermill only) nor other kernel log lines.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


class _LineWriter:
    """A stream for tqdm in log files: each refresh on its own line instead of ``\\r``."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        for part in text.replace("\r", "\n").split("\n"):
            if part.strip():
                self.stream.write(part.rstrip() + "\n")

    def flush(self) -> None:
        self.stream.flush()


def _progress_bar(name: str, enabled: bool | None) -> bool | dict:
    """papermill's per-cell bar: live on a terminal, a line every 30 s in a log file."""
    if enabled is False or os.environ.get("COSMICBOOK_PROGRESS") == "0":
        return False
    if sys.stderr.isatty():
        return {"desc": name, "unit": "cell", "mininterval": 0.5, "dynamic_ncols": True}
    return {"desc": name, "unit": "cell", "mininterval": 30.0, "ascii": True, "ncols": 80,
            "file": _LineWriter(sys.stderr)}


def execute(source: str | os.PathLike, profile: str = "book", *,
            build_dir: str | os.PathLike | None = None, parameters: dict | None = None,
            force: bool = False, log_output: bool = False,
            progress: bool | None = None) -> Path:
    """Execute one notebook with papermill in ``profile``; return the executed ``.ipynb``.

    Parameters
    ----------
    source : path-like
        The percent-format ``.py`` notebook.
    profile : {"ci", "book", "full"}
        Passed as the ``PROFILE`` parameter.
    build_dir : path-like, optional
        Defaults to ``_build/<profile>`` in the repository.
    parameters : dict, optional
        Further papermill parameters (any knob of the notebook's parameters cell).
    force : bool
        Execute even if a current output exists.
    log_output : bool
        Stream the notebook's output to the terminal while it runs.
    progress : bool or None
        papermill's cell progress bar on stderr (cells done, elapsed time); ``None``: on unless
        ``COSMICBOOK_PROGRESS=0``.

    Raises
    ------
    papermill.PapermillExecutionError
        When a cell fails; the partially executed notebook is still written for inspection.
    """
    import jupytext
    import nbformat
    import papermill

    _check_profile(profile)
    source = Path(source).resolve()
    if not source.exists():
        raise FileNotFoundError(f"no notebook {source}")
    build = Path(build_dir) if build_dir is not None else REPO_ROOT / "_build" / profile
    out_dir = (build / "notebooks").resolve()
    results_dir = (build / "results").resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    results_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / (source.stem + ".ipynb")
    # relative to the notebook's working directory (out_dir), so no machine path is rendered
    params = {"PROFILE": profile, "RESULTS_DIR": os.path.relpath(results_dir, out_dir),
              **(parameters or {})}
    key = _cache_key(source, profile, {k: v for k, v in params.items() if k != "RESULTS_DIR"})
    if not force and _is_current(output, key, results_dir / f"{source.stem}.json"):
        return output

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.metadata.pop(_CACHE_KEY, None)
    unexecuted = out_dir / (source.stem + ".unexecuted.ipynb")
    nbformat.write(notebook, unexecuted)
    bar = _progress_bar(source.stem, progress)
    env_backup = {k: os.environ.get(k) for k in ("COSMICBOOK_PROGRESS", "MPLBACKEND")}
    os.environ["COSMICBOOK_PROGRESS"] = "0"   # no progress-bar debris in the rendered book
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(unexecuted), str(output), parameters=params, kernel_name="python3",
            cwd=str(out_dir), log_output=log_output, progress_bar=bar,
            extra_arguments=KERNEL_ARGUMENTS,
        )
    finally:
        for k, v in env_backup.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        unexecuted.unlink(missing_ok=True)
    executed = nbformat.read(output, as_version=4)
    executed.metadata[_CACHE_KEY] = key
    executed.metadata["cosmicbook_wall_seconds"] = round(time.perf_counter() - start, 1)
    nbformat.write(executed, output)
    return output


def execute_all(profile: str = "book", *, only: list[str] | None = None, force: bool = False,
                build_dir: str | os.PathLike | None = None,
                parameters: dict | None = None, summary: bool = True) -> dict[str, Path]:
    """Execute every chapter notebook (or those named in ``only``); return name -> output.

    Prints one line per notebook as it starts, papermill's cell progress bar while it runs,
    and with ``summary`` a table at the end: notebook, profile, executed or cached, seconds.
    """
    sources = notebook_sources()
    if only:
        names = {s.stem for s in sources}
        unknown = sorted(set(only) - names)
        if unknown:
            raise ValueError(f"unknown notebook(s) {unknown}; the book has {sorted(names)}")
        sources = [s for s in sources if s.stem in only]
    outputs, rows = {}, []
    for i, source in enumerate(sources, start=1):
        t0 = time.perf_counter()
        print(f"[cosmicbook] {i}/{len(sources)} {source.name} (profile {profile}) ...",
              flush=True)
        before = _mtime(_output_path(source, profile, build_dir))
        outputs[source.stem] = execute(source, profile, build_dir=build_dir,
                                       parameters=parameters, force=force)
        cached = before is not None and before == _mtime(outputs[source.stem])
        seconds = time.perf_counter() - t0
        rows.append((source.stem, profile, "cached" if cached else "executed", seconds))
        what = "up to date, not executed" if cached else f"executed in {seconds:.1f} s"
        print(f"[cosmicbook]   -> {outputs[source.stem]} ({what})", flush=True)
    if summary and rows:
        print(summary_table(rows), flush=True)
    record_times(outputs, profile)
    return outputs


def times_markdown(path: str | os.PathLike | None = None) -> str:
    """A Markdown table of :data:`PROFILE_TIMES`: chapter x profile, minutes and machine."""
    path = Path(path) if path is not None else PROFILE_TIMES
    times = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    profiles = list(PROFILES)
    lines = ["| chapter | " + " | ".join(f"`{p}`" for p in profiles) + " |",
             "|---|" + "---|" * len(profiles)]
    for source in notebook_sources():
        cells = []
        for profile in profiles:
            entry = times.get(source.stem, {}).get(profile)
            cells.append(f"{entry['seconds'] / 60:.1f} min ({entry['machine']}, "
                         f"{entry['date']})" if entry else "not measured yet")
        lines.append(f"| {{doc}}`../notebooks/{source.stem}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def record_times(outputs: dict[str, Path], profile: str,
                 path: str | os.PathLike | None = None) -> Path | None:
    """Store the executed notebooks' wall-clock times in :data:`PROFILE_TIMES` (atomically).

    Notebooks served from the cache keep their earlier entry; nothing is written when no
    notebook was executed.
    """
    import nbformat

    path = Path(path) if path is not None else PROFILE_TIMES
    times = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    changed = False
    for name, output in outputs.items():
        meta = nbformat.read(output, as_version=4).metadata
        seconds = meta.get("cosmicbook_wall_seconds")
        key = meta.get(_CACHE_KEY)
        entry = times.get(name, {}).get(profile, {})
        if seconds is None or entry.get("cache_key") == key:
            continue
        times.setdefault(name, {})[profile] = {
            "seconds": seconds, "machine": machine_name(),
            "date": time.strftime("%Y-%m-%d", time.gmtime()), "cache_key": key}
        changed = True
    if not changed:
        return None
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def summary_table(rows: list[tuple[str, str, str, float]]) -> str:
    """The end-of-build table: notebook, profile, executed/cached, seconds, and the total."""
    width = max(len("notebook"), *(len(r[0]) for r in rows))
    lines = [f"{'notebook':{width}s}  profile  status    seconds",
             f"{'-' * width}  -------  --------  -------"]
    lines += [f"{name:{width}s}  {profile:7s}  {status:8s}  {sec:7.1f}"
              for name, profile, status, sec in rows]
    total = sum(r[3] for r in rows)
    lines.append(f"{'total':{width}s}  {'':7s}  {'':8s}  {total:7.1f}")
    return "\n".join(lines)


def _output_path(source: Path, profile: str, build_dir) -> Path:
    build = Path(build_dir) if build_dir is not None else REPO_ROOT / "_build" / profile
    return build / "notebooks" / (Path(source).stem + ".ipynb")


def _mtime(path: Path) -> int | None:
    return path.stat().st_mtime_ns if path.exists() else None


def prepare_page(notebook) -> None:
    """Remove machinery from a rendered page (in place, on an nbformat notebook).

    papermill's injected-parameters cell is removed (the profile line printed by the setup
    cell shows the values), and the Colab install cell is collapsed behind a toggle.
    """
    for cell in notebook.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
        if cell.cell_type == "code" and "google.colab" in cell.source \
                and "hide-cell" not in tags:
            tags.append("hide-cell")


def _page_bytes(executed: Path) -> bytes:
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    prepare_page(notebook)
    return nbformat.writes(notebook).encode("utf-8")


def stage(profile: str = "book", *, build_dir: str | os.PathLike | None = None) -> Path:
    """Assemble the book source tree ``<build_dir>/src`` and return its path.

    Every notebook of the table of contents must have been executed in ``profile``.
    """
    from cosmicbook.core.results import collect_results, headline_figure, scoreboard_markdown

    _check_profile(profile)
    build = Path(build_dir) if build_dir is not None else REPO_ROOT / "_build" / profile
    src = build / "src"
    (src / "notebooks").mkdir(parents=True, exist_ok=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "book", src / "book", dirs_exist_ok=True)
    missing = []
    for source in notebook_sources():
        executed = build / "notebooks" / (source.stem + ".ipynb")
        if not executed.exists():
            missing.append(source.stem)
            continue
        target = src / "notebooks" / executed.name
        page = _page_bytes(executed)
        if not target.exists() or target.read_bytes() != page:
            target.write_bytes(page)
    if missing:
        raise FileNotFoundError(
            f"notebooks not executed in profile {profile!r}: {missing}; run "
            f"`python -m cosmicbook.book execute --profile {profile}` first"
        )
    workshop = src / "book" / "workshop.md"
    if workshop.exists():
        text = workshop.read_text(encoding="utf-8")
        new = text.replace(TIMES_MARKER, times_markdown())
        if new != text:
            workshop.write_text(new, encoding="utf-8")
    scoreboard = src / "book" / "scoreboard.md"
    text = scoreboard.read_text(encoding="utf-8")
    if SCOREBOARD_MARKER not in text:
        raise ValueError(f"book/scoreboard.md lacks the marker {SCOREBOARD_MARKER}")
    results = collect_results(build / "results")
    figure = headline_figure(results, src / "book" / "scoreboard_headlines.png")
    table = scoreboard_markdown(results, doc_prefix="notebooks/",
                                figure=figure.name if figure else None)
    new = text.replace(SCOREBOARD_MARKER, table)
    if not scoreboard.exists() or scoreboard.read_text(encoding="utf-8") != new:
        scoreboard.write_text(new, encoding="utf-8")
    return src


def build_html(profile: str = "book", *, build_dir: str | os.PathLike | None = None,
               strict: bool = True, quiet: bool = False) -> Path:
    """Stage and render the book to HTML; return the folder holding ``index.html``.

    Raises
    ------
    RuntimeError
        If ``jupyter-book build`` fails (with ``strict``, any Sphinx warning fails it).
    """
    build = Path(build_dir) if build_dir is not None else REPO_ROOT / "_build" / profile
    src = stage(profile, build_dir=build)
    cli = Path(sys.executable).parent / "jupyter-book"
    command = [str(cli) if cli.exists() else "jupyter-book", "build", str(src),
               "--path-output", str(build), "--builder", "html"]
    if strict:
        command += ["-W", "-n", "--keep-going"]
    if quiet:
        command += ["-q"]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"jupyter-book build failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n"
            f"{proc.stderr[-6000:]}"
        )
    return build / "_build" / "html"


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m cosmicbook.book {execute,build,all} --profile P``."""
    parser = argparse.ArgumentParser(prog="python -m cosmicbook.book", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["execute", "build", "all"])
    parser.add_argument("--profile", default=os.environ.get("PROFILE", "book"), choices=PROFILES)
    parser.add_argument("--only", nargs="*", default=None,
                        help="notebook names to execute (e.g. 01_dark_frames)")
    parser.add_argument("--force", action="store_true", help="re-execute unchanged notebooks")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                        metavar=("NAME", "VALUE"),
                        help="override a notebook parameter (value parsed as YAML)")
    args = parser.parse_args(argv)
    import yaml

    parameters = {name: yaml.safe_load(value) for name, value in args.parameter}
    if args.command in ("execute", "all"):
        execute_all(args.profile, only=args.only, force=args.force, parameters=parameters or None)
    if args.command in ("build", "all"):
        html = build_html(args.profile)
        print(f"[cosmicbook] the book is at {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
