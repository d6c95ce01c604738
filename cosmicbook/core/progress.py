"""Progress bars shared by every simulator and training loop.

All long loops in cosmicbook go through :func:`progress`, so a reader can switch every
bar off at once: pass ``progress=False`` to the function that runs the loop, or set the
environment variable ``COSMICBOOK_PROGRESS=0`` (the book build does this, so rendered pages
carry no progress-bar debris). tqdm's own ``TQDM_DISABLE=1`` is honoured too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["progress", "progress_enabled"]


def progress_enabled(flag: bool | None = None) -> bool:
    """Whether progress bars should be shown.

    Parameters
    ----------
    flag : bool or None
        An explicit choice from the caller; ``None`` defers to the environment
        (``COSMICBOOK_PROGRESS`` and ``TQDM_DISABLE``), enabled by default.
    """
    if flag is not None:
        return bool(flag)
    env = os.environ.get("COSMICBOOK_PROGRESS", "").strip().lower()
    if env in {"0", "false", "no", "off"}:
        return False
    if os.environ.get("TQDM_DISABLE", "").strip().lower() in {"1", "true", "yes"}:
        return False
    return True


def progress(iterable: Iterable[T] | None = None, *, enabled: bool | None = None,
             **kwargs: Any):
    """Wrap ``iterable`` in a tqdm progress bar (notebook-aware), or not at all.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; may be omitted when ``total`` is given and the bar is
        updated by hand.
    enabled : bool or None
        Show the bar; ``None`` uses :func:`progress_enabled`.
    **kwargs
        Passed to ``tqdm`` (``desc``, ``total``, ``unit``, ``leave``...).
    """
    show = progress_enabled(enabled)
    return _tqdm_class(show)(iterable, disable=not show, **kwargs)


def _tqdm_class(show: bool):
    """tqdm's notebook widget where ipywidgets is installed, the text bar otherwise.

    ``tqdm.auto`` warns (on stderr, which would land in the rendered book) when it runs in a
    notebook without ipywidgets; the text bar works everywhere.
    """
    if show:
        try:
            import ipywidgets  # noqa: F401
            from tqdm.auto import tqdm

            return tqdm
        except ImportError:
            pass
    from tqdm.std import tqdm

    return tqdm
