"""DLAs in a catalogue of spectrum files, on a Dask cluster.

:func:`find_dlas_catalogue` runs :func:`~cosmicbook.dla.find_dlas` on every SDSS-style spectrum
file of a survey (read with :func:`~cosmicbook.dla.read_spectrum`) through
:func:`cosmicbook.core.batch.map_files`: on a ``LocalCluster`` by default, or on a running
scheduler (``scheduler="tcp://host:8786"`` or a scheduler file; at NERSC, dask-jobqueue's
``SLURMCluster`` or ``dask-mpi``, see :mod:`cosmicbook.core.batch`). The network is loaded once
per worker process, a spectrum that cannot be read or searched is listed with its error while
the others go on, and the DLAs of all spectra come back as one table, optionally written to a
file (atomically).

Needs the optional extra ``survey`` (``pip install 'cosmicbook[survey]'``).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy.table import Table, vstack

from cosmicbook.core.batch import BatchResult, check_output_dir, expand_inputs, map_files
from cosmicbook.core.batch import worker_cache as _worker_cache

from .inference import DEFAULT_WEIGHTS, WEIGHTS_DIR, find_dlas, load_model
from .io import read_spectrum
from .model import DLACNN

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

__all__ = ["DLACatalogue", "cached_model", "find_dlas_catalogue", "find_dlas_file"]

#: Columns of :attr:`DLACatalogue.dlas` taken from :func:`find_dlas`' tables.
_DLA_COLUMNS = ("z_abs", "log_nhi", "confidence", "pixel", "n_votes", "kind")


def cached_model(weights: str | os.PathLike | None = None) -> DLACNN:
    """The DLA network of ``weights`` (default: the shipped one), loaded once per process.

    Dask workers call this in every task; the first call in a worker reads the file
    (:func:`cosmicbook.core.batch.worker_cache`, keyed by the resolved path and its
    modification time), later ones reuse the network. ``client.run(cached_model)`` loads it
    in every worker ahead of the work.
    """
    path = Path(WEIGHTS_DIR / DEFAULT_WEIGHTS if weights is None else weights).resolve()
    key = ("dla.DLACNN", str(path), path.stat().st_mtime_ns)
    return _worker_cache(key, lambda: load_model(path))


def find_dlas_file(path: str | os.PathLike, *, model: DLACNN | str | os.PathLike | None = None,
                   hdu: int | str = "COADD", **options: Any) -> Table:
    """The DLAs of one spectrum file (:func:`~cosmicbook.dla.read_spectrum` +
    :func:`~cosmicbook.dla.find_dlas`), with the network loaded once per process.

    Parameters
    ----------
    path : path-like
        An SDSS-style ``spec-*.fits`` file whose redshift is in its ``SPECOBJ`` table or
        header keyword ``Z``.
    model : DLACNN, path or None
        The network or its weights file (default: shipped).
    hdu : int or str
        The spectrum's table HDU.
    **options
        ``stride``, ``threshold``, ``min_votes`` of :func:`~cosmicbook.dla.find_dlas`.

    Raises
    ------
    FileNotFoundError, ValueError
        For an unreadable file, a spectrum without a redshift, or bad data.
    """
    spectrum = read_spectrum(path, hdu)
    if spectrum.z_qso is None:
        raise ValueError(f"{Path(path).name} records no quasar redshift (no SPECOBJ Z column "
                         f"or header keyword Z)")
    return find_dlas(spectrum.wave, spectrum.flux, spectrum.ivar, spectrum.z_qso,
                     model=model if isinstance(model, DLACNN) else cached_model(model),
                     **options)


@dataclass
class DLACatalogue:
    """The result of :func:`find_dlas_catalogue`.

    Attributes
    ----------
    dlas : astropy.table.Table
        One row per absorber found: ``file`` (the spectrum's name), ``z_qso`` and the columns
        of :func:`~cosmicbook.dla.find_dlas` (``z_abs``, ``log_nhi``, ``confidence``,
        ``pixel``, ``n_votes``, ``kind``).
    summary : astropy.table.Table
        One row per spectrum: ``input``, ``status`` (ok / failed), ``seconds``, ``error``
        and ``n_absorbers`` (-1 when failed); see :class:`cosmicbook.core.batch.BatchResult`.
    """

    dlas: Table
    summary: Table

    def describe(self) -> str:
        """One line: spectra searched, failed, absorbers found, wall time."""
        ok = int((self.summary["status"] == "ok").sum())
        failed = int((self.summary["status"] == "failed").sum())
        return (f"{len(self.summary)} spectra: {ok} searched, {failed} failed; "
                f"{len(self.dlas)} absorbers "
                f"({self.summary.meta.get('wall_seconds', 0.0):.1f} s)")


def _catalogue(result: BatchResult) -> Table:
    rows = []
    for src, table in zip(result.summary["input"], result.values, strict=True):
        if table is None or len(table) == 0:
            continue
        part = Table(table[list(_DLA_COLUMNS)], copy=True)
        part.add_column(Path(src).name, name="file", index=0)
        part.add_column(float(table.meta["z_qso"]), name="z_qso", index=1)
        part.meta.clear()
        rows.append(part)
    if rows:
        return vstack(rows, metadata_conflicts="silent")
    return Table(names=("file", "z_qso", *_DLA_COLUMNS),
                 dtype=("U1", float, float, float, float, float, int, "U6"))


def find_dlas_catalogue(paths, output: str | os.PathLike | None = None, *,
                        client: Client | None = None,
                        scheduler: str | os.PathLike | None = None, workers: int = 1,
                        threads_per_worker: int = 1,
                        model: DLACNN | str | os.PathLike | None = None,
                        overwrite: bool = False, progress: bool | None = None,
                        timeout: float = 5.0, **options: Any) -> DLACatalogue:
    """DLAs in every spectrum of a catalogue of files, on a Dask cluster.

    Parameters
    ----------
    paths : path, glob, directory, ``@list`` file, or a sequence of them
        The spectrum files (:func:`cosmicbook.core.batch.expand_inputs`).
    output : path-like, optional
        Write :attr:`DLACatalogue.dlas` here (format from the extension, e.g. ``.ecsv`` or
        ``.fits``), atomically.
    client, scheduler, workers, threads_per_worker, progress, timeout
        The cluster and the progress bar (:func:`cosmicbook.core.batch.map_files`).
    model : DLACNN, path or None
        A weights file (loaded once per worker) or ``None`` for the shipped weights; a
        ``DLACNN`` object travels with every task.
    overwrite : bool
        Replace an existing ``output``.
    **options
        ``hdu`` of :func:`~cosmicbook.dla.read_spectrum`, ``stride``, ``threshold``,
        ``min_votes`` of :func:`~cosmicbook.dla.find_dlas`.

    Returns
    -------
    DLACatalogue
        ``.dlas`` (all absorbers, with their file) and ``.summary`` (one row per spectrum).

    Raises
    ------
    FileNotFoundError, ValueError, OSError, ConnectionError
        Before any work starts: inputs that match nothing, a missing weights file, an
        existing ``output`` without ``overwrite``, a folder that cannot be written, a
        scheduler that cannot be reached. A spectrum that fails is listed in ``.summary``.

    Examples
    --------
    >>> import tempfile
    >>> from cosmicbook import dla
    >>> folder = Path(tempfile.mkdtemp())
    >>> for i, s in enumerate(dla.simulate_sightlines(2, seed=1, progress_bar=False)):
    ...     _ = dla.write_spectrum(folder / f"spec-{i}.fits", s.wave, s.flux, s.ivar, s.z_qso)
    >>> _ = (folder / "spec-bad.fits").write_text("not FITS")
    >>> from cosmicbook.core.batch import connect
    >>> with connect(processes=False) as client:  # a LocalCluster in this process
    ...     cat = find_dlas_catalogue(folder, client=client, progress=False)
    >>> [str(status) for status in cat.summary["status"]]
    ['ok', 'ok', 'failed']
    >>> str(cat.summary["error"][2]).split(":")[0]
    'OSError'
    >>> import shutil; shutil.rmtree(folder)
    """
    unknown = set(options) - {"hdu", "stride", "threshold", "min_votes"}
    if unknown:
        raise TypeError(f"find_dlas_catalogue got unexpected option(s) {sorted(unknown)}")
    if model is not None and not isinstance(model, DLACNN):
        path = Path(model).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no DLA weights at {path}")
        model = str(path)
    sources = expand_inputs(paths)
    if output is not None:
        output = Path(output)
        if output.exists() and not overwrite:
            raise FileExistsError(f"{output} exists; pass overwrite=True to replace it")
        check_output_dir(output.parent)
    result = map_files(find_dlas_file, sources, None, client=client, scheduler=scheduler,
                       workers=workers, threads_per_worker=threads_per_worker,
                       progress=progress, timeout=timeout,
                       kwargs={"model": model, **options})
    summary = result.summary
    summary.remove_column("output")
    summary["n_absorbers"] = np.array([-1 if v is None else len(v) for v in result.values])
    catalogue = DLACatalogue(_catalogue(result), summary)
    if output is not None:
        tmp = output.with_name(f".tmp-{uuid.uuid4().hex[:12]}-{output.name}")
        try:
            catalogue.dlas.write(tmp, overwrite=True)
            os.replace(tmp, output)
        finally:
            tmp.unlink(missing_ok=True)
    return catalogue
