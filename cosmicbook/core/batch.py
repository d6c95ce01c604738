"""Run a per-file function over many files on a Dask cluster, with a summary of what happened.

The chapters' functions work on one frame or one spectrum at a time; a survey has thousands of
files. :func:`map_files` maps a per-file function over them on a :mod:`dask.distributed`
``Client`` -- a ``LocalCluster`` on this machine by default, or any running scheduler -- and
takes care of the parts every pipeline needs:

* **inputs** from globs, directories and list files (:func:`expand_inputs`): a glob that matches
  nothing or a path that does not exist is an error before any work starts;
* **outputs** in one directory (:func:`output_paths`), checked for writability by creating a
  file in it (:func:`check_output_dir`; permission bits alone do not tell, e.g. for root);
* **atomic writes**: the function writes a hidden temporary file next to the output, which is
  moved into place with :func:`os.replace` only when the function returned, so a crash or an
  error never leaves a half-written output (a worker killed mid-write can leave its hidden
  ``.tmp-*`` file behind, never a partial output; such files can be deleted);
* **re-runs skip finished outputs** (an output that exists was complete when it was moved into
  place);
* **one bad file does not stop the run**: its error (type and message) goes into the summary
  table and the other files go on;
* **progress** with Dask's progress bar (:func:`distributed.progress`);
* **models loaded once per worker**: :func:`worker_cache` keeps what a factory returns in the
  worker process (keyed, e.g., by the weights file), and the torch threads of every worker
  process are set once (``torch_threads``).

The cluster
-----------
:func:`connect` returns a ``Client``: ``connect()`` starts a ``LocalCluster`` of ``workers``
processes with ``threads_per_worker`` threads each; ``connect("tcp://host:8786")`` or
``connect("scheduler.json")`` joins a running scheduler. An address that cannot be reached
raises :class:`ConnectionError` after ``timeout`` seconds, before any work is submitted.

Each Dask worker process runs its tasks in ``threads_per_worker`` threads; torch's own
intra-op threads come on top of them. The default (one torch thread per worker process, which is
also what Dask's nanny sets through ``OMP_NUM_THREADS=1``) makes ``workers x
threads_per_worker`` the number of busy cores. On a node with many cores and few large frames,
fewer threads per worker and more torch threads can be faster (``torch_threads``).

At NERSC
--------
The same code runs on Perlmutter; only the ``Client`` changes. Either start the workers as a
batch job with dask-jobqueue's ``SLURMCluster`` (configuration shipped in
:data:`NERSC_CONFIG`, ``cosmicbook/core/data/nersc-jobqueue.yaml``)::

    import dask.config, yaml
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    dask.config.update(dask.config.config,
                       yaml.safe_load(open(cosmicbook.core.batch.NERSC_CONFIG)))
    cluster = SLURMCluster(account="m1234")      # your NERSC project
    cluster.scale(jobs=4)                        # four Perlmutter CPU nodes
    client = Client(cluster)
    deepcr.mask_files(paths, out_dir, client=client)

or start the scheduler and workers yourself inside one ``salloc``/``sbatch`` allocation
(``dask-mpi`` or ``dask scheduler --scheduler-file $SCRATCH/scheduler.json`` plus ``srun dask
worker --scheduler-file ...``) and point the code at the scheduler file or address::

    cosmicbook mask "$SCRATCH/night/*.fits" --out-dir "$SCRATCH/masks" \\
        --scheduler "$SCRATCH/scheduler.json"

``dask[distributed]`` is the optional extra ``survey`` of cosmicbook (``pip install
'cosmicbook[survey]'``); without it the functions here raise ``ModuleNotFoundError`` naming
the extra.
"""

from __future__ import annotations

import collections
import importlib
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cosmicbook.core.checks import positive_int

if TYPE_CHECKING:  # pragma: no cover
    from astropy.table import Table
    from distributed import Client

__all__ = [
    "DEFAULT_PATTERNS",
    "EXTRA",
    "NERSC_CONFIG",
    "STATUSES",
    "BatchResult",
    "cache_info",
    "check_output_dir",
    "clear_cache",
    "connect",
    "expand_inputs",
    "map_files",
    "output_paths",
    "require",
    "worker_cache",
]

#: The optional dependency group of cosmicbook that brings ``dask[distributed]``.
EXTRA = "survey"
#: File names a directory input is expanded to (FITS, plain or compressed).
DEFAULT_PATTERNS: tuple[str, ...] = ("*.fits", "*.fit", "*.fts", "*.fits.gz", "*.fits.fz")
#: Example dask-jobqueue configuration for NERSC Perlmutter's CPU nodes.
NERSC_CONFIG = Path(__file__).with_name("data") / "nersc-jobqueue.yaml"
#: The states of an input in :attr:`BatchResult.summary`.
STATUSES: tuple[str, ...] = ("ok", "skipped", "failed")

_FITS_SUFFIXES = (".fits.gz", ".fits.fz", ".fit.gz", ".fits", ".fit", ".fts", ".fz")
_GLOB_MAGIC = re.compile(r"[*?[]")


def require(module: str = "distributed"):
    """Import ``module`` (a part of Dask) or explain how to install it.

    Parameters
    ----------
    module : str
        ``"distributed"``, ``"dask"``, ``"dask.array"``...

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    ModuleNotFoundError
        When Dask is not installed, with the ``pip install 'cosmicbook[survey]'`` that
        brings it.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            f"{module} is not installed; cosmicbook's survey tools need dask[distributed], the "
            f"optional extra {EXTRA!r}: pip install 'cosmicbook[{EXTRA}]' "
            f"(or pip install 'dask[distributed]')", name=err.name) from err


# --------------------------------------------------------------------------------------------
# inputs and outputs
# --------------------------------------------------------------------------------------------
def _read_list_file(path: Path) -> list[str]:
    if not path.is_file():
        raise FileNotFoundError(f"list file {path} does not exist")
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = Path(line).expanduser()
        entries.append(str(entry if entry.is_absolute() else path.parent / entry))
    if not entries:
        raise ValueError(f"list file {path} names no files")
    return entries


def _expand_one(spec: str, patterns: Sequence[str], missing: list[str]) -> list[Path]:
    if _GLOB_MAGIC.search(spec):
        import glob

        matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(spec), recursive=True))
        matches = [p for p in matches if p.is_file()]
        if not matches:
            raise FileNotFoundError(f"the glob {spec!r} matches no files")
        return matches
    path = Path(spec).expanduser()
    if path.is_dir():
        matches = sorted({p for pattern in patterns for p in path.glob(pattern) if p.is_file()})
        if not matches:
            raise FileNotFoundError(f"the directory {path} holds no files matching "
                                    f"{', '.join(patterns)}")
        return matches
    if path.is_file():
        return [path]
    missing.append(spec)
    return []


def expand_inputs(specs: str | os.PathLike | Iterable[str | os.PathLike], *,
                  patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[Path]:
    """The input files named by paths, globs, directories and list files.

    Parameters
    ----------
    specs : str, path-like or iterable of them
        Each one is

        * ``@list.txt``: a text file with one path, glob or directory per line (blank lines and
          ``#`` comments ignored; relative entries are relative to the list file's folder);
        * a glob (``"night/*.fits"``, ``"**"`` recursive);
        * a directory: the files in it matching ``patterns`` (not recursive);
        * a file.
    patterns : sequence of str
        Glob patterns of a directory's files (default FITS names, :data:`DEFAULT_PATTERNS`).

    Returns
    -------
    list of pathlib.Path
        Files in the order given (each glob and directory sorted by name), duplicates removed.

    Raises
    ------
    FileNotFoundError
        For a glob or directory that matches nothing, a missing list file, or paths that do
        not exist (all of them named, up to five).
    ValueError
        When ``specs`` is empty or a list file names nothing.

    Examples
    --------
    >>> import shutil, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ("b.fits", "a.fits", "notes.txt"):
    ...     _ = (folder / name).write_text("")
    >>> [p.name for p in expand_inputs(folder)]
    ['a.fits', 'b.fits']
    >>> expand_inputs(f"{folder}/*.fz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    FileNotFoundError: the glob '.../*.fz' matches no files
    >>> shutil.rmtree(folder)
    """
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    specs = [os.fspath(s) for s in specs]
    if not specs:
        raise ValueError("no inputs given")
    found: list[Path] = []
    missing: list[str] = []
    for spec in specs:
        if spec.startswith("@"):
            for entry in _read_list_file(Path(spec[1:]).expanduser()):
                found += _expand_one(entry, patterns, missing)
        else:
            found += _expand_one(spec, patterns, missing)
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise FileNotFoundError(f"{len(missing)} input(s) do not exist: "
                                f"{', '.join(missing[:5])}{more}")
    seen: set[Path] = set()
    unique = []
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _stem(name: str) -> str:
    lower = name.lower()
    for suffix in _FITS_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(name).stem or name


def output_paths(inputs: Iterable[str | os.PathLike], out_dir: str | os.PathLike, *,
                 suffix: str = "", extension: str = ".fits") -> list[Path]:
    """One output path in ``out_dir`` per input: ``<stem><suffix><extension>``.

    The stem drops FITS extensions, compressed ones included (``a.fits.fz`` -> ``a``).

    Raises
    ------
    ValueError
        When two inputs would write the same output, or an output would be its own input.

    Examples
    --------
    >>> [p.as_posix() for p in output_paths(["raw/a.fits.fz", "raw/b.fits"], "out",
    ...                                     suffix="_mask")]
    ['out/a_mask.fits', 'out/b_mask.fits']
    """
    out_dir = Path(out_dir)
    outputs: list[Path] = []
    owner: dict[Path, Path] = {}
    for src in map(Path, inputs):
        dst = out_dir / f"{_stem(src.name)}{suffix}{extension}"
        key = dst.resolve()
        if key in owner:
            raise ValueError(f"{owner[key]} and {src} would both write {dst}; give them "
                             f"different names or separate output directories")
        if key == src.resolve():
            raise ValueError(f"the output of {src} would overwrite it; choose another "
                             f"output directory or suffix")
        owner[key] = src
        outputs.append(dst)
    return outputs


def check_output_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` if needed and make sure a file can be written in it.

    Writability is tested by creating (and removing) a hidden file, since permission bits do
    not tell (a process running as root ignores them; a read-only mount does not show in them).

    Raises
    ------
    OSError
        ``NotADirectoryError`` when ``path`` is an existing file, else an ``OSError`` naming
        the directory and the reason (e.g. a path below a regular file, no permission, a
        read-only file system), with the ``errno`` of the failure.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"the output directory {path} is an existing file")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".cosmicbook-write-test-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        error = OSError(f"cannot write to the output directory {path}: "
                        f"{err.strerror or err}")
        error.errno = err.errno
        raise error from None
    return path


# --------------------------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------------------------
def connect(scheduler: str | os.PathLike | None = None, *, workers: int = 1,
            threads_per_worker: int = 1, processes: bool = True,
            timeout: float = 5.0) -> Client:
    """A ``dask.distributed`` client: a new ``LocalCluster``, or a running scheduler.

    Parameters
    ----------
    scheduler : str or path-like, optional
        ``None`` starts a ``LocalCluster`` (closed with the client). Otherwise the address of
        a running scheduler (``"tcp://10.0.0.5:8786"``) or the JSON file it wrote
        (``--scheduler-file`` of ``dask scheduler`` and ``dask-mpi``).
    workers : int
        Worker processes of the ``LocalCluster``.
    threads_per_worker : int
        Threads of each local worker (tasks that run at the same time in one process).
    processes : bool
        ``False`` runs the local workers as threads of this process (no start-up cost; for
        tests and small runs).
    timeout : float
        Seconds to wait for a remote scheduler, s.

    Returns
    -------
    distributed.Client
        Use it as a context manager, or call ``close()``.

    Raises
    ------
    ConnectionError
        When the scheduler cannot be reached within ``timeout``.
    FileNotFoundError
        For a scheduler file that does not exist.
    ModuleNotFoundError
        Without ``dask[distributed]`` (the ``survey`` extra).
    """
    distributed = require("distributed")
    if scheduler is None:
        positive_int(workers, "workers")
        positive_int(threads_per_worker, "threads_per_worker")
        # dashboard on a free port: no warning when 8787 is taken (it needs bokeh to show)
        return distributed.Client(n_workers=workers, threads_per_worker=threads_per_worker,
                                  processes=processes, dashboard_address=":0",
                                  silence_logs=logging.ERROR)
    if not timeout > 0:
        raise ValueError(f"timeout must be positive, got {timeout!r}")
    text = os.fspath(scheduler)
    kwargs: dict[str, Any]
    if "://" in text or re.fullmatch(r"[\w.\-\[\]:]+:\d+", text):
        kwargs = {"address": text}
    else:
        if not Path(text).is_file():
            raise FileNotFoundError(f"{text!r} is neither a scheduler address "
                                    f"(tcp://host:8786) nor an existing scheduler file")
        kwargs = {"scheduler_file": text}
    try:
        return distributed.Client(**kwargs, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise ConnectionError(
            f"cannot reach the Dask scheduler at {text} within {timeout:g} s ({err}); is it "
            f"running, and is the address right?") from None


# --------------------------------------------------------------------------------------------
# worker-side state
# --------------------------------------------------------------------------------------------
_CACHE: dict[Hashable, Any] = {}
_LOADS: collections.Counter = collections.Counter()
_LOCK = threading.Lock()


def worker_cache(key: Hashable, factory: Callable[[], Any]) -> Any:
    """The object cached under ``key`` in this process; ``factory()`` makes it on first use.

    A Dask worker is a long-lived process, so a model loaded here serves every task the
    worker runs (the per-file functions of :mod:`cosmicbook.deepcr.cli` and
    :mod:`cosmicbook.dla.survey` key their networks by weights file and device). Thread-safe:
    concurrent first calls create the object once.

    Examples
    --------
    >>> clear_cache()
    >>> worker_cache(("demo", 1), lambda: [1, 2]) is worker_cache(("demo", 1), list)
    True
    >>> cache_info()
    {('demo', 1): 1}
    """
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = factory()
            _LOADS[key] += 1
        return _CACHE[key]


def cache_info() -> dict[Hashable, int]:
    """How many times each key of :func:`worker_cache` was created in this process (one per
    key unless :func:`clear_cache` was called); ``client.run(cache_info)`` asks every worker."""
    with _LOCK:
        return dict(_LOADS)


def clear_cache() -> None:
    """Empty :func:`worker_cache` and its counts in this process."""
    with _LOCK:
        _CACHE.clear()
        _LOADS.clear()


def _set_torch_threads(n: int) -> None:
    torch = sys.modules.get("torch") or importlib.import_module("torch")
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _run_one(func: Callable, src: Path, dst: Path | None, kwargs: dict,
             torch_threads: int | None, client_pid: int) -> tuple[str, float, str, Any]:
    """Run ``func`` on one input in a worker; never raises (the error goes in the result)."""
    start = time.perf_counter()
    tmp = None
    try:
        if torch_threads is not None and os.getpid() != client_pid:
            _set_torch_threads(torch_threads)
        if dst is None:
            value = func(src, **kwargs)
        else:
            tmp = dst.with_name(f".tmp-{uuid.uuid4().hex[:12]}-{dst.name}")
            value = func(src, tmp, **kwargs)
            if not tmp.is_file():
                raise RuntimeError(f"{getattr(func, '__name__', func)!s} wrote no output")
            os.replace(tmp, dst)
        return "ok", time.perf_counter() - start, "", value
    except Exception as err:  # reported in the summary, the other files go on
        return "failed", time.perf_counter() - start, f"{type(err).__name__}: {err}", None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# the map
# --------------------------------------------------------------------------------------------
@dataclass
class BatchResult:
    """What :func:`map_files` did.

    Attributes
    ----------
    summary : astropy.table.Table
        One row per input: ``input``, ``output`` (empty without output files), ``status``
        (``"ok"``, ``"skipped"`` or ``"failed"``), ``seconds`` (s, in the worker; 0 when
        skipped) and ``error`` (``"Type: message"``, empty unless failed). ``meta`` holds
        ``wall_seconds`` (s, submit to last result) and ``workers`` / ``threads`` of the
        cluster.
    values : list
        What the function returned for each input (``None`` when skipped or failed).
    """

    summary: Table
    values: list = field(repr=False)

    def count(self, status: str) -> int:
        """Inputs in ``status`` (one of :data:`STATUSES`)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        return int((self.summary["status"] == status).sum())

    @property
    def failed(self) -> Table:
        """The rows of the inputs that failed, with their errors."""
        return self.summary[self.summary["status"] == "failed"]

    def describe(self) -> str:
        """One line: counts per status and the wall time."""
        counts = ", ".join(f"{self.count(s)} {s}" for s in STATUSES)
        return (f"{len(self.summary)} inputs: {counts} "
                f"({self.summary.meta.get('wall_seconds', 0.0):.1f} s)")


def _summary_table(inputs, outputs, rows, meta) -> Table:
    import astropy.units as u
    from astropy.table import Table

    table = Table({
        "input": [str(p) for p in inputs],
        "output": ["" if o is None else str(o) for o in outputs],
        "status": [r[0] for r in rows],
        "seconds": [float(r[1]) for r in rows],
        "error": [r[2] for r in rows],
    }, meta=meta)
    table["seconds"].unit = u.s
    table["seconds"].info.format = ".2f"
    return table


def _workers_threads(client) -> tuple[int, int]:
    try:
        info = client.scheduler_info(n_workers=-1)["workers"]
    except TypeError:  # older distributed: no n_workers argument
        info = client.scheduler_info()["workers"]
    return len(info), sum(int(w.get("nthreads", 0)) for w in info.values())


def map_files(func: Callable[..., Any], inputs: Sequence[str | os.PathLike],
              outputs: Sequence[str | os.PathLike] | None = None, *,
              client: Client | None = None, scheduler: str | os.PathLike | None = None,
              workers: int = 1, threads_per_worker: int = 1, skip_existing: bool = True,
              progress: bool | None = None, torch_threads: int | None = 1,
              timeout: float = 5.0, kwargs: dict | None = None) -> BatchResult:
    """Run ``func`` on every input file on a Dask cluster; one bad file does not stop the rest.

    Parameters
    ----------
    func : callable
        ``func(src, tmp, **kwargs)`` when ``outputs`` are given: read ``src`` and write the
        output to the path ``tmp`` (a hidden name in the output's folder, ending in the
        output's name so that extensions such as ``.fits.gz`` keep their meaning); it is
        moved to the output path when ``func`` returns. ``func(src, **kwargs)`` without
        outputs. Its return value is kept in :attr:`BatchResult.values`. It must be
        picklable (a module-level function) for process-based clusters.
    inputs : sequence of path-like
        Existing files (e.g. from :func:`expand_inputs`).
    outputs : sequence of path-like, optional
        One per input (e.g. from :func:`output_paths`).
    client : distributed.Client, optional
        Run on this client (left open). Otherwise one is made with :func:`connect`
        (``scheduler``, ``workers``, ``threads_per_worker``, ``timeout``) and closed at the end.
    scheduler : str or path-like, optional
        Address or scheduler file of a running cluster (see :func:`connect`).
    workers, threads_per_worker : int
        Size of the ``LocalCluster`` started when neither ``client`` nor ``scheduler`` is
        given.
    skip_existing : bool
        Skip inputs whose output exists (default): a re-run does only what is left.
        ``False`` recomputes and replaces them.
    progress : bool or None
        Dask's text progress bar; ``None`` shows it unless ``COSMICBOOK_PROGRESS=0``.
    torch_threads : int or None
        ``torch.set_num_threads`` in every worker process before its first task (default 1:
        Dask's workers and threads provide the parallelism). ``None`` leaves torch alone.
        Never applied to workers that run inside this process (``processes=False``).
    timeout : float
        Seconds to wait for a remote scheduler.
    kwargs : dict, optional
        Keyword arguments of ``func``.

    Returns
    -------
    BatchResult
        ``.summary`` (astropy Table: input, output, status, seconds, error) and ``.values``.

    Raises
    ------
    FileNotFoundError
        For an input that does not exist.
    ValueError
        For outputs that do not match the inputs one to one (or repeat).
    OSError
        For an output directory that cannot be written (:func:`check_output_dir`).
    ConnectionError
        For a scheduler that cannot be reached.

    All of these are raised before any work is submitted. Errors of ``func`` on one input
    are not raised: they are in the summary (status ``"failed"``).
    """
    from .progress import progress_enabled

    if client is not None and scheduler is not None:
        raise ValueError("give a client or a scheduler address, not both")
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise ValueError("no inputs given")
    absent = [str(p) for p in inputs if not p.is_file()]
    if absent:
        raise FileNotFoundError(f"{len(absent)} input(s) do not exist: {', '.join(absent[:5])}")
    if outputs is not None:
        outputs = [Path(p) for p in outputs]
        if len(outputs) != len(inputs):
            raise ValueError(f"{len(inputs)} inputs but {len(outputs)} outputs")
        if len({p.resolve() for p in outputs}) != len(outputs):
            raise ValueError("two inputs share an output path")
        for folder in sorted({p.parent for p in outputs}):
            check_output_dir(folder)
    if torch_threads is not None:
        positive_int(torch_threads, "torch_threads")
    targets: list[Path | None] = list(outputs) if outputs is not None else [None] * len(inputs)
    rows: list[tuple[str, float, str]] = [("skipped", 0.0, "")] * len(inputs)
    values: list[Any] = [None] * len(inputs)
    todo = [i for i, dst in enumerate(targets)
            if dst is None or not (skip_existing and dst.exists())]
    meta: dict[str, Any] = {"wall_seconds": 0.0}
    if not todo and client is None and scheduler is None:
        return BatchResult(_summary_table(inputs, targets, rows, meta), values)

    own = client is None
    if own:
        client = connect(scheduler, workers=workers, threads_per_worker=threads_per_worker,
                         timeout=timeout)
    try:
        meta["workers"], meta["threads"] = _workers_threads(client)
        start = time.perf_counter()
        name = getattr(func, "__name__", "task")
        token = uuid.uuid4().hex[:8]
        futures = [client.submit(_run_one, func, inputs[i], targets[i], dict(kwargs or {}),
                                 torch_threads, os.getpid(), key=f"{name}-{token}-{i}",
                                 pure=False) for i in todo]
        if futures and progress_enabled(progress):
            require("distributed").progress(futures, notebook=False)
        for i, future in zip(todo, futures, strict=True):
            try:
                status, seconds, error, values[i] = future.result()
            except Exception as err:  # the worker died or the task could not run
                status, seconds, error = "failed", 0.0, f"{type(err).__name__}: {err}"
            rows[i] = (status, seconds, error)
        meta["wall_seconds"] = time.perf_counter() - start
    finally:
        if own:
            client.close()
    return BatchResult(_summary_table(inputs, targets, rows, meta), values)
