"""The instrument CTAO published: IRFs built from the prod3b-v2 performance curves.

CTAO published, for its full Northern (La Palma) and Southern (Paranal) arrays at 20, 40 and
60 deg zenith, the effective area, the 68 % containment radius of the PSF, the energy
resolution and the residual background rate per square degree as functions of energy
(production 3b, v2, 50 h cuts; CC BY 4.0, credit CTAO; :data:`CREDIT`). The tables ship with
the package (``cosmicbook/cherenkov/data/prod3b``); :func:`read_performance_table` reads one,
:func:`prod3b_curves` collects the four of a site and zenith (optionally interpolated in
zenith), and :func:`make_prod3b_irfs` turns them into the gammapy IRF objects the simulator
and the gammapy baselines use:

* **effective area** (``EffectiveAreaTable2D``): the published area *without the direction
  cut* -- the PSF is applied separately, so the direction cut must not be counted twice --
  at the published energies, times the offset dependence of :class:`OffsetDependence`;
* **PSF** (``PSF3D``): a 2D Gaussian whose 68 % containment radius is the published one,
  ``sigma = r68 / sqrt(-2 ln 0.32)``, broadened off axis;
* **energy dispersion** (``EnergyDispersion2D``): a Gaussian in migration
  ``E_reco / E_true`` with zero bias and ``sigma`` equal to the published resolution (the
  68 % half-width of ``(E_reco - E_true) / E_true``);
* **background** (``Background2D``): the published rate of each reconstructed-energy bin
  (Hz/deg^2) divided by the bin width and converted to s^-1 MeV^-1 sr^-1, at the bin's
  logarithmic centre, times the offset dependence.

The curves are those of a point source at the centre of the field; their offset dependence
is not published with them and is *modelled* here (:class:`OffsetDependence`, Gaussian
fall-offs of the acceptance and a PSF that widens with offset, of the size the prod3b IRF
files show across the central 3 deg).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CREDIT",
    "SITES",
    "ZENITHS",
    "OffsetDependence",
    "Prod3bCurves",
    "background_nodes",
    "make_prod3b_irfs",
    "prod3b_curves",
    "read_performance_table",
]

#: Sites of the published curves.
SITES: tuple[str, ...] = ("south", "north")
#: Zenith angles (deg) of the published curves.
ZENITHS: tuple[int, ...] = (20, 40, 60)
#: Credit line for the published curves (CC BY 4.0).
CREDIT = ("CTAO prod3b-v2 instrument response (CTA Observatory and CTA Consortium, "
          "www.cta-observatory.org/science/cta-performance/), CC BY 4.0")
#: Folder of the shipped tables.
TABLE_DIR = Path(__file__).parent / "data" / "prod3b"
#: The four tables a set of IRFs needs, by the suffix of their file names.
TABLES = {"aeff": "EffAreaNoDirectionCut", "r68": "Angres", "bkg": "BackgroundSqdeg",
          "eres": "Eres"}

#: sigma of a 2D Gaussian per 68 % containment radius: r68 = sigma sqrt(-2 ln 0.32).
_R68_PER_SIGMA = math.sqrt(-2.0 * math.log(1.0 - 0.68))
_SR_PER_DEG2 = (math.pi / 180.0) ** 2


def read_performance_table(path: str | os.PathLike) -> np.ndarray:
    """Read one CTAO performance text table.

    The files have a free-text header, a line of dashes, and rows of two (energy in TeV and
    a value) or three columns (bin edges in TeV and a rate).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    numpy.ndarray of float, shape (n_rows, n_columns)

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If it has no data rows, rows of different lengths, non-numeric, non-finite or
        non-positive entries, or energies that do not increase.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no CTAO performance table {path}")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    start = next((i + 1 for i, line in enumerate(lines) if line.strip().startswith("---")),
                 None)
    if start is None:
        raise ValueError(f"{path}: no line of dashes before the data rows")
    rows = []
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        try:
            rows.append([float(v) for v in line.split()])
        except ValueError as err:
            raise ValueError(f"{path}:{number}: not a row of numbers: {line!r}") from err
    if not rows:
        raise ValueError(f"{path}: no data rows after the line of dashes")
    if len({len(r) for r in rows}) != 1 or len(rows[0]) not in (2, 3):
        raise ValueError(f"{path}: rows must all have 2 or 3 columns")
    data = np.asarray(rows, dtype=float)
    if not np.all(np.isfinite(data)) or np.any(data <= 0):
        raise ValueError(f"{path}: entries must be finite and positive")
    if np.any(np.diff(data[:, 0]) <= 0):
        raise ValueError(f"{path}: the energies must increase")
    if data.shape[1] == 3 and np.any(data[:, 1] <= data[:, 0]):
        raise ValueError(f"{path}: every bin's upper edge must exceed its lower edge")
    return data


@dataclass(frozen=True)
class Prod3bCurves:
    """The published curves of one array at one zenith angle (a point source on axis).

    Attributes
    ----------
    site : str
    zenith : float
        deg.
    energy_aeff, aeff : numpy.ndarray
        TeV and m^2 (after gamma/hadron cuts, without the direction cut).
    energy_psf, r68 : numpy.ndarray
        TeV and deg (68 % containment radius).
    energy_eres, eres : numpy.ndarray
        TeV and the fractional energy resolution.
    bkg_edges : numpy.ndarray, shape (n, 2)
        Reconstructed-energy bins, TeV.
    bkg_rate : numpy.ndarray, shape (n,)
        Residual background rate of each bin, Hz/deg^2.
    """

    site: str
    zenith: float
    energy_aeff: np.ndarray
    aeff: np.ndarray
    energy_psf: np.ndarray
    r68: np.ndarray
    energy_eres: np.ndarray
    eres: np.ndarray
    bkg_edges: np.ndarray
    bkg_rate: np.ndarray

    def background_rate(self, e_min: float, e_max: float) -> float:
        """Published background rate (Hz/deg^2) summed over the bins inside [e_min, e_max].

        Bins cut by the range count with the fraction of their logarithmic width inside it.
        """
        lo, hi = np.log(self.bkg_edges[:, 0]), np.log(self.bkg_edges[:, 1])
        inside = np.clip(np.minimum(hi, math.log(e_max)) - np.maximum(lo, math.log(e_min)),
                         0.0, None) / (hi - lo)
        return float(np.sum(self.bkg_rate * inside))


def _check_site(site: str) -> str:
    key = str(site).lower()
    if key not in SITES:
        raise ValueError(f"unknown site {site!r}; the published curves are for {SITES}")
    return key


def _table_path(site: str, zenith: int, kind: str, table_dir: Path) -> Path:
    name = (f"CTA-Performance-prod3b-v2-{site.capitalize()}-{zenith}deg-50h-"
            f"{TABLES[kind]}.txt")
    path = table_dir / name
    if not path.is_file():
        have = sorted(p.name for p in table_dir.glob("*.txt")) if table_dir.is_dir() else []
        raise ValueError(f"the table {name} is missing from {table_dir}; available: "
                         f"{have or 'none'}")
    return path


def _published(site: str, zenith: int, table_dir: Path) -> Prod3bCurves:
    t = {k: read_performance_table(_table_path(site, zenith, k, table_dir)) for k in TABLES}
    for kind in ("aeff", "r68", "eres"):
        if t[kind].shape[1] != 2:
            raise ValueError(f"the {TABLES[kind]} table of {site} {zenith} deg must have two "
                             f"columns")
    if t["bkg"].shape[1] != 3:
        raise ValueError(f"the background table of {site} {zenith} deg must have three "
                         f"columns (E_min, E_max, rate)")
    return Prod3bCurves(site, float(zenith), t["aeff"][:, 0], t["aeff"][:, 1],
                        t["r68"][:, 0], t["r68"][:, 1], t["eres"][:, 0], t["eres"][:, 1],
                        t["bkg"][:, :2], t["bkg"][:, 2])


def _log_interp(x, xp, fp):
    """Interpolation in log-log, constant beyond the ends."""
    return np.exp(np.interp(np.log(x), np.log(xp), np.log(fp)))


def prod3b_curves(site: str = "south", zenith: float = 20, *, interpolate: bool = False,
                  table_dir: str | os.PathLike | None = None) -> Prod3bCurves:
    """The published curves of one array at one zenith angle.

    Parameters
    ----------
    site : {"south", "north"}
    zenith : float
        deg: one of :data:`ZENITHS`, or with ``interpolate`` anything between 20 and 60.
    interpolate : bool
        Between the tabulated zenith angles, interpolate every curve linearly in
        ``1 / cos(zenith)`` (the air mass) -- the logarithm of the effective area and of the
        background, the PSF radius and the resolution -- on the energies of the lower one.
    table_dir : path-like, optional
        Folder of the tables (default: those shipped with the package).

    Returns
    -------
    Prod3bCurves

    Raises
    ------
    ValueError
        For an unknown site, a zenith angle that is not tabulated (without ``interpolate``)
        or outside 20-60 deg, or a missing table -- each message lists what is available.
    """
    site = _check_site(site)
    table_dir = TABLE_DIR if table_dir is None else Path(table_dir)
    zenith = float(zenith)
    if not math.isfinite(zenith):
        raise ValueError(f"zenith must be finite, got {zenith!r}")
    if zenith in ZENITHS:
        return _published(site, int(zenith), table_dir)
    if not interpolate:
        raise ValueError(f"no published curves at zenith {zenith:g} deg; tabulated: "
                         f"{ZENITHS} deg (pass interpolate=True for angles between them)")
    if not ZENITHS[0] < zenith < ZENITHS[-1]:
        raise ValueError(f"zenith {zenith:g} deg is outside the tabulated range "
                         f"{ZENITHS[0]}-{ZENITHS[-1]} deg; no extrapolation")
    z0 = max(z for z in ZENITHS if z < zenith)
    z1 = min(z for z in ZENITHS if z > zenith)
    a, b = _published(site, z0, table_dir), _published(site, z1, table_dir)
    airmass = [1.0 / math.cos(math.radians(z)) for z in (z0, zenith, z1)]
    w = (airmass[1] - airmass[0]) / (airmass[2] - airmass[0])

    def mix(e, lower, e_upper, upper, log=True):
        upper = _log_interp(e, e_upper, upper) if log else np.interp(
            np.log(e), np.log(e_upper), upper)
        if log:
            return np.exp((1 - w) * np.log(lower) + w * np.log(upper))
        return (1 - w) * lower + w * upper

    centres_a = np.sqrt(a.bkg_edges.prod(axis=1))
    centres_b = np.sqrt(b.bkg_edges.prod(axis=1))
    return Prod3bCurves(
        site, zenith,
        a.energy_aeff, mix(a.energy_aeff, a.aeff, b.energy_aeff, b.aeff),
        a.energy_psf, mix(a.energy_psf, a.r68, b.energy_psf, b.r68, log=False),
        a.energy_eres, mix(a.energy_eres, a.eres, b.energy_eres, b.eres, log=False),
        a.bkg_edges, mix(centres_a, a.bkg_rate, centres_b, b.bkg_rate))


def background_nodes(edges: np.ndarray, rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nodes of a differential background spectrum whose bins integrate to the published rates.

    Each bin's value sits at its logarithmic centre, chosen so that a power law with the
    local index (from the neighbouring bins) integrates over the bin to the published rate;
    nodes at the outer edges continue the end slopes, and one node just beyond each end
    drops to zero, so that nothing is extrapolated beyond the published range.

    Parameters
    ----------
    edges : numpy.ndarray, shape (n, 2)
        Bin edges, TeV.
    rate : numpy.ndarray, shape (n,)
        Rate per bin (Hz/deg^2).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Node energies (TeV) and differential rates (Hz deg^-2 TeV^-1).
    """
    lo, hi = edges[:, 0], edges[:, 1]
    centre = np.sqrt(lo * hi)
    mean = rate / (hi - lo)
    if len(rate) > 1:
        gamma = -np.gradient(np.log(mean), np.log(centre))
    else:
        gamma = np.full(1, 2.7)
    one = 1.0 - gamma
    near = np.abs(one) < 1e-6
    safe = np.where(near, 1.0, one)
    width = np.where(near, np.log(hi / lo),
                     ((hi / centre) ** safe - (lo / centre) ** safe) / safe) * centre
    value = rate / width
    nodes = np.concatenate([[lo[0] / 1.001, lo[0]], centre, [hi[-1], hi[-1] * 1.001]])
    grid = np.exp(np.linspace(np.log(lo), np.log(hi), 129, axis=1))  # (n, 129)

    def assemble(value):
        first = value[0] * (lo[0] / centre[0]) ** -gamma[0]
        last = value[-1] * (hi[-1] / centre[-1]) ** -gamma[-1]
        tiny = 1e-12 * float(value.max())
        return np.concatenate([[tiny, first], value, [last, tiny]])

    # the log-log interpolation between the centres bends the spectrum: correct each centre
    # until every bin integrates to its published rate
    for _ in range(100):
        values = assemble(value)
        curve = np.exp(np.interp(np.log(grid), np.log(nodes), np.log(values)))
        integral = np.trapezoid(curve, grid, axis=1)
        ratio = rate / integral
        value = value * ratio
        if np.max(np.abs(ratio - 1.0)) < 1e-6:
            break
    return nodes, assemble(value)


@dataclass(frozen=True)
class OffsetDependence:
    """How the responses change across the field of view (modelled, not published).

    Attributes
    ----------
    aeff_sigma : float
        deg: the effective area falls as ``exp(-offset^2 / 2 aeff_sigma^2)`` (half of the
        on-axis value at about 2.9 deg for 2.5 deg).
    bkg_sigma : float
        deg: the same for the background rate.
    psf_scale : float
        deg: the PSF radius grows as ``sqrt(1 + (offset / psf_scale)^2)`` (25 % wider at
        3 deg for 4 deg).
    max_offset : float
        deg: the IRFs are tabulated out to this offset.
    """

    aeff_sigma: float = 2.5
    bkg_sigma: float = 3.0
    psf_scale: float = 4.0
    max_offset: float = 6.0

    def __post_init__(self):
        for name in ("aeff_sigma", "bkg_sigma", "psf_scale", "max_offset"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of degrees, got "
                                 f"{value!r}")


def make_prod3b_irfs(site: str = "south", zenith: float = 20, *,
                     offsets: OffsetDependence | None = None, interpolate: bool = False,
                     table_dir: str | os.PathLike | None = None) -> dict:
    """gammapy IRFs of a CTAO array from its published prod3b-v2 curves.

    Parameters
    ----------
    site : {"south", "north"}
    zenith : float
        deg, one of :data:`ZENITHS` (others with ``interpolate``, see :func:`prod3b_curves`).
    offsets : OffsetDependence, optional
        The modelled offset dependence (default :class:`OffsetDependence()`).
    interpolate : bool
        Interpolate between the tabulated zenith angles.
    table_dir : path-like, optional
        Folder of the tables (default: those shipped with the package).

    Returns
    -------
    dict
        ``{"aeff", "psf", "edisp", "bkg"}`` gammapy IRF objects, as
        ``gammapy.irf.load_irf_dict_from_file`` returns them; their ``meta`` names the site,
        zenith and source of the curves.

    Raises
    ------
    ValueError
        See :func:`prod3b_curves`.

    Examples
    --------
    >>> irfs = make_prod3b_irfs("south", 20)
    >>> round(float(irfs["aeff"].evaluate(energy_true=1 * u.TeV, offset=0 * u.deg)
    ...       .to_value("m2")))  # doctest: +SKIP
    """
    import astropy.units as u
    from gammapy.irf import PSF3D, Background2D, EffectiveAreaTable2D, EnergyDispersion2D
    from gammapy.maps import MapAxis
    from scipy import special

    offsets = OffsetDependence() if offsets is None else offsets
    curves = prod3b_curves(site, zenith, interpolate=interpolate, table_dir=table_dir)
    meta = {"TELESCOP": "CTA", "INSTRUME": f"{curves.site.capitalize()}ern Array",
            "ZENITH": curves.zenith, "SOURCE": "prod3b-v2 performance curves",
            "CREDIT": "CTAO, CC BY 4.0"}
    offset = MapAxis.from_nodes(np.linspace(0.0, offsets.max_offset,
                                            int(round(4 * offsets.max_offset)) + 1),
                                unit="deg", name="offset")
    off = offset.center.to_value("deg")

    e_aeff = MapAxis.from_nodes(curves.energy_aeff, unit="TeV", name="energy_true",
                                interp="log")
    area = curves.aeff[:, None] * np.exp(-0.5 * (off / offsets.aeff_sigma) ** 2)[None, :]
    aeff = EffectiveAreaTable2D(axes=[e_aeff, offset], data=area, unit="m2", meta=dict(meta))

    e_psf = MapAxis.from_nodes(curves.energy_psf, unit="TeV", name="energy_true",
                               interp="log")
    sigma = (curves.r68[:, None] / _R68_PER_SIGMA
             * np.sqrt(1.0 + (off / offsets.psf_scale) ** 2)[None, :])
    rad_max = max(1.0, 5.0 * float(sigma.max()))
    rad = MapAxis.from_edges(np.linspace(0.0, rad_max, 501), unit="deg", name="rad")
    r = rad.center.to_value("deg")
    psf_data = (np.exp(-0.5 * (r[None, None, :] / sigma[:, :, None]) ** 2)
                / (2 * np.pi * np.radians(sigma[:, :, None]) ** 2))
    psf = PSF3D(axes=[e_psf, offset, rad], data=psf_data, unit="sr-1", meta=dict(meta))

    e_true = MapAxis.from_energy_bounds(0.01, 200, 8, per_decade=True, unit="TeV",
                                        name="energy_true")
    migra = MapAxis.from_bounds(0.2, 5, 240, node_type="edges", name="migra")
    res = np.interp(np.log(e_true.center.to_value("TeV")), np.log(curves.energy_eres),
                    curves.eres)
    edges = migra.edges.to_value("")
    s = math.sqrt(2.0) * res[:, None]
    pdf = (special.erf((edges[None, 1:] - 1.0) / s) - special.erf((edges[None, :-1] - 1.0) / s)
           ) / 2.0 / np.diff(edges)[None, :]
    pdf[pdf < 1e-6] = 0.0
    edisp = EnergyDispersion2D(axes=[e_true, migra, offset],
                               data=np.repeat(pdf[:, :, None], offset.nbin, axis=2),
                               meta=dict(meta))

    nodes, values = background_nodes(curves.bkg_edges, curves.bkg_rate)
    e_bkg = MapAxis.from_nodes(nodes, unit="TeV", name="energy", interp="log")
    differential = values / 1e6 / _SR_PER_DEG2  # Hz deg-2 TeV-1 -> s-1 MeV-1 sr-1
    bkg_data = differential[:, None] * np.exp(-0.5 * (off / offsets.bkg_sigma) ** 2)[None, :]
    bkg = Background2D(axes=[e_bkg, offset], data=bkg_data * u.Unit("s-1 MeV-1 sr-1"),
                       meta=dict(meta))
    return {"aeff": aeff, "psf": psf, "edisp": edisp, "bkg": bkg}
