"""``cosmicbook mask IN.fits OUT.fits``: a cosmic-ray mask for a preprocessed FITS frame.

Reads one 2-D image HDU (electrons, bias-subtracted, e.g. a DESI ``preproc`` IMAGE), runs
:func:`cosmicbook.deepcr.predict_mask` with the shipped 2-32 weights (or ``--weights``), and
writes a new FITS file with

* the primary HDU carrying the input HDU's header (data-description keywords removed),
* ``MASK``: uint8, 1 where ``probability > threshold``,
* ``PROB``: float32 cosmic-ray probability (left out with ``--no-prob``).

The output is written to a temporary file and moved into place only when everything worked, so
a bad input (a missing file or HDU, NaNs, data that is not a 2-D numeric image) leaves no output
file behind. Exit status: 0 on success, 1 on a bad input, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

import numpy as np

__all__ = ["add_mask_parser", "main", "run_mask", "write_mask"]

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
    with open_fits(path, "input FITS file") as hdul:
        if hdu is None:
            chosen = next((h for h in hdul if getattr(h, "is_image", False)
                           and h.data is not None and h.data.ndim == 2), None)
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
            if chosen.data is None or chosen.data.ndim != 2:
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


def run_mask(args: argparse.Namespace) -> int:
    """Execute the ``mask`` subcommand for parsed ``args``; returns the exit status."""
    from .inference import check_frame, load_model, predict_mask

    try:
        src, dst = Path(args.input), Path(args.output)
        if src.resolve() == dst.resolve():
            raise ValueError("OUT must differ from IN (the input is never overwritten)")
        if dst.exists() and not args.overwrite:
            raise FileExistsError(f"{dst} exists; pass --overwrite to replace it")
        data, header = read_frame(src, _parse_hdu(args.hdu))
        frame = check_frame(data, name=f"the image of {src.name}")
        model = None if args.weights is None else load_model(args.weights, device=args.device)
        prob = predict_mask(frame, model=model, tile=args.tile, device=args.device)
        mask = prob > args.threshold
        extra = {
            "CRMODEL": (Path(args.weights).name if args.weights else "cosmicbook 2-32 shipped",
                        "cosmic-ray mask network"),
            "CRTHRESH": (args.threshold, "probability threshold of MASK"),
            "CRNPIX": (int(mask.sum()), "pixels flagged as cosmic rays"),
            "CRSOURCE": (src.name[:68], "input file"),
        }
        write_mask(dst, mask, None if args.no_prob else prob, header, extra, args.overwrite)
    except (OSError, ValueError) as err:
        print(f"cosmicbook mask: error: {err}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{dst}: {int(mask.sum())} of {mask.size} pixels flagged "
              f"({mask.mean():.3%}) at threshold {args.threshold}")
    return 0


def _threshold(value: str) -> float:
    t = float(value)
    if not 0.0 <= t <= 1.0:
        raise argparse.ArgumentTypeError(f"threshold must be in [0, 1], got {value}")
    return t


def add_mask_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``mask`` with an ``argparse`` sub-parser collection."""
    parser = subparsers.add_parser(
        "mask", help="cosmic-ray mask of a preprocessed FITS frame (deepCR-style 2-32 UNet)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", metavar="IN.fits", help="frame in electrons, bias-subtracted")
    parser.add_argument("output", metavar="OUT.fits", help="file to write MASK/PROB to")
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
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    parser.set_defaults(func=run_mask)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m cosmicbook.deepcr.cli IN.fits OUT.fits ...`` (same as ``cosmicbook mask``)."""
    parser = argparse.ArgumentParser(prog="cosmicbook")
    add_mask_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["mask", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
