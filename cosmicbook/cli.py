"""The ``cosmicbook`` command: one entry point, one subcommand per pipeline tool.

Subcommands
-----------
``mask``
    Cosmic-ray masks of preprocessed FITS frames: one (``IN.fits OUT.fits``) or many on a Dask
    cluster (``IN... --out-dir DIR``; :mod:`cosmicbook.deepcr.cli`).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``cosmicbook`` argument parser with all subcommands registered."""
    from cosmicbook.deepcr.cli import add_mask_parser

    parser = argparse.ArgumentParser(prog="cosmicbook", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    subparsers = parser.add_subparsers(title="subcommands", dest="command", required=True)
    add_mask_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``cosmicbook`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    from cosmicbook.deepcr.cli import parse_arguments

    args = parse_arguments(build_parser(), sys.argv[1:] if argv is None else argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
