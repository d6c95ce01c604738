"""find_dlas on a spectrum FITS file, input validation, the reader, the classical baseline and
the scoring of catalogues."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from cosmicbook import dla
from cosmicbook.dla.inference import WEIGHTS_DIR


@pytest.fixture(scope="module")
def sightline():
    sim = dla.SightlineSimulator()
    return sim.draw(np.random.default_rng(11), z_qso=3.2, snr=15.0,
                    absorbers=[(2.75, 21.2), (3.0, 19.6)])


def test_find_dlas_on_fits_file(sightline, tmp_path):
    """Write an SDSS-layout file, read it back, and find its DLA with the shipped weights."""
    path = dla.write_spectrum(tmp_path / "spec-0001-55555-0001.fits", sightline.wave,
                              sightline.flux, sightline.ivar, z_qso=sightline.z_qso)
    with fits.open(path) as hdul:
        assert hdul["COADD"].columns.names == ["flux", "loglam", "ivar"]
    spec = dla.read_spectrum(path)
    assert spec.z_qso == pytest.approx(3.2)
    assert np.allclose(spec.wave, sightline.wave, rtol=1e-6)
    found = dla.find_dlas(spec.wave, spec.flux, spec.ivar, spec.z_qso)
    assert isinstance(found, Table)
    assert set(found.colnames) >= {"z_abs", "log_nhi", "confidence"}
    dlas = found[found["kind"] == "DLA"]
    assert len(dlas) == 1, found
    assert dlas["z_abs"][0] == pytest.approx(2.75, abs=0.005)
    assert dlas["log_nhi"][0] == pytest.approx(21.2, abs=0.3)
    assert 0.5 < dlas["confidence"][0] <= 1.0
    meta = (WEIGHTS_DIR / "dla_cnn_book.json").read_text()
    assert '"width"' in meta


def test_bad_spectra(sightline):
    w, f, i = sightline.wave, sightline.flux, sightline.ivar
    with pytest.raises(ValueError, match="equal length"):
        dla.find_dlas(w, f[:-1], i, 3.2)
    with pytest.raises(ValueError, match="sorted"):
        dla.find_dlas(w[::-1], f[::-1], i[::-1], 3.2)
    bad = f.copy()
    bad[100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        dla.find_dlas(w, bad, i, 3.2)
    with pytest.raises(ValueError, match="outside the wavelength grid"):
        dla.find_dlas(w, f, i, 6.5)
    with pytest.raises(ValueError, match="outside the wavelength grid"):
        dla.find_dlas(w, f, i, 1.0)
    with pytest.raises(ValueError, match="SDSS grid"):
        lin = np.linspace(w[0], w[-1], w.size)
        dla.find_dlas(lin, f, i, 3.2)
    with pytest.raises(ValueError, match="stride"):
        dla.find_dlas(w, f, i, 3.2, stride=0)
    with pytest.raises(ValueError, match="non-negative"):
        dla.find_dlas(w, f, -i, 3.2)


def test_reader_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        dla.read_spectrum(tmp_path / "missing.fits")
    path = tmp_path / "nocoadd.fits"
    fits.HDUList([fits.PrimaryHDU()]).writeto(path)
    with pytest.raises(ValueError, match="no HDU 'COADD'"):
        dla.read_spectrum(path)
    path = tmp_path / "nocol.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(
        Table({"flux": np.ones(3), "loglam": np.ones(3)}), name="COADD")]).writeto(path)
    with pytest.raises(ValueError, match="ivar"):
        dla.read_spectrum(path)


def test_missing_weights(tmp_path, sightline):
    with pytest.raises(FileNotFoundError, match="weights"):
        dla.find_dlas(sightline.wave, sightline.flux, sightline.ivar, 3.2,
                      model=tmp_path / "none.pt")


def test_classical_finder(sightline):
    found = dla.find_dlas_classical(sightline.wave, sightline.flux, sightline.ivar, 3.2)
    dlas = found[found["kind"] == "DLA"]
    best = dlas[np.argmin(np.abs(dlas["z_abs"] - 2.75))]
    assert best["z_abs"] == pytest.approx(2.75, abs=0.005)
    assert best["log_nhi"] == pytest.approx(21.2, abs=0.2)


def test_scoring_by_hand(sightline):
    truth_lines = [sightline]
    good = Table({"z_abs": [2.7501, 3.0], "log_nhi": [21.1, 20.5],
                  "pixel": [float(p) + 2 for p in sightline.absorbers["pixel"]],
                  "kind": ["DLA", "DLA"]})
    truth, found = dla.match_catalogue(truth_lines, [good])
    s = dla.score(truth, found)
    assert s.completeness == 1.0 and s.completeness_any == 1.0
    assert s.purity == 0.5 and s.purity_any == 1.0      # the sub-DLA reported as a DLA
    assert s.sigma_dlogn == pytest.approx(0.0)           # one matched DLA
    assert s.median_dlogn == pytest.approx(-0.1)
    conf = dla.confusion_matrix(truth, found)
    assert conf.tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 0]]
    far = Table({"z_abs": [2.0], "log_nhi": [21.0], "pixel": [10.0], "kind": ["DLA"]})
    truth, found = dla.match_catalogue(truth_lines, [far])
    s = dla.score(truth, found)
    assert s.completeness == 0.0 and s.purity == 0.0
    assert dla.confusion_matrix(truth, found)[2, 0] == 1
