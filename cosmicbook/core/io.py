"""Input/output shared by the chapters: FITS images and the registry of optional downloads.

Real data never arrives at run time in this book (the chapters simulate theirs), but the
readers here are the ones a pipeline would use on real files, and they fail loudly:
a missing file raises :class:`FileNotFoundError`, a file without the expected image data a
:class:`ValueError` that lists what the file does contain.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

__all__ = [
    "open_fits",
    "read_image",
    "write_image",
    "data_registry",
    "cache_dir",
    "fetch",
]

#: The registry of optional downloads shipped with the package.
REGISTRY_PATH = Path(__file__).resolve().with_name("registry.json")


def _describe_hdus(hdul) -> str:
    parts = []
    for i, h in enumerate(hdul):
        shape = getattr(h, "shape", None) if getattr(h, "data", None) is not None else None
        parts.append(f"[{i}] {h.name or '(no name)'} {type(h).__name__} shape={shape}")
    return "; ".join(parts)


def open_fits(path: str | os.PathLike, what: str = "FITS file"):
    """Open a FITS file for reading (not memory-mapped), with the errors of this module.

    Parameters
    ----------
    path : str or path-like
        The file.
    what : str
        What the file should be, for the error messages ("cosmic-ray library file").

    Returns
    -------
    astropy.io.fits.HDUList
        Use it as a context manager.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If it is not a readable FITS file.
    """
    from astropy.io import fits

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such {what}: {path}")
    try:
        return fits.open(path, memmap=False)
    except OSError as err:
        raise ValueError(f"{path} is not a readable FITS file: {err}") from err


def read_image(path: str | os.PathLike, hdu: int | str | None = None,
               dtype: np.dtype | type = np.float32) -> tuple[np.ndarray, dict]:
    """Read a 2-D image from a FITS file.

    Parameters
    ----------
    path : str or path-like
        The FITS file (``.fits``, ``.fits.gz``, ``.fits.fz`` all work).
    hdu : int, str or None
        The HDU index or EXTNAME to read. ``None`` takes the first HDU that holds 2-D image data
        (the primary HDU of a simple file, or the first extension of a multi-extension or
        tile-compressed file).
    dtype : numpy dtype
        The dtype of the returned array (the image is converted, with BSCALE/BZERO applied).

    Returns
    -------
    image : numpy.ndarray
        The 2-D image, in the file's units (ADU for raw darks, electrons for preprocessed frames).
    header : dict
        The HDU's header keywords (``astropy.io.fits.Header`` converted to a plain dict).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not FITS, the HDU does not exist, or it (or, for ``hdu=None``, every HDU)
        holds no 2-D image.
    """
    path = Path(path)
    with open_fits(path) as hdul:
        if hdu is None:
            for candidate in hdul:
                if getattr(candidate, "is_image", False) and candidate.data is not None \
                        and candidate.data.ndim == 2:
                    chosen = candidate
                    break
            else:
                raise ValueError(
                    f"{path} holds no 2-D image in any HDU; it has: {_describe_hdus(hdul)}"
                )
        else:
            try:
                chosen = hdul[hdu]
            except (KeyError, IndexError):
                raise ValueError(
                    f"{path} has no HDU {hdu!r}; it has: {_describe_hdus(hdul)}"
                ) from None
            if not getattr(chosen, "is_image", False) or chosen.data is None \
                    or chosen.data.ndim != 2:
                raise ValueError(
                    f"HDU {hdu!r} of {path} holds no 2-D image; it has: {_describe_hdus(hdul)}"
                )
        image = np.asarray(chosen.data, dtype=dtype)
        header = {k: v for k, v in chosen.header.items() if k not in ("", "COMMENT", "HISTORY")}
    return image, header


def write_image(path: str | os.PathLike, image: np.ndarray, header: dict | None = None,
                extname: str | None = None, overwrite: bool = False) -> Path:
    """Write a 2-D image to a FITS file (the inverse of :func:`read_image`).

    Parameters
    ----------
    path : str or path-like
        Destination file.
    image : numpy.ndarray
        A 2-D array.
    header : dict, optional
        Keywords to store (values must be FITS-compatible scalars).
    extname : str, optional
        Store the image in an extension of this name (with an empty primary HDU) instead of
        in the primary HDU.
    overwrite : bool
        Replace an existing file.
    """
    from astropy.io import fits

    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D image, got an array of shape {image.shape}")
    hdr = fits.Header()
    for key, value in (header or {}).items():
        hdr[key] = value
    if extname is None:
        hdul = fits.HDUList([fits.PrimaryHDU(image, header=hdr)])
    else:
        hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(image, header=hdr, name=extname)])
    path = Path(path)
    hdul.writeto(path, overwrite=overwrite)
    return path


def data_registry(path: str | os.PathLike | None = None) -> dict[str, dict]:
    """The registry of optional data files: name -> ``{url, sha256, size, description, ...}``.

    Parameters
    ----------
    path : path-like, optional
        A registry JSON file; defaults to the registry shipped with the package
        (``cosmicbook/core/registry.json``).
    """
    path = Path(path) if path is not None else REGISTRY_PATH
    if not path.exists():
        raise FileNotFoundError(f"no data registry at {path}")
    with open(path, encoding="utf-8") as fh:
        registry = json.load(fh)
    return registry.get("files", registry)


def cache_dir() -> Path:
    """Where downloads are kept: ``$COSMICBOOK_DATA`` or ``~/.cache/cosmicbook``."""
    root = os.environ.get("COSMICBOOK_DATA")
    return Path(root) if root else Path.home() / ".cache" / "cosmicbook"


def _file_downloader(url: str, output_file, pooch_instance) -> None:
    """A pooch downloader for ``file://`` URLs (local mirrors and tests)."""
    from urllib.parse import unquote, urlparse

    source = Path(unquote(urlparse(url).path))
    if not source.is_file():
        raise FileNotFoundError(f"no file at {source}")
    if isinstance(output_file, (str, os.PathLike)):
        shutil.copyfile(source, output_file)
    else:
        with open(source, "rb") as src:
            shutil.copyfileobj(src, output_file)


def fetch(name: str, registry: dict[str, dict] | None = None,
          directory: str | os.PathLike | None = None, timeout: float = 60.0) -> Path:
    """Return the local path of registry entry ``name``, downloading and verifying it if needed.

    Downloads go through pooch (https, ftp, sftp, DOIs; ``file://`` for local mirrors), are
    checked against the entry's ``sha256`` and kept under :func:`cache_dir`. A cached file
    whose checksum does not match is downloaded again; an interrupted download leaves no
    partial file behind.

    Raises
    ------
    ValueError
        For a name that is not in the registry or a download whose checksum does not match.
    OSError
        If the download fails (for example with no network); the message names the URL so the
        file can be fetched by hand and placed in the cache directory.
    """
    import pooch

    registry = data_registry() if registry is None else registry
    if name not in registry:
        raise ValueError(f"unknown data file {name!r}; the registry has {sorted(registry)}")
    entry = registry[name]
    directory = Path(directory) if directory is not None else cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    filename = entry.get("filename", name)
    target = directory / filename
    expected = entry.get("sha256")
    url = entry["url"]
    downloader = (_file_downloader if url.startswith("file:") else
                  pooch.HTTPDownloader(timeout=timeout, progressbar=False)
                  if url.startswith(("http:", "https:")) else None)
    try:
        path = pooch.retrieve(url, known_hash=f"sha256:{expected}" if expected else None,
                              fname=filename, path=directory, downloader=downloader,
                              progressbar=False)
    except ValueError as err:
        if "hash" in str(err).lower():
            raise ValueError(f"checksum mismatch for {name!r} downloaded from {url}: "
                             f"{err}") from err
        raise
    except Exception as err:  # requests' and pooch's download errors, OSError
        raise OSError(f"could not download {name!r} from {url} ({err}); fetch it by hand "
                      f"and save it as {target}") from err
    return Path(path)
