"""Machine-readable chapter results, and the scoreboard that collects them.

Each chapter ends with a results table: its headline metrics, measured in the run, next to the
classical baseline measured in the same run and the published numbers the chapter reproduces.
:class:`Results` holds that table, prints it, and writes it to ``<chapter>.json``; the book's
scoreboard page reads every such file back with :func:`collect_results` and
:func:`scoreboard_markdown`.

Timings are kept apart (``timing=True``): they are reported, never compared by the test suite,
and never rounded into looking better.
"""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BENCHMARK_RESULTS", "Metric", "Results", "ResultsView", "collect_results",
           "format_value", "load_benchmark",
           "headline_figure", "headline_markdown", "headlines", "scoreboard_markdown"]

SCHEMA_VERSION = 1


def format_value(value: Any, digits: int = 4) -> str:
    """Format a metric for a table: ``digits`` significant digits, ``-`` for missing values."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "—"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


@dataclass
class Metric:
    """One row of a chapter's results table.

    Attributes
    ----------
    name : str
        What is measured, in words a physicist would use ("completeness, bright cosmics").
    value : float
        This book's method, measured in this run.
    unit : str
        Unit of ``value``, ``baseline`` and ``paper`` ("%", "s", "dex", "" ...).
    baseline : float or None
        The classical method, measured in the same run on the same data.
    paper : float or str or None
        The published number (a string when it is a range or an approximate statement).
    source : str
        Where the published number comes from (a citation key or a short reference).
    goal : str
        The acceptance criterion this metric is held to, if any ("≥ 99").
    timing : bool
        True for wall-clock measurements: reported, never asserted or compared.
    note : str
        Anything a reader needs to interpret the row.
    peer : float or str or None
        The best peer tool the chapter measures on the same data (``peer_name`` says which).
    peer_name : str
    headline : bool
        The chapter's headline numbers: the scoreboard's cross-chapter table shows these.
    """

    name: str
    value: float | int | str | None
    unit: str = ""
    baseline: float | int | str | None = None
    paper: float | int | str | None = None
    source: str = ""
    goal: str = ""
    timing: bool = False
    note: str = ""
    peer: float | int | str | None = None
    peer_name: str = ""
    headline: bool = False


def _strict(value: Any) -> Any:
    """NaN and infinities become None (JSON null): results files are strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _strict_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strict_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_tree(v) for v in value]
    return _strict(value)


@dataclass
class Results:
    """A chapter's headline results.

    Parameters
    ----------
    chapter : str
        Short machine name, also the file name (``"01_dark_frames"``).
    title : str
        The chapter title shown on the scoreboard.
    profile : str
        The run profile the numbers come from (``ci``, ``book`` or ``full``).
    method : str
        Name of this book's method (the ``value`` column).
    baseline_name : str
        Name of the classical baseline (the ``baseline`` column).
    device : str
        Where the run happened (``"cpu"``, ``"cuda: NVIDIA H100"``...); timings depend on it.

    Examples
    --------
    >>> res = Results("00_demo", "Demo", profile="ci", method="new", baseline_name="old")
    >>> _ = res.add("completeness", 99.5, unit="%", baseline=97.0, paper=99.0, source="seed")
    >>> print(res.format())
    metric        new   old  paper  unit  source
    ------------  ----  ---  -----  ----  ------
    completeness  99.5  97   99     %     seed
    """

    chapter: str
    title: str
    profile: str
    method: str = "cosmicbook"
    baseline_name: str = "baseline"
    device: str = "cpu"
    metrics: list[Metric] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, name: str, value: Any, *, unit: str = "", baseline: Any = None,
            paper: Any = None, source: str = "", goal: str = "", timing: bool = False,
            note: str = "", peer: Any = None, peer_name: str = "",
            headline: bool = False) -> Metric:
        """Append a metric; see :class:`Metric` for the meaning of each argument."""
        if any(m.name == name for m in self.metrics):
            raise ValueError(f"metric {name!r} is already in the results of {self.chapter!r}")
        if peer is not None and not peer_name:
            raise ValueError(f"metric {name!r}: a peer value needs its peer_name")
        metric = Metric(name, _plain(value), unit, _plain(baseline), _plain(paper), source, goal,
                        timing, note, _plain(peer), peer_name, bool(headline))
        self.metrics.append(metric)
        return metric

    def __getitem__(self, name: str) -> Metric:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(f"no metric {name!r}; have {[m.name for m in self.metrics]}")

    def rows(self, timings: bool | None = False) -> list[Metric]:
        """The metrics; ``timings`` = False (science only), True (timings only) or None (all)."""
        return [m for m in self.metrics if timings is None or m.timing == timings]

    def format(self, timings: bool | None = False, digits: int = 4) -> str:
        """A plain-text table (what the chapter prints and the test suite compares)."""
        rows = self.rows(timings)
        goals = any(m.goal for m in rows)
        peers = any(m.peer is not None for m in rows)
        header = ["metric", self.method, self.baseline_name]
        header += ["best peer"] if peers else []
        header += ["paper", "unit", "source"] + (["goal"] if goals else [])
        body = [[m.name, format_value(m.value, digits), format_value(m.baseline, digits)]
                + ([_peer_cell(m, digits)] if peers else [])
                + [format_value(m.paper, digits), m.unit, m.source]
                + ([m.goal] if goals else [])
                for m in rows]
        widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]

        def line(cells: list[str]) -> str:
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        lines = [line(header), "  ".join("-" * w for w in widths), *(line(r) for r in body)]
        return "\n".join(lines)

    def markdown(self, timings: bool | None = None, digits: int = 4) -> str:
        """A Markdown table of the metrics (used by the scoreboard page)."""
        rows = self.rows(timings)
        peers = any(m.peer is not None for m in rows)
        peer_head = " best peer |" if peers else ""
        lines = [f"| metric | {self.method} | {self.baseline_name} |{peer_head} paper | unit "
                 "| source | goal | note |",
                 "|---|---|---|" + ("---|" if peers else "") + "---|---|---|---|---|"]
        for m in rows:
            name = m.name + (" (timing)" if m.timing else "")
            peer = f" {_peer_cell(m, digits)} |" if peers else ""
            note = m.note + (" (— : not measurable, see the chapter)"
                             if "—" in (format_value(m.value), format_value(m.baseline))
                             and "—" not in m.note else "")
            lines.append(
                f"| {name} | {format_value(m.value, digits)} | {format_value(m.baseline, digits)}"
                f" |{peer} {format_value(m.paper, digits)} | {m.unit} | {m.source} | {m.goal}"
                f" | {note} |"
            )
        return "\n".join(lines)

    def view(self, timings: bool | None = False) -> ResultsView:
        """A rich view for notebooks: Markdown in Jupyter and the book, plain text elsewhere.

        ``timings`` selects the rows as in :meth:`rows`. Jupyter shows the returned object as a
        Markdown table; its plain-text form is :meth:`format` (what nbval compares).
        """
        return ResultsView(self, timings)

    def __str__(self) -> str:
        return self.format(timings=None)

    def __repr__(self) -> str:
        return (f"Results({self.chapter!r}, profile={self.profile!r}, "
                f"{len(self.metrics)} metrics)\n" + self.format(timings=None))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (schema version, metadata, metrics)."""
        data = asdict(self)
        data["schema"] = SCHEMA_VERSION
        data.setdefault("extra", {})
        data["extra"].setdefault("python", platform.python_version())
        return data

    def save(self, directory: str | os.PathLike = "results") -> Path:
        """Write ``<directory>/<chapter>.json`` and return its path."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.chapter}.json"
        text = json.dumps(_strict_tree(self.to_dict()), indent=2, allow_nan=False) + "\n"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # never a half-written results file
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Results:
        """Read a results file written by :meth:`save`."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no results file {path}")
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"{path}: unsupported results schema {data.get('schema')!r}")
        data.pop("schema")
        metrics = [Metric(**m) for m in data.pop("metrics")]
        return cls(**data, metrics=metrics)


class ResultsView:
    """What :meth:`Results.view` returns: a table that renders as Markdown in notebooks."""

    def __init__(self, results: Results, timings: bool | None = False):
        self.results = results
        self.timings = timings

    def __repr__(self) -> str:
        return self.results.format(timings=self.timings)

    def _repr_markdown_(self) -> str:
        return self.results.markdown(timings=self.timings)


def _peer_cell(metric: Metric, digits: int) -> str:
    if metric.peer is None:
        return "-"
    return f"{format_value(metric.peer, digits)} ({metric.peer_name})"


def _plain(value: Any) -> Any:
    """Convert numpy scalars to Python numbers so JSON and comparisons behave."""
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return float(value)


def collect_results(directory: str | os.PathLike) -> list[Results]:
    """Load every ``*.json`` results file of ``directory``, sorted by chapter name."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return [Results.load(p) for p in sorted(directory.glob("*.json"))]


def headlines(results: list[Results]) -> list[tuple[Results, Metric]]:
    """Each chapter's headline metrics (flagged ``headline``; else its first science row)."""
    out = []
    for res in results:
        rows = [m for m in res.metrics if m.headline] or res.rows(False)[:1]
        out += [(res, m) for m in rows]
    return out


def headline_markdown(results: list[Results], digits: int = 4) -> str:
    """One table across all chapters: our method, the classical baseline, the best peer and
    the paper for every headline metric."""
    lines = ["| chapter | metric | cosmicbook | classical baseline | best peer | paper | unit "
             "| goal |", "|---|---|---|---|---|---|---|---|"]
    for res, m in headlines(results):
        baseline = format_value(m.baseline, digits)
        if m.baseline is not None:
            baseline += f" ({res.baseline_name})"
        lines.append(f"| {res.title} | {m.name} | {format_value(m.value, digits)} "
                     f"({res.method}) | {baseline} | {_peer_cell(m, digits)} | "
                     f"{format_value(m.paper, digits)} | {m.unit} | {m.goal} |")
    return "\n".join(lines)


def headline_figure(results: list[Results], path: str | os.PathLike) -> Path | None:
    """Small multiples of the headline metrics (ours, baseline, best peer, paper); None when
    no headline has a number to draw."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    def number(v):
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and \
            math.isfinite(float(v)) else None

    panels = [(res, m) for res, m in headlines(results) if number(m.value) is not None]
    if not panels:
        return None
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.6 * nrows), squeeze=False)
    colours = {"cosmicbook": "k", "baseline": "tab:red", "best peer": "tab:blue",
               "paper": "0.6"}
    for ax, (res, m) in zip(axes.ravel(), panels, strict=False):
        bars = [(k, number(v)) for k, v in (("cosmicbook", m.value), ("baseline", m.baseline),
                                            ("best peer", m.peer), ("paper", m.paper))]
        bars = [(k, v) for k, v in bars if v is not None]
        ax.barh([k for k, _ in bars], [v for _, v in bars],
                color=[colours[k] for k, _ in bars])
        ax.invert_yaxis()
        ax.set_title(f"{res.chapter[:2]}: {m.name}", fontsize=8)
        ax.set_xlabel(m.unit or "value", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def scoreboard_markdown(results: list[Results], doc_prefix: str | None = None,
                        figure: str | None = None) -> str:
    """Markdown for the scoreboard page: a table of every chapter's headline metrics (and the
    figure ``figure``, a path relative to the page, when given), then one section and table
    per chapter.

    Parameters
    ----------
    results : list of Results
        From :func:`collect_results`.
    doc_prefix : str, optional
        Where the chapter pages live in the book (``"notebooks/"``): each section then links
        to its chapter with a MyST ``{doc}`` role, which Sphinx checks.
    """
    if not results:
        return "*No chapter results were found: execute the notebooks first (`make book`).*\n"
    parts = ["## All chapters at a glance\n", headline_markdown(results) + "\n"]
    if figure:
        parts.append(f"```{{figure}} {figure}\n:name: scoreboard-headlines\n\nThe headline "
                     "metrics: this book's method, the classical baseline, the best peer and "
                     "the paper, each panel in its own unit.\n```\n")
    for res in results:
        parts.append(f"## {res.title}\n")
        page = f"{{doc}}`the chapter </{doc_prefix}{res.chapter}>`; " if doc_prefix else ""
        parts.append(
            f"{page}profile `{res.profile}`, run on {res.device}; method *{res.method}*, "
            f"baseline *{res.baseline_name}*.\n"
        )
        parts.append(res.markdown(timings=None) + "\n")
    return "\n".join(parts)


#: Where the benchmark scripts write their committed results (in a source checkout).
BENCHMARK_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"


def load_benchmark(name: str, directory: str | os.PathLike | None = None, *,
                   script: str | None = None, missing_ok: bool = False) -> dict[str, Any] | None:
    """Read the committed results file ``name`` of a script in ``benchmarks/``.

    Chapters show measurements too long for a notebook run (a 300-sightline comparison with a
    slow peer, trainings over several seeds) from these files, with the machine and date they
    record.

    Parameters
    ----------
    name : str
        File name in ``directory`` (e.g. ``"gan_seed_study_book_cpu2-epyc.json"``).
    directory : path, optional
        Default :data:`BENCHMARK_RESULTS`.
    script : str, optional
        The ``benchmarks/`` script that writes it, for the error message (default: the file
        name without its profile and machine suffixes).
    missing_ok : bool
        Return ``None`` for a missing file (a notebook section that skips itself) instead of
        raising.

    Raises
    ------
    FileNotFoundError
        When the file is missing (an installed package has no ``benchmarks/``), naming the
        script that writes it.
    ValueError
        When it is not a JSON object.
    """
    path = Path(BENCHMARK_RESULTS if directory is None else directory) / name
    if not path.is_file() and missing_ok:
        return None
    if not path.is_file():
        if script is None:
            script = Path(name).stem.split("_book")[0].split("_ci")[0].split("_full")[0]
        raise FileNotFoundError(f"no benchmark results at {path}: they are written by "
                                f"benchmarks/{script}.py in a source checkout")
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected a JSON object")
    return data
