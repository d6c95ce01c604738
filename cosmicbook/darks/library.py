"""A library of real-shaped cosmic rays cut out of darks, and their injection into images.

Each entry is a stamp -- the background-subtracted dark pixels of one footprint found by
:func:`~cosmicbook.darks.extract.extract_cosmics`, on its bounding box plus a margin, zero
outside the footprint -- with its footprint mask and a row of properties. The library keeps
where its cosmics came from (one row per source frame: exposure time, gain, frame shape,
extraction parameters), so it knows its own rate of cosmics per second per 4k frame.

On disk (:meth:`CosmicLibrary.write`) the variable-size stamps are concatenated into one flat
pixel array and one flat mask array (two image HDUs, ``PIXELS`` and ``MASKS``), with a table
``STAMPS`` giving each stamp's offset and shape plus its properties, and a table ``SOURCES``;
free-form metadata goes into the primary header. The round trip is exact.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table, vstack

from cosmicbook.core.io import open_fits
from cosmicbook.darks.extract import _as_image, _check_map, estimate_background
from cosmicbook.darks.simulate import FULL_FRAME

__all__ = ["CosmicLibrary", "InjectedCosmics"]

_HDUS = ("PIXELS", "MASKS", "STAMPS", "SOURCES")
_SOURCE_COLUMNS = ("exptime", "gain", "ny", "nx", "threshold", "seed", "grow_sigma", "margin")
_LAYOUT_COLUMNS = ("offset", "ny", "nx")


def _native(table: Table) -> Table:
    """Convert big-endian FITS columns to native byte order in place (units kept)."""
    for name in table.colnames:
        col = table[name]
        if col.dtype.kind in "iufb" and not col.dtype.isnative:
            table.replace_column(name, col.astype(col.dtype.newbyteorder("=")))
    return table


def _empty_sources() -> Table:
    cols = {c: np.zeros(0, dtype=np.int32 if c in ("ny", "nx", "margin") else np.float64)
            for c in _SOURCE_COLUMNS}
    return Table(cols)


@dataclass(eq=False, repr=False)
class InjectedCosmics:
    """Cosmics painted into an image and their truth.

    Attributes
    ----------
    image : numpy.ndarray
        ``(ny, nx)`` the image with the cosmics added.
    mask : numpy.ndarray
        ``(ny, nx)`` bool union of the injected footprints.
    labels : numpy.ndarray
        ``(ny, nx)`` int32: id (1..n) of the cosmic painted last in each footprint pixel, 0
        elsewhere.
    signal : numpy.ndarray
        ``(ny, nx)`` float32 injected charge (image units).
    table : astropy.table.Table
        One row per injected cosmic: ``id``, ``index`` (library entry), ``x``, ``y`` (peak
        pixel), ``peak`` and ``total`` (charge inside the frame, image units), ``npix``
        (footprint pixels inside the frame), ``nlabel`` (pixels still carrying its id after
        later cosmics were painted over it).
    """

    image: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    signal: np.ndarray
    table: Table



class CosmicLibrary:
    """Cosmic-ray stamps with their footprint masks, properties and provenance.

    Parameters
    ----------
    stamps : sequence of numpy.ndarray
        2-D float32 stamps (ADU of the source darks, background-subtracted, 0 outside the
        footprint).
    masks : sequence of numpy.ndarray
        2-D bool footprint masks, one per stamp and of the same shape.
    table : astropy.table.Table, optional
        One row per stamp (properties). A ``source`` column (row of ``sources``) is added
        when missing (0).
    sources : astropy.table.Table, optional
        One row per source frame with columns ``exptime`` (s), ``gain`` (e-/ADU), ``ny``,
        ``nx``, ``threshold``, ``seed``, ``grow_sigma``, ``margin`` (NaN / 0 where unknown).
    meta : dict, optional
        Free-form metadata (FITS-compatible scalar values), stored in the primary header.

    Examples
    --------
    >>> from cosmicbook.darks import extract_cosmics, simulate_dark
    >>> dark = simulate_dark(shape=(512, 512), exptime=300.0, seed=1)
    >>> labels, table = extract_cosmics(dark, mask=dark.hot_mask)
    >>> library = CosmicLibrary.from_extraction(dark, labels, table)
    >>> stamp, mask = library[0]
    >>> stamp.shape == mask.shape
    True
    """

    def __init__(self, stamps: Sequence[np.ndarray], masks: Sequence[np.ndarray],
                 table: Table | None = None, sources: Table | None = None,
                 meta: dict | None = None):
        stamps = [np.asarray(s, dtype=np.float32) for s in stamps]
        masks = [np.asarray(m, dtype=bool) for m in masks]
        if len(stamps) != len(masks):
            raise ValueError(f"got {len(stamps)} stamps but {len(masks)} masks")
        for i, (s, m) in enumerate(zip(stamps, masks, strict=True)):
            if s.ndim != 2 or s.shape != m.shape or s.size == 0:
                raise ValueError(f"stamp {i} must be a non-empty 2-D array with a mask of the "
                                 f"same shape, got {s.shape} and {m.shape}")
        table = Table() if table is None else Table(table, copy=True)
        if len(table.colnames) and len(table) != len(stamps):
            raise ValueError(f"table has {len(table)} rows for {len(stamps)} stamps")
        if "source" not in table.colnames:
            table["source"] = np.zeros(len(stamps), dtype=np.int32)
        sources = _empty_sources() if sources is None else Table(sources, copy=True)
        missing = [c for c in _SOURCE_COLUMNS if c not in sources.colnames]
        if missing:
            raise ValueError(f"sources lacks columns {missing}; expected {_SOURCE_COLUMNS}")
        if len(stamps) and (np.min(table["source"]) < 0
                            or np.max(table["source"]) >= max(len(sources), 1)):
            raise ValueError("table column 'source' must index rows of sources")
        self._stamps = stamps
        self._masks = masks
        self._table = table
        self._sources = sources
        self.meta: dict = dict(meta or {})

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._stamps)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(stamp, mask)`` of entry ``index`` (the stored arrays; copy before editing)."""
        if not isinstance(index, int | np.integer):
            raise TypeError(f"index must be an integer, got {type(index).__name__}; use "
                            f"subset() to select several entries")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a library of {len(self)}")
        return self._stamps[index], self._masks[index]

    def __iter__(self):
        return zip(self._stamps, self._masks, strict=True)

    def __repr__(self) -> str:
        return (f"CosmicLibrary({len(self)} cosmics from {len(self._sources)} frame(s), "
                f"{sum(self.sources['exptime']):g} s of exposure)")

    @property
    def table(self) -> Table:
        """Properties, one row per stamp (extraction columns, ``source``, ``x0``, ``y0``)."""
        return self._table

    @property
    def sources(self) -> Table:
        """Provenance, one row per source frame."""
        return self._sources

    @property
    def stamps(self) -> list[np.ndarray]:
        """The stamps (float32, ADU)."""
        return self._stamps

    @property
    def masks(self) -> list[np.ndarray]:
        """The footprint masks (bool)."""
        return self._masks

    @property
    def gain(self) -> float | None:
        """The common gain of the source frames (e-/ADU), or None if unknown or mixed."""
        g = np.unique(np.asarray(self._sources["gain"], dtype=float))
        return float(g[0]) if g.size == 1 and np.isfinite(g[0]) else None

    @property
    def exptimes(self) -> np.ndarray:
        """Exposure times of the source frames, s."""
        return np.asarray(self._sources["exptime"], dtype=float)

    @property
    def rate(self) -> float:
        """Cosmics in the library per second per 4096 x 4096 frame (NaN if unknown)."""
        s = self._sources
        area = np.asarray(s["ny"], float) * np.asarray(s["nx"], float) / np.prod(FULL_FRAME)
        exposure = np.nansum(np.asarray(s["exptime"], float) * area)
        return len(self) / exposure if exposure > 0 else float("nan")

    def plot(self, n: int = 12, ncols: int = 6, seed: int | None = 0, **kwargs):
        """Show ``n`` cosmics of the library (randomly chosen with ``seed``) with footprints.

        Returns the matplotlib Figure of :func:`cosmicbook.core.plotting.stamp_grid`.
        """
        from cosmicbook.core.plotting import stamp_grid

        if len(self) == 0:
            raise ValueError("the library is empty: nothing to plot")
        n = min(int(n), len(self))
        chosen = np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))
        titles = [f"#{i}: {int(self._masks[i].sum())} px" for i in chosen]
        return stamp_grid([self._stamps[i] for i in chosen], [self._masks[i] for i in chosen],
                          ncols=ncols, titles=titles, **kwargs)

    def subset(self, index) -> CosmicLibrary:
        """A new library with the entries ``index`` (int array, bool mask or slice)."""
        rows = np.arange(len(self))[index]
        rows = np.atleast_1d(rows)
        return CosmicLibrary([self._stamps[i] for i in rows], [self._masks[i] for i in rows],
                             self._table[rows], self._sources, self.meta)

    # ------------------------------------------------------------------ building
    @classmethod
    def from_extraction(cls, dark, labels: np.ndarray, table: Table, background=None,
                        margin: int = 2, *, mask=None, exptime: float | None = None,
                        gain: float | None = None) -> CosmicLibrary:
        """Cut the footprints of an extraction out of the dark.

        Parameters
        ----------
        dark : numpy.ndarray or SimulatedDark
            ``(ny, nx)`` dark, ADU. A :class:`~cosmicbook.darks.simulate.SimulatedDark` also
            provides ``exptime`` and ``gain``.
        labels, table
            The output of :func:`~cosmicbook.darks.extract.extract_cosmics` on ``dark``.
        background : float or numpy.ndarray, optional
            Background to subtract (scalar or map); ``None`` estimates it as the extraction
            does (:func:`~cosmicbook.darks.extract.estimate_background`).
        margin : int
            Zero pixels added around each footprint's bounding box (default 2; fewer at the
            frame edges).
        mask : numpy.ndarray, optional
            ``(ny, nx)`` bool, known bad pixels, ignored by the background estimate (pass the
            mask given to the extraction).
        exptime : float, optional
            Exposure time of the dark, s (default: ``dark.exptime`` or the ``EXPTIME`` in
            ``table.meta``, else NaN).
        gain : float, optional
            e-/ADU (default: ``dark.gain``, else NaN).

        Returns
        -------
        CosmicLibrary
        """
        image = _as_image(dark)
        labels = np.asarray(labels)
        if labels.shape != image.shape:
            raise ValueError(f"labels must have the dark's shape {image.shape}, "
                             f"got {labels.shape}")
        needed = ("label", "x_min", "x_max", "y_min", "y_max")
        missing = [c for c in needed if c not in table.colnames]
        if missing:
            raise ValueError(f"table lacks columns {missing}; pass the table returned by "
                             f"extract_cosmics")
        if int(margin) != margin or margin < 0:
            raise ValueError(f"margin must be a non-negative integer, got {margin!r}")
        margin = int(margin)
        if background is None:
            background, _ = estimate_background(image, mask=mask)
        else:
            background = _check_map(background, "background", image.shape, positive=False)
        ny, nx = image.shape
        stamps, masks, x0s, y0s = [], [], [], []
        for row in table:
            y0 = max(int(row["y_min"]) - margin, 0)
            y1 = min(int(row["y_max"]) + margin + 1, ny)
            x0 = max(int(row["x_min"]) - margin, 0)
            x1 = min(int(row["x_max"]) + margin + 1, nx)
            sl = (slice(y0, y1), slice(x0, x1))
            fp = labels[sl] == row["label"]
            bkg = background if np.ndim(background) == 0 else background[sl]
            stamps.append(np.where(fp, image[sl] - bkg, 0.0).astype(np.float32))
            masks.append(fp)
            x0s.append(x0)
            y0s.append(y0)
        out = Table(table, copy=True)
        out.meta.clear()
        out["source"] = np.zeros(len(out), dtype=np.int32)
        out["x0"] = np.asarray(x0s, dtype=np.int32)
        out["y0"] = np.asarray(y0s, dtype=np.int32)
        if exptime is None:
            exptime = getattr(dark, "exptime", table.meta.get("EXPTIME", np.nan))
        if gain is None:
            gain = getattr(dark, "gain", np.nan)
        sources = Table({
            "exptime": [float(exptime)], "gain": [float(gain)],
            "ny": np.array([ny], np.int32), "nx": np.array([nx], np.int32),
            "threshold": [float(table.meta.get("THRESH", np.nan))],
            "seed": [float(table.meta.get("SEED", np.nan))],
            "grow_sigma": [float(table.meta.get("GROWSIG", np.nan))],
            "margin": np.array([margin], np.int32),
        })
        return cls(stamps, masks, out, sources, {"BUNIT": "adu"})

    @classmethod
    def concatenate(cls, libraries: Iterable[CosmicLibrary]) -> CosmicLibrary:
        """Join libraries (e.g. one per dark) into one; metadata of the first wins."""
        libraries = list(libraries)
        if not libraries:
            raise ValueError("need at least one library to concatenate")
        bad = [type(lib).__name__ for lib in libraries if not isinstance(lib, CosmicLibrary)]
        if bad:
            raise ValueError(f"can only concatenate CosmicLibrary objects, got {bad}")
        tables, offset = [], 0
        for lib in libraries:
            t = Table(lib.table, copy=True)
            t["source"] = np.asarray(t["source"], dtype=np.int32) + offset
            tables.append(t)
            offset += len(lib.sources)
        nonempty = [t for t in tables if len(t)] or tables[:1]
        table = vstack(nonempty, metadata_conflicts="silent")
        sources = vstack([lib.sources for lib in libraries], metadata_conflicts="silent")
        meta: dict = {}
        for lib in reversed(libraries):
            meta.update(lib.meta)
        return cls([s for lib in libraries for s in lib.stamps],
                   [m for lib in libraries for m in lib.masks], table, sources, meta)

    # ------------------------------------------------------------------ FITS I/O
    def write(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write the library to a FITS file (HDUs ``PIXELS``, ``MASKS``, ``STAMPS``,
        ``SOURCES``; ``meta`` in the primary header).

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from astropy.io import fits

        shapes = np.array([s.shape for s in self._stamps], dtype=np.int64).reshape(-1, 2)
        sizes = shapes[:, 0] * shapes[:, 1]
        offsets = (np.cumsum(sizes) - sizes).astype(np.int64)
        pixels = (np.concatenate([s.ravel() for s in self._stamps]) if len(self)
                  else np.zeros(0, np.float32))
        maskpix = (np.concatenate([m.ravel() for m in self._masks]).astype(np.uint8)
                   if len(self) else np.zeros(0, np.uint8))
        clash = [c for c in _LAYOUT_COLUMNS if c in self._table.colnames]
        if clash:
            raise ValueError(f"table columns {clash} clash with the stamp layout columns")
        layout = Table({"offset": offsets, "ny": shapes[:, 0].astype(np.int32),
                        "nx": shapes[:, 1].astype(np.int32)})
        stamps_table = Table(layout, copy=False)
        for name in self._table.colnames:
            stamps_table[name] = self._table[name]
        primary = fits.PrimaryHDU()
        for key, value in self.meta.items():
            primary.header[key] = value
        primary.header["NSTAMPS"] = (len(self), "number of cosmic-ray stamps")
        primary.header["NSOURCES"] = (len(self._sources), "number of source frames")
        hdul = fits.HDUList([
            primary,
            fits.ImageHDU(pixels, name="PIXELS"),
            fits.ImageHDU(maskpix, name="MASKS"),
            fits.table_to_hdu(stamps_table),
            fits.table_to_hdu(self._sources),
        ])
        hdul[3].name = "STAMPS"
        hdul[4].name = "SOURCES"
        path = Path(path)
        hdul.writeto(path, overwrite=overwrite)
        return path

    @classmethod
    def read(cls, path: str | os.PathLike) -> CosmicLibrary:
        """Read a library written by :meth:`write`.

        Raises
        ------
        FileNotFoundError
            If ``path`` does not exist.
        ValueError
            If the file is not FITS or lacks the HDUs ``PIXELS``, ``MASKS``, ``STAMPS``,
            ``SOURCES``, or they are inconsistent.
        """
        path = Path(path)
        with open_fits(path, "cosmic-ray library file") as hdul:
            names = [h.name for h in hdul]
            missing = [n for n in _HDUS if n not in names]
            if missing:
                raise ValueError(f"{path} is not a cosmic-ray library: it lacks HDU(s) "
                                 f"{missing}; expected {list(_HDUS)}, found {names}")
            pixels = hdul["PIXELS"].data
            maskpix = hdul["MASKS"].data
            pixels = np.zeros(0, np.float32) if pixels is None else np.asarray(pixels)
            maskpix = np.zeros(0, np.uint8) if maskpix is None else np.asarray(maskpix)
            stamps_table = _native(Table.read(hdul["STAMPS"], format="fits"))
            sources = _native(Table.read(hdul["SOURCES"], format="fits"))
            header = hdul[0].header
            skip = {"SIMPLE", "BITPIX", "NAXIS", "EXTEND", "NSTAMPS", "NSOURCES", "COMMENT",
                    "HISTORY", ""}
            meta = {k: v for k, v in header.items() if k not in skip}
        if pixels.shape != maskpix.shape:
            raise ValueError(f"{path}: PIXELS and MASKS differ in size ({pixels.size} vs "
                             f"{maskpix.size})")
        missing = [c for c in _LAYOUT_COLUMNS if c not in stamps_table.colnames]
        if missing:
            raise ValueError(f"{path}: STAMPS lacks the layout columns {missing}")
        offsets = np.asarray(stamps_table["offset"], dtype=np.int64)
        shapes = np.stack([np.asarray(stamps_table["ny"], np.int64),
                           np.asarray(stamps_table["nx"], np.int64)], axis=1)
        if len(offsets) and (offsets + shapes.prod(axis=1)).max() > pixels.size:
            raise ValueError(f"{path}: STAMPS offsets run past the end of PIXELS")
        stamps, masks = [], []
        for off, (h, w) in zip(offsets, shapes, strict=True):
            stamps.append(pixels[off:off + h * w].astype(np.float32).reshape(h, w))
            masks.append(maskpix[off:off + h * w].astype(bool).reshape(h, w))
        stamps_table.remove_columns(list(_LAYOUT_COLUMNS))
        stamps_table.meta.clear()
        sources.meta.clear()
        return cls(stamps, masks, stamps_table, sources, meta)

    # ------------------------------------------------------------------ injection
    def inject(self, image: np.ndarray, n: int | None = None, rate: float | None = None,
               exptime: float | None = None, seed: int | np.random.Generator | None = None,
               rotate: bool = True, gain: float | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Paint randomly drawn cosmics from the library into a copy of ``image``.

        Cosmics are drawn with replacement, optionally rotated by a random multiple of 90
        degrees and flipped, placed with their stamp centre uniformly over the image and
        clipped at its edges; their charge is added to the image.

        Parameters
        ----------
        image : numpy.ndarray
            ``(ny, nx)`` image (not modified).
        n : int, optional
            Number of cosmics to paint. Without it, ``n ~ Poisson(rate x exptime x area /
            4096^2)``.
        rate : float, optional
            Cosmics per second per 4096 x 4096 frame (default: the library's own
            :attr:`rate`, ~1.4/s for DESI darks). Only with ``exptime``.
        exptime : float, optional
            Exposure time of the image, s.
        seed : None, int or numpy.random.Generator
            Randomness of the draw.
        rotate : bool
            Apply random 90-degree rotations and flips (default True).
        gain : float, optional
            e-/ADU: multiply the stamps (ADU) by it, for images in electrons.

        Returns
        -------
        image_with_cosmics : numpy.ndarray
            ``(ny, nx)`` copy of ``image`` (float32 or wider) with the cosmics added.
        mask : numpy.ndarray
            ``(ny, nx)`` bool, True in the injected footprints.

        Raises
        ------
        ValueError
            For a non-2-D image, neither or both of ``n`` and ``exptime``, negative values,
            an unknown rate or an empty library.
        """
        result = self.inject_with_truth(image, n=n, rate=rate, exptime=exptime, seed=seed,
                                        rotate=rotate, gain=gain)
        return result.image, result.mask

    def inject_with_truth(self, image: np.ndarray, n: int | None = None,
                          rate: float | None = None, exptime: float | None = None,
                          seed: int | np.random.Generator | None = None, rotate: bool = True,
                          gain: float | None = None) -> InjectedCosmics:
        """:meth:`inject`, returning the per-cosmic truth as well.

        Same arguments and random draws as :meth:`inject` (the same seed gives the same image
        and mask), plus a label image, the injected charge and a table of the cosmics.

        Returns
        -------
        InjectedCosmics
        """
        img = np.asarray(image)
        if img.ndim != 2 or img.size == 0:
            raise ValueError(f"image must be a non-empty 2-D array, got shape {img.shape}")
        if not (np.issubdtype(img.dtype, np.number) and not np.iscomplexobj(img)):
            raise ValueError(f"image must hold real numbers, got dtype {img.dtype}")
        rng = np.random.default_rng(seed)
        ny, nx = img.shape
        if n is None:
            if exptime is None:
                raise ValueError("give the number of cosmics n, or an exptime (s) to draw it "
                                 "from the rate")
            rate = self.rate if rate is None else float(rate)
            if not np.isfinite(rate) or rate < 0:
                raise ValueError(f"rate must be a finite number >= 0 per s per 4k frame, got "
                                 f"{rate!r} (pass rate= when the library has no exposure times)")
            if not np.isfinite(exptime) or exptime < 0:
                raise ValueError(f"exptime must be >= 0 s, got {exptime!r}")
            n = int(rng.poisson(rate * float(exptime) * ny * nx / np.prod(FULL_FRAME)))
        elif exptime is not None or rate is not None:
            raise ValueError("give either n, or exptime (and optionally rate), not both")
        if int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        n = int(n)
        if n and not len(self):
            raise ValueError("cannot inject from an empty library")
        if gain is not None and (not np.isfinite(gain) or gain <= 0):
            raise ValueError(f"gain must be a positive number (e-/ADU), got {gain!r}")
        scale = np.float32(1.0 if gain is None else gain)

        out = img.astype(np.result_type(img.dtype, np.float32), copy=True)
        mask = np.zeros((ny, nx), dtype=bool)
        labels = np.zeros((ny, nx), dtype=np.int32)
        signal = np.zeros((ny, nx), dtype=np.float32)
        which = rng.integers(0, len(self), n) if n else np.zeros(0, int)
        turns = rng.integers(0, 4, n)
        flips = rng.random(n) < 0.5
        cy = rng.integers(0, ny, n)
        cx = rng.integers(0, nx, n)
        cols = {k: np.zeros(n, dt) for k, dt in (("x", np.int32), ("y", np.int32),
                                                 ("peak", np.float32), ("total", np.float32),
                                                 ("npix", np.int32))}
        stamps, masks = self._stamps, self._masks
        for i in range(n):
            stamp, fp = stamps[which[i]], masks[which[i]]
            if rotate:
                stamp, fp = np.rot90(stamp, turns[i]), np.rot90(fp, turns[i])
                if flips[i]:
                    stamp, fp = stamp[:, ::-1], fp[:, ::-1]
            h, w = stamp.shape
            y0, x0 = cy[i] - h // 2, cx[i] - w // 2
            ys, xs = max(y0, 0), max(x0, 0)
            ye, xe = min(y0 + h, ny), min(x0 + w, nx)
            if ys >= ye or xs >= xe:
                continue
            sub = (slice(ys - y0, ye - y0), slice(xs - x0, xe - x0))
            charge = stamp[sub] * scale
            foot = fp[sub]
            out[ys:ye, xs:xe] += charge
            signal[ys:ye, xs:xe] += charge
            mask[ys:ye, xs:xe] |= foot
            labels[ys:ye, xs:xe][foot] = i + 1
            if foot.any():
                k = int(np.argmax(np.where(foot, charge, -np.inf)))
                cols["y"][i], cols["x"][i] = ys + k // charge.shape[1], xs + k % charge.shape[1]
                cols["peak"][i] = charge.flat[k]
                cols["total"][i] = charge[foot].sum()
                cols["npix"][i] = foot.sum()
        table = Table({"id": np.arange(1, n + 1, dtype=np.int32),
                       "index": which.astype(np.int32), **cols})
        table["nlabel"] = np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(np.int32)
        return InjectedCosmics(image=out, mask=mask, labels=labels, signal=signal, table=table)
