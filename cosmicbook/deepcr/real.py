"""Real CCD frames: readers, and agreement with the cosmic rays other packages' tests name.

A real frame has no full truth mask: nobody knows every cosmic-ray pixel of it. What it does
have, where it ships as another package's test data, are the cosmic rays that package's own
test names -- the bounding boxes its method must find. :func:`named_agreement` scores a mask
against those: each named cosmic found or not, the fraction of the named footprint covered
(the footprint of the reference method, so a generous mask is not penalised there), and the
pixels flagged elsewhere, which on a real frame are false positives *or* unnamed cosmics.

:func:`read_spectrum_frame` reads any frame with a science, a variance (or inverse variance)
and optionally a sky extension. :func:`gmos_frame` loads the one astroscrappy ships: a
150 x 200 cutout of a 90 s Gemini-South GMOS-S long-slit exposure of the standard LTT 7379
(S20190808S0048, R400 grating, reduced with DRAGONS, in electrons; read noise 4.24 e-, gain
1.933 e-/ADU as its test states) with the two cosmic rays its ``test_gmos`` names.
:func:`read_raw_ccd` calibrates a raw single-amplifier frame (overscan, trim, gain), and
:func:`saao_frame` applies it to the one ccdproc ships: a raw 150 s exposure of the SAAO 1.0 m
telescope's STE3 CCD (an imager; no cosmic rays are named for it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table
from scipy import ndimage

__all__ = ["GMOS_COSMICS", "RealFrame", "gmos_frame", "named_agreement", "read_raw_ccd",
           "read_spectrum_frame", "saao_frame"]

#: The cosmic rays ``astroscrappy/tests/test_gmos.py`` requires LA Cosmic to find in
#: ``gmos.fits``, as (row slice, column slice) bounding boxes of the file's own orientation.
GMOS_COSMICS: tuple[tuple[slice, slice], ...] = (
    (slice(41, 72), slice(142, 161)),
    (slice(117, 147), slice(35, 43)),
)


@dataclass(eq=False)
class RealFrame:
    """A real frame, oriented as the book's spectrograph frames (wavelength along the rows).

    Attributes
    ----------
    name : str
    image : numpy.ndarray
        float32, e-.
    ivar : numpy.ndarray
        float32 inverse variance, 1/e-^2 (0 where unknown or bad).
    sky : numpy.ndarray or None
        Sky model, e-, when the file has one.
    read_noise, gain : float
        e- and e-/ADU (NaN when unknown).
    named : list of (slice, slice)
        Bounding boxes of the cosmics a reference test names, in this orientation.
    transposed : bool
        Whether the file's axes were swapped (dispersion along its x axis).
    source : str
        Provenance and credit.
    """

    name: str
    image: np.ndarray
    ivar: np.ndarray
    sky: np.ndarray | None = None
    read_noise: float = float("nan")
    gain: float = float("nan")
    named: list = field(default_factory=list)
    transposed: bool = False
    source: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.image.shape)


def _hdu(hdul: fits.HDUList, key, path) -> np.ndarray:
    try:
        data = hdul[key].data
    except KeyError as err:
        names = [h.name for h in hdul]
        raise ValueError(f"{path} has no extension {key!r}; it has {names}") from err
    if data is None or np.ndim(data) != 2:
        raise ValueError(f"extension {key!r} of {path} is not a 2-D image")
    return np.asarray(data, dtype=np.float32)


def read_spectrum_frame(path: str | os.PathLike, sci="SCI", var="VAR", ivar=None, sky=None,
                        dispersion_axis: int = 0, read_noise: float = float("nan"),
                        gain: float = float("nan"), name: str | None = None) -> RealFrame:
    """Read a frame in electrons with its (inverse) variance, wavelength along the rows.

    Parameters
    ----------
    path : path-like
    sci, var, ivar, sky : str or int
        Extensions of the image, its variance (or, with ``ivar``, its inverse variance) and an
        optional sky model. Pixels with a non-positive or non-finite variance get ivar 0.
    dispersion_axis : {0, 1}
        The file's axis along which wavelength runs (numpy order: 0 = rows, as the book's
        frames; 1 = columns, as GMOS long-slit frames -- the arrays are then transposed).
    read_noise, gain : float
    name : str, optional

    Returns
    -------
    RealFrame

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        For missing extensions, mismatched shapes or NaN pixels in the image.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no FITS file at {path}")
    if dispersion_axis not in (0, 1):
        raise ValueError(f"dispersion_axis must be 0 or 1, got {dispersion_axis!r}")
    with fits.open(path) as hdul:
        image = _hdu(hdul, sci, path)
        if ivar is not None:
            inv = _hdu(hdul, ivar, path)
        else:
            v = _hdu(hdul, var, path)
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = np.where(np.isfinite(v) & (v > 0), 1.0 / v, 0.0).astype(np.float32)
        sky_map = None if sky is None else _hdu(hdul, sky, path)
    for label, a in (("variance", inv), ("sky", sky_map)):
        if a is not None and a.shape != image.shape:
            raise ValueError(f"the {label} extension has shape {a.shape}, the image "
                             f"{image.shape}")
    if not np.all(np.isfinite(image)):
        raise ValueError(f"{path}: the image holds NaN or inf pixels; mask them first")
    inv = np.where(np.isfinite(inv), np.maximum(inv, 0.0), 0.0).astype(np.float32)
    swap = dispersion_axis == 1
    if swap:
        image, inv = image.T.copy(), inv.T.copy()
        sky_map = None if sky_map is None else sky_map.T.copy()
    return RealFrame(name=name or path.stem, image=image, ivar=inv, sky=sky_map,
                     read_noise=float(read_noise), gain=float(gain), transposed=swap,
                     source=str(path))


def gmos_frame() -> RealFrame:
    """The GMOS-S cutout shipped in astroscrappy's test data (see the module docstring),
    transposed so that wavelength runs along the rows.

    Raises
    ------
    FileNotFoundError
        When astroscrappy is not installed or its wheel carries no test data.
    """
    try:
        import astroscrappy
    except ImportError as err:
        raise FileNotFoundError("the GMOS test frame ships with astroscrappy: "
                                "pip install astroscrappy") from err
    path = Path(astroscrappy.__file__).parent / "tests" / "data" / "gmos.fits"
    if not path.is_file():
        raise FileNotFoundError(f"astroscrappy {astroscrappy.__version__} has no {path}")
    frame = read_spectrum_frame(path, "SCI", "VAR", sky="SKYFIT", dispersion_axis=1,
                                read_noise=4.24, gain=1.933, name="GMOS-S LTT 7379")
    frame.named = [(cols, rows) for rows, cols in GMOS_COSMICS]
    frame.source = ("astroscrappy tests/data/gmos.fits: Gemini-South GMOS-S S20190808S0048 "
                    "(programme GS-2019B-Q-305), cutout [362:, 480:680], reduced with DRAGONS")
    return frame


def _section(value: str, key: str, path) -> tuple[slice, slice]:
    """A FITS section ``'[x0:x1, y0:y1]'`` (1-based, inclusive) as numpy (rows, columns)."""
    try:
        x, y = str(value).strip().strip("[]").split(",")
        x0, x1 = (int(v) for v in x.split(":"))
        y0, y1 = (int(v) for v in y.split(":"))
    except ValueError as err:
        raise ValueError(f"{path}: {key} = {value!r} is not a FITS section '[x0:x1,y0:y1]'"
                         ) from err
    if x0 < 1 or y0 < 1 or x1 < x0 or y1 < y0:
        raise ValueError(f"{path}: {key} = {value!r} is not a valid section")
    return slice(y0 - 1, y1), slice(x0 - 1, x1)


def read_raw_ccd(path: str | os.PathLike, hdu=0, *, gain: float | None = None,
                 read_noise: float | None = None, name: str | None = None) -> RealFrame:
    """Calibrate a raw single-amplifier CCD frame into electrons.

    The overscan (``BIASSEC``) is subtracted row by row (its median), the frame is trimmed to
    ``TRIMSEC`` and multiplied by the gain; the inverse variance is that of Poisson noise on
    the (positive) signal plus the read noise. There is no flat field and no dark: cosmic-ray
    finders work on exactly this.

    Parameters
    ----------
    path : path-like
    hdu : int or str
        The image extension.
    gain, read_noise : float, optional
        e-/ADU and e-; default the header's ``GAIN`` and ``RDNOISE``.
    name : str, optional

    Returns
    -------
    RealFrame

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        When the header lacks ``BIASSEC``/``TRIMSEC`` or the gain and read noise (and none are
        given), or they are not positive.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no FITS file at {path}")
    with fits.open(path) as hdul:
        raw = _hdu(hdul, hdu, path).astype(np.float64)
        header = hdul[hdu].header
    for key in ("BIASSEC", "TRIMSEC"):
        if key not in header:
            raise ValueError(f"{path}: the header has no {key}; expected a raw frame with "
                             "its overscan and trim sections")
    gain = header.get("GAIN") if gain is None else gain
    read_noise = header.get("RDNOISE") if read_noise is None else read_noise
    for label, value in (("gain", gain), ("read noise", read_noise)):
        if value is None or not np.isfinite(float(value)) or float(value) <= 0:
            raise ValueError(f"{path}: {label} must be a positive number (from the header "
                             f"or the arguments), got {value!r}")
    gain, read_noise = float(gain), float(read_noise)
    bias = np.median(raw[_section(header["BIASSEC"], "BIASSEC", path)], axis=1)
    rows, cols = _section(header["TRIMSEC"], "TRIMSEC", path)
    image = ((raw - bias[:, None])[rows, cols] * gain).astype(np.float32)
    ivar = (1.0 / (np.maximum(image, 0.0) + read_noise ** 2)).astype(np.float32)
    return RealFrame(name=name or path.stem, image=image, ivar=ivar, read_noise=read_noise,
                     gain=gain, source=str(path))


def saao_frame() -> RealFrame:
    """The raw SAAO 1.0 m frame ccdproc ships in its test data, calibrated by
    :func:`read_raw_ccd` (gain 1.9 e-/ADU and read noise 5 e- from its header), without the
    unilluminated rows at the end of its TRIMSEC (512 x 512 remain).

    Only the file is read: ``pip install --no-deps ccdproc`` is enough.

    Raises
    ------
    FileNotFoundError
        When ccdproc is not installed or carries no test data.
    """
    import importlib.util

    spec = importlib.util.find_spec("ccdproc")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the SAAO test frame ships with ccdproc: "
                                "pip install --no-deps ccdproc")
    path = Path(list(spec.submodule_search_locations)[0]) / "tests" / "data" / "a8280271.fits"
    if not path.is_file():
        raise FileNotFoundError(f"the installed ccdproc has no {path}")
    frame = read_raw_ccd(path, name="SAAO 1.0 m rf0420")
    # the last rows of TRIMSEC are not illuminated (they sit at the overscan level): cut them,
    # so that no method is judged on the edge between sky and no light
    lit = np.nonzero(np.median(frame.image, axis=1) > 0.5 * np.median(frame.image))[0]
    rows = slice(int(lit[0]), int(lit[-1]) + 1)
    frame.image, frame.ivar = frame.image[rows].copy(), frame.ivar[rows].copy()
    frame.source = ("ccdproc tests/data/a8280271.fits: SAAO 1.0 m telescope, STE3 CCD, "
                    "2013-07-13, 150 s exposure of rf0420; overscan-subtracted, trimmed to "
                    f"TRIMSEC and to its illuminated rows {rows.start}-{rows.stop - 1}")
    return frame


def named_agreement(mask: np.ndarray, frame: RealFrame,
                    reference: np.ndarray | None = None) -> Table:
    """Score a boolean mask against the cosmic rays named for a real frame.

    Parameters
    ----------
    mask : numpy.ndarray
        ``frame.shape`` bool.
    frame : RealFrame
        With ``named`` bounding boxes.
    reference : numpy.ndarray, optional
        The reference method's mask (e.g. LA Cosmic's as the naming test ran it): the named
        footprint is its pixels inside each box; without it, the whole box.

    Returns
    -------
    astropy.table.Table
        One row per named cosmic: ``found`` (a flagged pixel in the box), ``covered``
        (fraction of the named footprint flagged), ``n_flagged`` (in the box); ``meta``
        holds ``n_elsewhere`` (flagged pixels outside every box) and ``n_components_elsewhere``
        (their connected groups).
    """
    mask = np.asarray(mask)
    if mask.shape != frame.shape or mask.dtype != bool:
        raise ValueError(f"mask must be a bool array of shape {frame.shape}, got "
                         f"{mask.dtype} {mask.shape}")
    if not frame.named:
        raise ValueError(f"frame {frame.name!r} names no cosmic rays")
    inside = np.zeros(frame.shape, bool)
    rows = []
    for i, box in enumerate(frame.named):
        inside[box] = True
        foot = np.ones(mask[box].shape, bool) if reference is None else reference[box]
        n_foot = int(foot.sum())
        rows.append({"cosmic": i + 1, "found": bool(mask[box].any()),
                     "covered": float((mask[box] & foot).sum() / n_foot) if n_foot else
                     float("nan"), "n_flagged": int(mask[box].sum())})
    table = Table(rows=rows, names=["cosmic", "found", "covered", "n_flagged"])
    elsewhere = mask & ~inside
    table.meta["n_elsewhere"] = int(elsewhere.sum())
    table.meta["n_components_elsewhere"] = int(ndimage.label(elsewhere,
                                                             np.ones((3, 3)))[1])
    return table
