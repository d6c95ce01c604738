"""Analytic CTA-like IRFs, their observing conditions, and the loader of real IRF files."""

import numpy as np
import pytest
from astropy.io import fits

from cosmicbook.cherenkov import irf


@pytest.fixture(scope="module")
def reference():
    return irf.make_cta_irfs()


def test_reference_irfs_follow_the_recipe(reference):
    assert set(reference) == set(irf.IRF_KEYS)
    assert reference["aeff"].meta["TELESCOP"] == "CTA"
    # the PSF is a normalised Gaussian: 68% containment radius ~1.51 sigma
    psf = reference["psf"]
    r68 = psf.containment_radius(0.68, energy_true=[1.0] * psf.axes["energy_true"].unit,
                                 offset=[0.5] * psf.axes["offset"].unit)
    assert float(np.squeeze(r68.to_value("deg"))) == pytest.approx(0.1 * 1.51, rel=0.08)
    # the background falls with offset as a Gaussian of 3 deg
    bkg = np.asarray(reference["bkg"].data)
    off = reference["bkg"].axes["offset"].center.to_value("deg")
    ratio = bkg[3, 4] / bkg[3, 0]
    assert ratio == pytest.approx(np.exp(-0.5 * (off[4] ** 2 - off[0] ** 2) / 9), rel=1e-6)


def test_conditions_change_the_response(reference):
    hard = irf.make_cta_irfs(zenith=60.0, nsb=4.0)
    e = reference["aeff"].axes["energy_true"].center.to_value("TeV")
    low = np.argmin(np.abs(e - 0.05))
    high = np.argmin(np.abs(e - 10.0))
    a_ref, a_hard = np.asarray(reference["aeff"].data), np.asarray(hard["aeff"].data)
    assert a_hard[low, 0] < 0.5 * a_ref[low, 0]        # higher energy threshold
    assert a_hard[high, 0] > a_ref[high, 0]            # larger area at high energy
    # brighter sky: more low-energy background, same high-energy background (at zenith 20)
    bright = irf.make_cta_irfs(zenith=20.0, nsb=4.0)
    b_ref, b_bright = np.asarray(reference["bkg"].data), np.asarray(bright["bkg"].data)
    assert b_bright[0, 0] > 2.5 * b_ref[0, 0]
    assert b_bright[-1, 0] == pytest.approx(b_ref[-1, 0], rel=1e-3)
    # wider PSF at large zenith
    assert np.asarray(hard["psf"].data)[5, 0, 20] < np.asarray(reference["psf"].data)[5, 0, 20]


@pytest.mark.parametrize("kwargs", [{"zenith": -5}, {"zenith": 80}, {"nsb": 0.5},
                                    {"zenith": float("nan")}])
def test_bad_conditions(kwargs):
    with pytest.raises(ValueError):
        irf.make_cta_irfs(**kwargs)


def test_round_trip_through_fits(reference, tmp_path):
    path = irf.write_irfs(reference, tmp_path / "irfs.fits")
    loaded = irf.load_irfs(path)
    assert set(loaded) >= set(irf.IRF_KEYS)
    for key in irf.IRF_KEYS:
        assert np.allclose(np.asarray(loaded[key].data), np.asarray(reference[key].data),
                           rtol=1e-5), key
    assert irf.get_irfs(path)["bkg"].data.shape == reference["bkg"].data.shape


def test_loader_errors(reference, tmp_path):
    with pytest.raises(FileNotFoundError):
        irf.load_irfs(tmp_path / "missing.fits.gz")
    junk = tmp_path / "junk.fits"
    junk.write_text("not a FITS file at all" * 10)
    with pytest.raises(ValueError):
        irf.load_irfs(junk)
    # a FITS file with only an effective area
    partial = tmp_path / "aeff_only.fits"
    fits.HDUList([fits.PrimaryHDU(), reference["aeff"].to_table_hdu()]).writeto(partial)
    with pytest.raises(ValueError, match="lacks"):
        irf.load_irfs(partial)
    with pytest.raises(ValueError, match="lacks"):
        irf.write_irfs({"aeff": reference["aeff"]}, tmp_path / "x.fits")
