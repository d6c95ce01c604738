"""Numbers for the prose: values computed by a notebook, inserted into its markdown.

The book's text never types a measured number by hand. A cell computes it and :func:`glue`
records it under a name; the markdown cites it with myst-nb's role,
``{glue:text}`name:.2f` ``, so the rendered page always shows the number of the run that built
it. Outside a book build (plain Jupyter, Colab without myst-nb) :func:`glue` only returns the
value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PROFILE_TIMES", "glue", "glue_run", "machine_name", "mask_nan", "profile_times",
           "value_span"]

#: Measured wall-clock time of every chapter per profile, as the last full execution on
#: each machine recorded it: written by ``make book`` (:func:`cosmicbook.book.record_times`),
#: read by the chapter headers (:func:`profile_times`).
PROFILE_TIMES = Path(__file__).resolve().parents[2] / "book" / "profile_times.json"


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def glue(name: str, value: Any) -> Any:
    """Record ``value`` for the prose under ``name`` (not displayed in the cell).

    Parameters
    ----------
    name : str
        The key used in the markdown (``{glue:text}`name:.3f` ``); letters, digits and ``_``.
    value : object
        A number or a short string; numpy scalars become Python ones, so that a format spec
        such as ``.1f`` applies.

    Returns
    -------
    object
        ``value`` (as recorded), so that a cell can compute and glue in one line.

    Raises
    ------
    ValueError
        For a name that is empty or has characters other than letters, digits and ``_``.
    """
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"glue names are letters, digits and '_', got {name!r}")
    value = _plain(value)
    try:
        from myst_nb import glue as _glue
    except ImportError:  # no book build here: the value is all the caller needs
        return value
    _glue(name, value, display=False)
    return value


def machine_name() -> str:
    """A short description of this machine for timing tables (GPU name, or CPU count)."""
    import os

    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    threads = os.environ.get("OMP_NUM_THREADS", "all")
    return f"CPU, {os.cpu_count()} cores, {threads} torch thread(s)"


def glue_run(profile: str, started: float) -> float:
    """Glue the chapter header's ``run_profile``, ``run_minutes`` (since ``started``, a
    :func:`time.perf_counter` reading) and ``run_machine``; return the minutes."""
    import time

    minutes = (time.perf_counter() - started) / 60
    glue("run_profile", profile)
    glue("run_machine", machine_name())
    return glue("run_minutes", minutes)


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min"


def profile_times(chapter: str, full_hardware: str = "one GPU",
                  path: str | None = None):
    """The chapter header's table of run times per profile, as last measured.

    Parameters
    ----------
    chapter : str
        Notebook name (``"02_deepcr_masks"``).
    full_hardware : str
        What the ``full`` profile wants (shown when it has not been measured).
    path : str, optional
        The times file (default ``book/profile_times.json`` of the repository, written by
        ``make book``).

    Returns
    -------
    IPython.display.Markdown
        A Markdown table: profile, measured time, machine, date.
    """
    import json

    from IPython.display import Markdown

    path = Path(PROFILE_TIMES if path is None else path)
    times = json.loads(path.read_text(encoding="utf-8")).get(chapter, {}) \
        if path.exists() else {}
    purpose = {"ci": "seconds, for the tests", "book": "the default, one CPU core",
               "full": f"the papers' scale, {full_hardware}"}
    lines = ["| profile | what it is for | time (last measured) | machine |",
             "|---|---|---|---|"]
    for profile, what in purpose.items():
        entry = times.get(profile)
        measured = (f"{_minutes(entry['seconds'])} ({entry['date']})" if entry
                    else "not measured yet")
        lines.append(f"| `{profile}` | {what} | {measured} | "
                     f"{entry['machine'] if entry else '-'} |")
    return Markdown("\n".join(lines))


def mask_nan(table, decimals: int | None = None):
    """A copy of an astropy table with NaN entries masked, so that it displays ``--`` for
    "not measurable" instead of ``nan`` (the values themselves are unchanged).

    ``decimals`` rounds the copy's float columns for display (the input is not changed).
    ``None`` passes through (a section that was skipped shows nothing)."""
    from astropy.table import MaskedColumn, Table

    if table is None:
        return None
    out = Table(table, copy=True)
    if decimals is not None:
        out.round(decimals)
    for name in out.colnames:
        col = out[name]
        if col.dtype.kind == "f":
            bad = ~np.isfinite(np.asarray(col, dtype=float))
            if bad.any():
                out[name] = MaskedColumn(col, mask=bad | np.ma.getmaskarray(col))
                out[name].format = col.format
    return out


def value_span(values, fmt: str = ".2f", what: str = "seeds") -> str:
    """``"3 seeds: 0.75-0.81"``: how many values and their range, for a results note.

    Parameters
    ----------
    values : array_like or None
        The values (``None``: the source is missing, and the text says so).
    fmt : str
        Format of the two ends.
    what : str
        What the values are of.
    """
    if values is None:
        return f"{what}: not available"
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        return f"no {what}"
    return f"{v.size} {what}: {np.nanmin(v):{fmt}}-{np.nanmax(v):{fmt}}"
