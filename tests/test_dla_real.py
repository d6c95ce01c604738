"""Readers of real spectra, resolution degradation, rebinning, the independent simulator,
streamed training windows and per-S/N scores of the DLA chapter."""

import numpy as np
import pytest
from astropy.io import fits

from cosmicbook import dla
from cosmicbook.dla.voigt import C_KMS


def _loglinear(tmp_path, n=500, start=3.58, step=2e-5, err=True, name="q"):
    flux = 1.0 + 0.01 * np.arange(n)
    hdr = fits.Header({"CRVAL1": start, "CDELT1": step, "CRPIX1": 1, "DC-FLAG": 1})
    fpath = tmp_path / f"{name}_f.fits"
    fits.PrimaryHDU(flux.astype(np.float32), header=hdr).writeto(fpath)
    epath = tmp_path / f"{name}_e.fits"
    if err:
        sig = np.full(n, 0.1, dtype=np.float32)
        sig[3] = 0.0  # a bad pixel
        fits.PrimaryHDU(sig, header=hdr).writeto(epath)
    return fpath, epath, flux


def test_read_loglinear_fits(tmp_path):
    fpath, epath, flux = _loglinear(tmp_path)
    spec = dla.read_loglinear_fits(fpath, epath)
    assert np.allclose(np.log10(spec.wave[:3]), [3.58, 3.58002, 3.58004])
    assert np.allclose(spec.flux, flux, rtol=1e-6)
    assert spec.ivar[3] == 0 and np.isclose(spec.ivar[0], 100.0, rtol=1e-5)


def test_read_loglinear_fits_bad_input(tmp_path):
    fpath, epath, _ = _loglinear(tmp_path, err=False)
    with pytest.raises(FileNotFoundError, match="error file"):
        dla.read_loglinear_fits(fpath, epath)
    with pytest.raises(FileNotFoundError, match="required"):
        dla.read_loglinear_fits(fpath, None)
    with pytest.raises(FileNotFoundError, match="flux file"):
        dla.read_loglinear_fits(tmp_path / "nope.fits", epath)
    bad, bad_e, _ = _loglinear(tmp_path, step=-2e-5, name="dec")
    with pytest.raises(ValueError, match="not increasing"):
        dla.read_loglinear_fits(bad, bad_e)
    short = tmp_path / "short_e.fits"
    fits.PrimaryHDU(np.ones(10, dtype=np.float32)).writeto(short)
    fpath2, _, _ = _loglinear(tmp_path, name="ok")
    with pytest.raises(ValueError, match="shape"):
        dla.read_loglinear_fits(fpath2, short)


def test_read_boss_hdus(tmp_path):
    loglam = 3.5507 + 1e-4 * np.arange(200)
    path = tmp_path / "boss.fits"
    fits.HDUList([fits.PrimaryHDU(np.ones(200, dtype=np.float32)),
                  fits.ImageHDU(np.full(200, 4.0, dtype=np.float32)),
                  fits.ImageHDU(loglam)]).writeto(path)
    spec = dla.read_boss_hdus(path)
    assert np.allclose(spec.wave, 10 ** loglam) and np.all(spec.ivar == 4.0)
    bad = tmp_path / "boss_bad.fits"
    fits.HDUList([fits.PrimaryHDU(np.ones(200, dtype=np.float32)),
                  fits.ImageHDU(np.ones(200, dtype=np.float32)),
                  fits.ImageHDU(loglam[::-1])]).writeto(bad)
    with pytest.raises(ValueError, match="boss_bad.fits.*not strictly increasing"):
        dla.read_boss_hdus(bad)
    two = tmp_path / "boss_two.fits"
    fits.HDUList([fits.PrimaryHDU(np.ones(5)), fits.ImageHDU(np.ones(5))]).writeto(two)
    with pytest.raises(ValueError, match="expected image HDUs"):
        dla.read_boss_hdus(two)
    with pytest.raises(FileNotFoundError):
        dla.read_boss_hdus(tmp_path / "missing.fits")


def test_read_xshooter_table(tmp_path):
    wave_nm = np.linspace(300.0, 600.0, 50)

    def write(path, cols):
        arrays = [fits.Column(name=n, format="50E", unit=u, array=a[None, :])
                  for n, a, u in cols]
        fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(arrays)]).writeto(path)

    ok = tmp_path / "xs.fits"
    write(ok, [("WAVE", wave_nm, "nm"), ("FLUX", np.ones(50), ""),
               ("ERR_FLUX", np.full(50, 0.5), "")])
    spec = dla.read_xshooter_table(ok)
    assert np.allclose(spec.wave, 10 * wave_nm) and np.allclose(spec.ivar, 4.0)
    no_err = tmp_path / "xs_noerr.fits"
    write(no_err, [("WAVE", wave_nm, "nm"), ("FLUX", np.ones(50), "")])
    with pytest.raises(ValueError, match="ERR_FLUX"):
        dla.read_xshooter_table(no_err)


def test_degrade_resolution_width_and_sharpening():
    loglam = 3.6 + 1e-5 * np.arange(4000)
    wave = 10 ** loglam
    r_in = 10000.0
    sig_in = C_KMS / r_in / 2.3548
    v = (loglam - loglam[2000]) * np.log(10) * C_KMS
    flux = 1.0 - 0.5 * np.exp(-0.5 * (v / sig_in) ** 2)
    out, ivar = dla.degrade_resolution(wave, flux, np.full(wave.size, 100.0), r_in, 2000.0)
    depth = 1.0 - out
    width = np.sqrt(np.sum(depth * v ** 2) / np.sum(depth))
    assert width * 2.3548 == pytest.approx(C_KMS / 2000.0, rel=0.03)
    assert np.sum(1 - out) == pytest.approx(np.sum(1 - flux), rel=1e-3)  # equivalent width
    assert np.all(ivar[100:-100] > 100.0)  # averaging lowers the per-pixel noise
    with pytest.raises(ValueError, match="sharpen"):
        dla.degrade_resolution(wave, flux, np.ones_like(flux), 2000.0, 5000.0)
    with pytest.raises(ValueError, match="not strictly increasing"):
        dla.degrade_resolution(wave[::-1], flux, np.ones_like(flux), 10000.0)


def test_rebin_loglinear_conserves_flux_and_weights():
    loglam = 3.59995 + 1.25e-5 + 2.5e-5 * np.arange(8000)  # 4 per SDSS pixel, edges aligned
    wave = 10 ** loglam
    flux = 2.0 + np.sin(wave / 30.0)
    ivar = np.full(wave.size, 25.0)
    w, f, iv = dla.rebin_loglinear(wave, flux, ivar)
    assert np.allclose(np.diff(np.log10(w)), 1e-4)
    assert np.allclose(np.round(np.log10(w) / 1e-4), np.log10(w) / 1e-4)  # SDSS zero point
    inner = (wave > w[1]) & (wave < w[-2])
    total_in = np.trapezoid(flux[inner], wave[inner])
    sel = (w > wave[inner][0]) & (w < wave[inner][-1])
    total_out = np.sum(f[sel] * w[sel] * (10 ** 5e-5 - 10 ** -5e-5))  # flux x pixel width
    assert total_out == pytest.approx(total_in, rel=2e-3)
    assert np.median(iv[1:-1]) == pytest.approx(4 * 25.0, rel=0.05)  # four pixels averaged
    # a bad pixel with a wild value is ignored by the inverse-variance weights
    flux2, ivar2 = flux.copy(), ivar.copy()
    flux2[4001], ivar2[4001] = 1e6, 0.0
    _, f2, _ = dla.rebin_loglinear(wave, flux2, ivar2)
    assert np.max(np.abs(f2 - f)) < 0.1
    with pytest.raises(ValueError, match="coarser"):
        dla.rebin_loglinear(wave[::10], flux[::10], ivar[::10])
    with pytest.raises(ValueError, match="not strictly increasing"):
        dla.rebin_loglinear(wave[::-1], flux, ivar)


def test_linetools_spectrum_error_names_file():
    if dla.linetools_available():
        with pytest.raises(FileNotFoundError, match="no_such_file.fits"):
            dla.linetools_spectrum("no_such_file.fits")
        assert dla.linetools_spectrum("PH957_f.fits").is_file()
    else:
        with pytest.raises(FileNotFoundError, match="pip install"):
            dla.linetools_spectrum("PH957_f.fits")


def test_independent_sightlines_truth_and_reproducibility():
    a = list(dla.independent_sightlines(6, seed=3))
    b = list(dla.independent_sightlines(6, seed=3))
    assert all(np.array_equal(x.flux, y.flux) for x, y in zip(a, b, strict=True))
    for s in a:
        assert np.allclose(np.diff(s.loglam), 1e-4)
        assert s.wave[-1] / (1 + s.z_qso) > 1475.0  # reaches the eBOSS normalisation band
        assert np.sum(s.absorbers["kind"] == "DLA") <= 1
        for row in s.dlas:  # the DLA's core is black in the noise-free transmission
            assert s.transmission[int(round(row["pixel"]))] < 0.05
    with pytest.raises(ValueError, match="probability"):
        dla.IndependentConfig(p_dla=1.5)


def test_streaming_windows_batches_and_passes():
    ds = dla.StreamingWindows(6, 64, chunk=3, seed=1, per_dla=4, per_subdla=4, per_random=4)
    first = list(ds)
    second = list(ds)
    assert all(len(b) == 6 and b[0].shape[1:] == (1, 400) and len(b[0]) <= 64 for b in first)
    n = sum(len(b[0]) for b in first)
    assert n >= 6 * 4
    assert not np.array_equal(first[0][0].numpy(), second[0][0].numpy())  # new sightlines
    with pytest.raises(ValueError, match="chunk"):
        dla.StreamingWindows(6, 64, chunk=0)


def test_binned_scores_counts():
    lines = list(dla.independent_sightlines(4, seed=5))
    truth_cats = [s.absorbers[["z_abs", "log_nhi", "pixel", "kind"]] for s in lines]
    table = dla.binned_scores(*dla.match_catalogue(lines, truth_cats), [0, 5, 1e9])
    n_dla = sum(len(s.dlas) for s in lines)
    assert table["n_dla"][-1] == n_dla  # last row: S/N above the second edge
    assert table["n_dla"][0] + table["n_dla"][1] == n_dla
    ok = table["n_dla"] > 0
    assert np.all(table["completeness"][ok] == 1.0) and np.all(table["sigma_dz"][ok] == 0.0)
    with pytest.raises(ValueError, match="increasing"):
        dla.binned_scores(*dla.match_catalogue(lines, truth_cats), [5, 3])


def test_gp_finder_config_validates():
    with pytest.raises(ValueError, match="preset"):
        dla.GPFinderConfig(preset="nope")
    with pytest.raises(ValueError, match="threshold"):
        dla.GPFinderConfig(threshold=1.0)
