"""Peer tools, called through their own packages: Cosmic-CoNN, the deepCR package, desispec.

None of them is a dependency of cosmicbook; ``pip install cosmicbook[peers]`` installs them
(the deepCR and desispec wheels need ``--no-deps`` installs, see the README). Each is used as
its authors ship it, with the trained models inside its wheel:

* Cosmic-CoNN (Xu et al. 2023): ``init_model(name)`` + ``detect_image`` for its
  ``ground_imaging`` (LCO imagers), ``NRES`` (LCO's echelle spectrograph) and ``HST_ACS_WFC``
  models; per-pixel probabilities.
* deepCR (Zhang & Bloom 2020): ``deepCR(mask=...).clean(image, binary=False, inpaint=False)``
  for its ``ACS-WFC`` and ``decam`` mask models; run here under ``torch.inference_mode`` (the
  package leaves autograd on).
* desispec (Guy et al. 2023): ``desispec.cosmics.reject_cosmic_rays_ala_sdss``, DESI's own
  implementation of the SDSS method, used to check
  :func:`cosmicbook.deepcr.baselines.sdss_cosmics` (:func:`desispec_agreement`).

Every frame is passed in electrons, bias-subtracted, as the book's frames are.
:func:`peer_methods` returns the installed ones as transfer-map methods, and names the
others with the reason they were skipped.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import warnings
from types import SimpleNamespace

import numpy as np
import torch

from cosmicbook.deepcr.transfer import MaskMethod

__all__ = ["DESISPEC_PSF_GRADIENTS", "PEERS", "desispec_agreement", "desispec_sdss_mask",
           "peer_methods", "peer_probability"]

#: Peer models: display name -> (package, model name).
PEERS: dict[str, tuple[str, str]] = {
    "Cosmic-CoNN ground_imaging": ("cosmic_conn", "ground_imaging"),
    "Cosmic-CoNN NRES": ("cosmic_conn", "NRES"),
    "Cosmic-CoNN HST_ACS_WFC": ("cosmic_conn", "HST_ACS_WFC"),
    "deepCR ACS-WFC": ("deepCR", "ACS-WFC"),
    "deepCR decam": ("deepCR", "decam"),
}

#: The PSF gradients desispec 0.70 hard-codes per camera band (row, column, diagonal,
#: anti-diagonal; from DESI's 2019 PSF models; the r band of an ITL chip differs).
DESISPEC_PSF_GRADIENTS: dict[str, np.ndarray] = {
    "b": np.array([0.758221, 0.771945, 0.570183, 0.592199]),
    "r": np.array([0.819245, 0.847529, 0.617514, 0.656629]),
    "z": np.array([0.829552, 0.862828, 0.633424, 0.664144]),
}


@contextlib.contextmanager
def _quiet():
    """Silence the peers' prints, log lines and deprecation warnings."""
    root = logging.getLogger()
    level = root.level
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            root.setLevel(level)


@functools.lru_cache(maxsize=8)
def _load(package: str, model: str):
    with _quiet():
        if package == "cosmic_conn":
            from cosmic_conn import init_model

            return init_model(model)
        if package == "deepCR":
            from deepCR import deepCR

            return deepCR(mask=model, device="CPU")
    raise ValueError(f"unknown peer package {package!r}")


def _check_image(image) -> np.ndarray:
    a = np.asarray(image, dtype=np.float32)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"image must be a non-empty 2-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("image contains NaN or inf")
    return a


def peer_probability(name: str, image: np.ndarray) -> np.ndarray:
    """Per-pixel cosmic-ray probability of a peer model (see :data:`PEERS`).

    Parameters
    ----------
    name : str
        A key of :data:`PEERS`.
    image : numpy.ndarray
        ``(ny, nx)`` frame in electrons.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` float32 in [0, 1].

    Raises
    ------
    ImportError
        When the peer's package is not installed (``pip install cosmicbook[peers]``).
    """
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; expected one of {sorted(PEERS)}")
    image = _check_image(image)
    package, model = PEERS[name]
    net = _load(package, model)
    with _quiet(), torch.inference_mode():
        if package == "cosmic_conn":
            from cosmic_conn import detect_image

            prob = detect_image(net, image)
        else:
            prob = net.clean(image, binary=False, inpaint=False)
    return np.asarray(prob, dtype=np.float32)


def _missing(package: str) -> str | None:
    try:
        with _quiet():
            __import__(package)
    except Exception as err:  # ImportError, or a broken install of a peer
        return f"{type(err).__name__}: {err}"
    return None


def peer_methods(names=None) -> tuple[dict[str, MaskMethod], dict[str, str]]:
    """The installed peers as transfer-map methods, and the skipped ones with the reason.

    Parameters
    ----------
    names : sequence of str, optional
        Keys of :data:`PEERS` (default all).

    Returns
    -------
    methods : dict of str -> MaskMethod
    skipped : dict of str -> str
        Peer name -> why it is not available (``pip install cosmicbook[peers]``).
    """
    names = list(PEERS) if names is None else list(names)
    methods, skipped = {}, {}
    for name in names:
        if name not in PEERS:
            raise ValueError(f"unknown peer {name!r}; expected one of {sorted(PEERS)}")
        reason = _missing(PEERS[name][0])
        if reason:
            skipped[name] = reason
            continue
        methods[name] = MaskMethod(functools.partial(_run_peer, name))
    return methods, skipped


def _run_peer(name: str, frame) -> np.ndarray:
    return peer_probability(name, frame.image)


# ---------------------------------------------------------------------- desispec
def desispec_sdss_mask(image: np.ndarray, ivar: np.ndarray, camera: str = "r0",
                       mask: np.ndarray | None = None, meta: dict | None = None,
                       **params) -> np.ndarray:
    """DESI's own ``reject_cosmic_rays_ala_sdss`` on a frame (``pip install --no-deps
    desispec`` then ``desiutil numba``).

    Parameters
    ----------
    image, ivar : numpy.ndarray
        ``(ny, nx)`` frame (e-) and inverse variance.
    camera : str
        DESI camera name (``"b0"``, ``"r3"``...): its band picks the PSF gradients
        (:data:`DESISPEC_PSF_GRADIENTS`).
    mask : numpy.ndarray, optional
        DESI pixel mask (0 = good).
    meta : dict, optional
        Header keywords (``CCDTYPE`` with ``ITL`` picks that chip's red gradients).
    **params
        ``nsig``, ``cfudge``, ``c2fudge``, ``niter``, ``dilate`` of desispec.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` bool.
    """
    os.environ.setdefault("DESI_LOGLEVEL", "WARNING")
    with _quiet():
        from desispec.cosmics import reject_cosmic_rays_ala_sdss
    image = _check_image(image)
    ivar = np.asarray(ivar, dtype=np.float32)
    if ivar.shape != image.shape:
        raise ValueError(f"ivar has shape {ivar.shape}, the image {image.shape}")
    mask = np.zeros(image.shape, np.uint32) if mask is None else np.asarray(mask, np.uint32)
    img = SimpleNamespace(pix=image.copy(), ivar=ivar.copy(), mask=mask, camera=camera,
                          meta=dict(meta or {}))
    with _quiet():
        return np.asarray(reject_cosmic_rays_ala_sdss(img, **params), dtype=bool)


def desispec_agreement(image: np.ndarray, ivar: np.ndarray, camera: str = "r0",
                       **params) -> dict:
    """Our SDSS method (:func:`cosmicbook.deepcr.baselines.sdss_cosmics`) against desispec's.

    Both run on the same frame with the same parameters and desispec's PSF gradients for
    ``camera``. desispec 0.70 ends with a step the SDSS original lacks: after the 3 x 3
    dilation it closes gaps in the mask with 11 x 11 structuring elements
    (``desispec.joincosmics.RepairMask``). The comparison is therefore made twice: without
    the dilation (the SDSS tests and growth passes alone), and with it, where desispec's mask
    is compared with desispec's repair applied to ours -- so every difference is either ours
    or explained by that step.

    Returns
    -------
    dict
        ``agreement_core`` (fraction of the pixels flagged by either that both flag, no
        dilation), ``agreement_dilated`` (the same with dilation, against our mask repaired
        as desispec repairs), ``n_ours``, ``n_desispec``, ``n_repair`` (pixels desispec's
        repair adds to the dilated SDSS mask), ``only_ours``, ``only_desispec`` (dilated,
        after the repair).
    """
    from cosmicbook.deepcr.baselines import sdss_cosmics

    band = camera[:1].lower()
    if band not in DESISPEC_PSF_GRADIENTS:
        raise ValueError(f"camera must start with b, r or z, got {camera!r}")
    gradients = DESISPEC_PSF_GRADIENTS[band]
    kw = {k: params[k] for k in ("nsig", "cfudge", "c2fudge", "niter") if k in params}
    ours_core = sdss_cosmics(image, ivar, gradients, dilate=False, **kw)
    desi_core = desispec_sdss_mask(image, ivar, camera, dilate=False, **kw)
    ours = sdss_cosmics(image, ivar, gradients, dilate=True, **kw)
    desi = desispec_sdss_mask(image, ivar, camera, dilate=True, **kw)
    with _quiet():
        from desispec.joincosmics import RepairMask

        repaired = np.asarray(RepairMask(11, 11).repair(ours.copy()), dtype=bool)

    def jaccard(a, b):
        union = (a | b).sum()
        return float((a & b).sum() / union) if union else 1.0

    return {"agreement_core": jaccard(ours_core, desi_core),
            "agreement_dilated": jaccard(repaired, desi),
            "n_ours": int(ours.sum()), "n_desispec": int(desi.sum()),
            "n_repair": int((repaired & ~ours).sum()),
            "only_ours": int((repaired & ~desi).sum()),
            "only_desispec": int((desi & ~repaired).sum())}
