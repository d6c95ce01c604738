"""``cosmicbook mask``: cosmic-ray masks for preprocessed FITS frames, one or thousands.

``cosmicbook mask IN.fits OUT.fits`` reads one 2-D image HDU (electrons, bias-subtracted, e.g.
a DESI ``preproc`` IMAGE), runs :func:`cosmicbook.deepcr.predict_mask` with the shipped 2-32
weights (or ``--weights``), and writes a new FITS file with

* the primary HDU carrying the input HDU's header (data-description keywords removed),
* ``MASK``: uint8, 1 where ``probability > threshold``,
* ``PROB``: float32 cosmic-ray probability (left out with ``--no-prob``).

``cosmicbook mask IN... --out-dir DIR`` does the same for many inputs -- globs (quoted, so that
the shell leaves them alone), directories (their FITS files) and list files (``@night.txt``, one
path or glob per line) -- on a Dask cluster (:func:`mask_files`): a ``LocalCluster`` of
``--workers`` processes, or a running scheduler (``--scheduler tcp://host:8786`` or a scheduler
file, e.g. at NERSC). Each output is ``DIR/<input stem>_mask.fits``; outputs that exist are
skipped (a re-run finishes an interrupted night; ``--overwrite`` recomputes them); a file that
fails is reported with its error and the others go on; ``--summary FILE`` writes the table of
what happened (ECSV). A glob that matches nothing, an output directory that cannot be written
or a scheduler that does not answer stops the command before any work starts.

Every output is written to a temporary file and moved into place only when everything worked,
so a bad input (a missing file or HDU, NaNs, data that is not a 2-D numeric image) or a crash
leaves no output file behind. Exit status: 0 on success, 1 on a bad input (in batch mode: when
any input failed), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

import numpy as np

from cosmicbook.core.batch import (
    BatchResult,
    check_output_dir,
    expand_inputs,
    map_files,
    output_paths,
)

__all__ = ["MASK_SUFFIX", "add_mask_parser", "main", "mask_file", "mask_files",
           "parse_arguments", "read_frame", "run_mask", "write_mask"]

#: Appended to an input's stem to name its mask in batch mode (``frame.fits`` ->
#: ``frame_mask.fits``).
MASK_SUFFIX = "_mask"

#: Header keywords that describe the data layout and must not be copied to other HDUs.
_STRUCTURAL = {
    "SIMPLE", "BITPIX", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "EXTNAME", "EXTVER",
    "BSCALE", "BZERO", "BLANK", "CHECKSUM", "DATASUM", "GROUPS", "TFIELDS", "THEAP",
    "ZIMAGE", "ZBITPIX", "ZCMPTYPE", "ZTENSION", "ZPCOUNT", "ZGCOUNT", "ZQUANTIZ", "ZDITHER0",
    "ZSIMPLE", "ZEXTEND", "ZBLANK", "ZHECKSUM", "ZDATASUM",
}
_STRUCTURAL_PREFIXES = ("NAXIS", "ZNAXIS", "ZTILE", "ZNAME", "ZVAL", "TTYPE", "TFORM", "TUNIT")


def _parse_hdu(value: str | None) -> int | str | None:
    if value is None:
        return None
    return int(value) if value.lstrip("-").isdigit() else value


def read_frame(path: str | os.PathLike, hdu: int | str | None = None):
    """The 2-D image and header of ``hdu`` (default: the first 2-D image HDU) of a FITS file.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is not
    FITS, a missing HDU, or an HDU without 2-D numeric image data.
    """
    from cosmicbook.core.io import _describe_hdus, open_fits

    path = Path(path)

    def data_of(unit):
        try:
            return unit.data
        except (OSError, ValueError) as err:  # e.g. a truncated file
            raise ValueError(f"the data of {path} cannot be read ({err}); is the file "
                             f"truncated?") from None

    with open_fits(path, "input FITS file") as hdul:
        if hdu is None:
            chosen = next((h for h in hdul if getattr(h, "is_image", False)
                           and data_of(h) is not None and h.data.ndim == 2), None)
            if chosen is None:
                raise ValueError(f"{path} holds no 2-D image in any HDU; it has: "
                                 f"{_describe_hdus(hdul)}")
        else:
            try:
                chosen = hdul[hdu]
            except (KeyError, IndexError):
                raise ValueError(f"{path} has no HDU {hdu!r}; it has: {_describe_hdus(hdul)}") \
                    from None
            if not getattr(chosen, "is_image", False):
                raise ValueError(f"HDU {hdu!r} of {path} is a {type(chosen).__name__}, not an "
                                 f"image (non-numeric data)")
            if data_of(chosen) is None or chosen.data.ndim != 2:
                shape = None if chosen.data is None else chosen.data.shape
                raise ValueError(f"HDU {hdu!r} of {path} is not a 2-D image (shape {shape})")
        data = np.array(chosen.data)
        header = chosen.header.copy()
    return data, header


def write_mask(path: str | os.PathLike, mask: np.ndarray, prob: np.ndarray | None, header,
               extra: dict | None = None, overwrite: bool = False) -> Path:
    """Write the MASK (and PROB) HDUs with ``header``'s keywords, atomically."""
    from astropy.io import fits

    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    primary = fits.PrimaryHDU()
    for card in header.cards:
        key = card.keyword
        if key in _STRUCTURAL or key.startswith(_STRUCTURAL_PREFIXES) or not key:
            continue
        primary.header.append(card, end=True)
    for key, (value, comment) in (extra or {}).items():
        primary.header[key] = (value, comment)
    hdus = [primary, fits.ImageHDU(mask.astype(np.uint8), name="MASK")]
    hdus[1].header["COMMENT"] = "1 = cosmic ray (probability > CRTHRESH)"
    if prob is not None:
        hdus.append(fits.ImageHDU(prob.astype(np.float32), name="PROB"))
        hdus[2].header["BUNIT"] = ("", "cosmic-ray probability, 0..1")
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        fits.HDUList(hdus).writeto(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def mask_file(src: str | os.PathLike, dst: str | os.PathLike, *,
              weights: str | os.PathLike | None = None, threshold: float = 0.5,
              hdu: int | str | None = None, tile: int | None = None,
              device: str | None = None, write_prob: bool = True,
              overwrite: bool = False) -> dict:
    """Mask one FITS frame: read ``src``, write ``dst`` (MASK and PROB HDUs, atomically).

    The network is loaded once per process (:func:`cosmicbook.deepcr.survey.cached_model`),
    so that a Dask worker masking many files reads the weights once.

    Parameters
    ----------
    src, dst : path-like
        Input frame (electrons) and output file.
    weights : path-like, optional
        A ``.pt`` file of :func:`cosmicbook.deepcr.save_model`; default the shipped 2-32.
    threshold : float
        Probability above which a pixel is masked.
    hdu : int or str, optional
        The input HDU (default: the first 2-D image).
    tile, device
        See :func:`cosmicbook.deepcr.predict_mask`.
    write_prob : bool
        Also write the PROB HDU.
    overwrite : bool
        Replace ``dst`` if it exists.

    Returns
    -------
    dict
        ``n_masked`` (pixels flagged) and ``n_pixels``.

    Raises
    ------
    FileNotFoundError, ValueError
        For a bad input (see :func:`read_frame` and
        :func:`~cosmicbook.deepcr.check_frame`); nothing is written then.
    """
    from cosmicbook.core.device import get_device

    from .inference import check_frame, predict_mask
    from .survey import cached_model

    src = Path(src)
    data, header = read_frame(src, hdu)
    frame = check_frame(data, name=f"the image of {src.name}")
    model = cached_model(weights, str(get_device(device)))
    prob = predict_mask(frame, model=model, tile=tile, device=device)
    mask = prob > threshold
    extra = {
        "CRMODEL": (Path(weights).name if weights else "cosmicbook 2-32 shipped",
                    "cosmic-ray mask network"),
        "CRTHRESH": (threshold, "probability threshold of MASK"),
        "CRNPIX": (int(mask.sum()), "pixels flagged as cosmic rays"),
        "CRSOURCE": (src.name[:68], "input file"),
    }
    write_mask(dst, mask, prob if write_prob else None, header, extra, overwrite)
    return {"n_masked": int(mask.sum()), "n_pixels": int(mask.size)}


def mask_files(inputs, out_dir: str | os.PathLike, *, suffix: str = MASK_SUFFIX,
               client=None, scheduler: str | os.PathLike | None = None, workers: int = 1,
               threads_per_worker: int = 1, overwrite: bool = False,
               progress: bool | None = None, timeout: float = 5.0,
               **options) -> BatchResult:
    """Cosmic-ray masks of many FITS frames on a Dask cluster (``cosmicbook mask --out-dir``).

    Parameters
    ----------
    inputs : path, glob, directory, ``@list`` file, or a sequence of them
        See :func:`cosmicbook.core.batch.expand_inputs`.
    out_dir : path-like
        Where the masks go (created if needed): ``<input stem><suffix>.fits``.
    suffix : str
        Appended to the input's stem (default :data:`MASK_SUFFIX`).
    client, scheduler, workers, threads_per_worker, progress, timeout
        The cluster and the progress bar, see :func:`cosmicbook.core.batch.map_files`
        (default: a ``LocalCluster`` of one single-threaded worker).
    overwrite : bool
        Recompute masks that exist (default: skip them).
    **options
        ``weights``, ``threshold``, ``hdu``, ``tile``, ``device``, ``write_prob`` of
        :func:`mask_file`.

    Returns
    -------
    cosmicbook.core.batch.BatchResult
        ``.summary``: input, output, status (ok / skipped / failed), seconds, error and
        ``n_masked`` (pixels flagged; -1 unless ok).

    Raises
    ------
    FileNotFoundError, ValueError, OSError, ConnectionError
        Before any work starts: an input glob that matches nothing, a missing input or
        weights file, an output directory that cannot be written, a scheduler that cannot be
        reached.
    """
    from cosmicbook.core.weights import read_weights_metadata

    unknown = set(options) - {"weights", "threshold", "hdu", "tile", "device", "write_prob"}
    if unknown:
        raise TypeError(f"mask_files got unexpected option(s) {sorted(unknown)}")
    threshold = options.get("threshold", 0.5)
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold!r}")
    if options.get("weights") is not None:  # a missing file is an error before any work
        options["weights"] = str(Path(options["weights"]).resolve())
        read_weights_metadata(options["weights"], what="UNet")
    sources = expand_inputs(inputs)
    targets = output_paths(sources, out_dir, suffix=suffix)
    result = map_files(mask_file, sources, targets, client=client, scheduler=scheduler,
                       workers=workers, threads_per_worker=threads_per_worker,
                       skip_existing=not overwrite, progress=progress, timeout=timeout,
                       kwargs={**options, "overwrite": True})
    result.summary["n_masked"] = [v["n_masked"] if isinstance(v, dict) else -1
                                  for v in result.values]
    return result


def _fail(message: str) -> int:
    print(f"cosmicbook mask: error: {message}", file=sys.stderr)
    return 1


def _run_single(args: argparse.Namespace) -> int:
    try:
        src, dst = Path(args.inputs[0]), Path(args.inputs[1])
        if src.resolve() == dst.resolve():
            raise ValueError("OUT must differ from IN (the input is never overwritten)")
        if dst.exists() and not args.overwrite:
            raise FileExistsError(f"{dst} exists; pass --overwrite to replace it")
        done = mask_file(src, dst, weights=args.weights, threshold=args.threshold,
                         hdu=_parse_hdu(args.hdu), tile=args.tile, device=args.device,
                         write_prob=not args.no_prob, overwrite=args.overwrite)
    except (OSError, ValueError) as err:
        return _fail(str(err))
    if not args.quiet:
        n, size = done["n_masked"], done["n_pixels"]
        print(f"{dst}: {n} of {size} pixels flagged ({n / size:.3%}) at threshold "
              f"{args.threshold}")
    return 0


def _run_batch(args: argparse.Namespace) -> int:
    try:
        if args.summary:  # a summary that cannot be written is an error before the work
            check_output_dir(Path(args.summary).parent)
        result = mask_files(
            args.inputs, args.out_dir, scheduler=args.scheduler, workers=args.workers,
            threads_per_worker=args.threads_per_worker, overwrite=args.overwrite,
            progress=False if args.quiet else None, timeout=args.timeout, weights=args.weights,
            threshold=args.threshold, hdu=_parse_hdu(args.hdu), tile=args.tile,
            device=args.device, write_prob=not args.no_prob)
        if args.summary:
            summary = Path(args.summary)
            tmp = summary.with_name(f".{summary.name}.{uuid.uuid4().hex}.tmp")
            try:
                result.summary.write(tmp, format="ascii.ecsv")
                os.replace(tmp, summary)
            finally:
                tmp.unlink(missing_ok=True)
    except (OSError, ValueError, ImportError) as err:
        return _fail(str(err))
    for row in result.failed:
        print(f"cosmicbook mask: failed: {row['input']}: {row['error']}", file=sys.stderr)
    if not args.quiet or len(result.failed):
        print(f"{result.describe()} -> {args.out_dir}")
    return 1 if len(result.failed) else 0


def run_mask(args: argparse.Namespace) -> int:
    """Execute the ``mask`` subcommand for parsed ``args``; returns the exit status."""
    parser = getattr(args, "parser", None)

    def usage_error(message: str) -> int:
        if parser is not None:
            parser.error(message)  # exits with status 2
        print(f"cosmicbook mask: error: {message}", file=sys.stderr)
        return 2

    if args.out_dir is None:
        if len(args.inputs) != 2:
            return usage_error("give IN.fits OUT.fits, or any number of inputs with "
                               "--out-dir DIR")
        if args.scheduler is not None or args.workers != 1 or args.summary \
                or args.threads_per_worker != 1:
            return usage_error("--workers, --threads-per-worker, --scheduler and --summary "
                               "need --out-dir DIR")
        return _run_single(args)
    if args.workers < 1 or args.threads_per_worker < 1 or not args.timeout > 0:
        return usage_error("--workers and --threads-per-worker must be at least 1, "
                           "--timeout positive")
    return _run_batch(args)


def _threshold(value: str) -> float:
    t = float(value)
    if not 0.0 <= t <= 1.0:
        raise argparse.ArgumentTypeError(f"threshold must be in [0, 1], got {value}")
    return t


def add_mask_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``mask`` with an ``argparse`` sub-parser collection."""
    parser = subparsers.add_parser(
        "mask", help="cosmic-ray masks of preprocessed FITS frames (deepCR-style 2-32 UNet)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        usage="cosmicbook mask [options] IN.fits OUT.fits\n"
              "       cosmicbook mask [options] IN [IN ...] --out-dir DIR")
    parser.add_argument("inputs", nargs="+", metavar="IN",
                        help="IN.fits OUT.fits (frame in electrons, bias-subtracted, and the "
                             "file to write MASK/PROB to); with --out-dir: files, quoted "
                             "globs, directories, @list files")
    parser.add_argument("--hdu", default=None,
                        help="HDU index or EXTNAME (default: first 2-D image)")
    parser.add_argument("--threshold", type=_threshold, default=0.5,
                        help="probability above which a pixel is masked (default 0.5)")
    parser.add_argument("--tile", type=int, default=None,
                        help="tile side in pixels (default 1024; 0 = whole frame)")
    parser.add_argument("--weights", default=None,
                        help="a .pt file from cosmicbook.deepcr.save_model (default: shipped)")
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: best)")
    parser.add_argument("--no-prob", action="store_true", help="do not write the PROB HDU")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT if it exists (batch: recompute existing masks)")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    batch = parser.add_argument_group("many inputs (on a Dask cluster)")
    batch.add_argument("--out-dir", default=None, metavar="DIR",
                       help="write <stem>_mask.fits here for every input (batch mode)")
    batch.add_argument("--workers", type=int, default=1, metavar="N",
                       help="worker processes of the local Dask cluster (default 1)")
    batch.add_argument("--threads-per-worker", type=int, default=1, metavar="N",
                       help="threads of each local worker (default 1)")
    batch.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="use a running Dask scheduler: tcp://host:port or a scheduler "
                            "file (e.g. from dask-mpi or dask-jobqueue at NERSC)")
    batch.add_argument("--timeout", type=float, default=5.0, metavar="S",
                       help="seconds to wait for --scheduler before giving up (default 5)")
    batch.add_argument("--summary", default=None, metavar="FILE",
                       help="write the table of inputs, status and errors (ECSV)")
    parser.set_defaults(func=run_mask, parser=parser)
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)``, where inputs may come after options.

    argparse gives a ``nargs="+"`` positional only the words before the first option
    (``IN --hdu 1 OUT`` leaves ``OUT`` over); the words left over go to the ``inputs`` of a
    subcommand that has them, and anything else is the usual "unrecognized arguments" error.
    """
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not isinstance(getattr(args, "inputs", None), list) or \
                any(word.startswith("-") for word in extra):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.inputs += extra
    return args


def main(argv: list[str] | None = None) -> int:
    """``python -m cosmicbook.deepcr.cli IN.fits OUT.fits ...`` (same as ``cosmicbook mask``)."""
    parser = argparse.ArgumentParser(prog="cosmicbook")
    add_mask_parser(parser.add_subparsers(dest="command", required=True))
    args = parse_arguments(parser, ["mask", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
