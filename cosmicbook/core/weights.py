"""Trained weights shipped with the package: a ``.pt`` state dict next to a ``.json`` of the same
stem holding what is needed to rebuild the network (its configuration) plus the training
metadata of the run that produced it.

Every chapter's ``save_model`` / ``load_model`` goes through :func:`save_weights` and
:func:`load_weights`, so the file layout, the error for a missing file and the in-memory cache
are the same everywhere::

    path = save_weights(net, "weights/net.pt", {"model": net.config(), "epochs": 12})
    net = load_weights(path, lambda meta: Net(**meta["model"]), what="Net",
                       chapter="03_dla")

:func:`load_weights` also reads the older layout of the deepcr chapter's files, whose ``.pt``
holds ``{"config": <network configuration>, "state_dict": <state dict>}`` (its shipped
weights are still in it): the state dict is taken from there, and the configuration is handed
to ``build`` as ``metadata["model"]`` when the JSON has no ``"model"`` of its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["clear_weights_cache", "load_weights", "read_weights_metadata", "save_weights"]

_CACHE: dict[tuple[str, int, str], Any] = {}


def save_weights(module, path: str | os.PathLike, metadata: dict) -> Path:
    """Write ``module.state_dict()`` to ``path`` and ``metadata`` to the JSON of the same stem.

    Parameters
    ----------
    module : torch.nn.Module
        The trained network.
    path : str or path-like
        The ``.pt`` file to write; missing parent directories are created.
    metadata : dict
        JSON-serialisable description: at least what the loader's ``build`` needs (by
        convention the network configuration under ``"model"``), plus anything worth
        keeping about the run (profile, epochs, metrics). Numpy scalars and arrays are written
        as numbers and lists.

    Returns
    -------
    Path
        ``path``.
    """
    import torch

    path = Path(path)
    if path.suffix != ".pt":
        raise ValueError(f"weights files end in .pt, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(module.state_dict(), path)
    path.with_suffix(".json").write_text(json.dumps(metadata, indent=2, default=_jsonable) + "\n")
    return path


def _jsonable(value):
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_weights_metadata(path: str | os.PathLike, *, what: str = "model",
                          chapter: str | None = None) -> dict:
    """The JSON metadata of a weights file written by :func:`save_weights`.

    Raises
    ------
    FileNotFoundError
        When the ``.pt`` file or its ``.json`` is missing; the message names the chapter
        whose book-profile run writes them.
    """
    path = Path(path)
    meta_path = path.with_suffix(".json")
    if not path.is_file() or not meta_path.is_file():
        hint = f"run the chapter notebooks/{chapter} or " if chapter else ""
        raise FileNotFoundError(f"no {what} weights at {path} (+ {meta_path.name}); "
                                f"{hint}pass model=...")
    return json.loads(meta_path.read_text())


def load_weights(path: str | os.PathLike, build: Callable[[dict], Any], *,
                 what: str = "model", chapter: str | None = None, cache: bool = True):
    """Rebuild a network from a weights file written by :func:`save_weights`.

    Parameters
    ----------
    path : str or path-like
        The ``.pt`` file (its ``.json`` must lie next to it).
    build : callable
        ``build(metadata) -> torch.nn.Module``: constructs the untrained network from the JSON
        metadata; it may raise ``ValueError`` when the file holds another kind of network.
    what : str
        What the weights are, for error messages ("DLA CNN", "CNN-cleaner", ...).
    chapter : str, optional
        The notebook whose run writes these weights, named in the missing-file error.
    cache : bool
        Keep the loaded network in memory, keyed by path, modification time and ``what``, so
        that repeated calls with ``model=None`` do not read the file again.

    Returns
    -------
    torch.nn.Module
        The network on the CPU, in evaluation mode.

    Raises
    ------
    FileNotFoundError
        When the weights or their JSON are missing.
    ValueError
        When the ``.pt`` file holds no state dict (nor the older ``config`` + ``state_dict``
        layout).
    """
    import torch

    path = Path(path)
    meta = read_weights_metadata(path, what=what, chapter=chapter)
    key = (str(path.resolve()), path.stat().st_mtime_ns, what)
    if cache and key in _CACHE:
        return _CACHE[key]
    state, meta = _state_dict(torch.load(path, map_location="cpu", weights_only=True), meta,
                              path, what)
    module = build(meta)
    module.load_state_dict(state)
    module.eval()
    if cache:
        _CACHE[key] = module
    return module


def _state_dict(payload, meta: dict, path: Path, what: str) -> tuple[Mapping, dict]:
    """The state dict of a loaded ``.pt`` and the metadata ``build`` gets (see the module
    notes for the older ``{"config", "state_dict"}`` layout)."""
    import torch

    if isinstance(payload, Mapping) and {"config", "state_dict"} <= set(payload) \
            and isinstance(payload["state_dict"], Mapping):
        if "model" not in meta:
            meta = {**meta, "model": payload["config"]}
        payload = payload["state_dict"]
    if not isinstance(payload, Mapping) or \
            not all(isinstance(v, torch.Tensor) for v in payload.values()):
        raise ValueError(f"{path} does not hold {what} weights: a state dict written by "
                         f"save_weights (a chapter's save_model)")
    return payload, meta


def clear_weights_cache() -> None:
    """Forget every network :func:`load_weights` keeps in memory."""
    _CACHE.clear()
