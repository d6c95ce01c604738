"""Tests of cosmicbook.deepcr.peers and .real: peer tools (when installed) and real frames."""

import numpy as np
import pytest
from astropy.io import fits

from cosmicbook.deepcr import default_library, make_training_frame, simulate_tile
from cosmicbook.deepcr.peers import PEERS, desispec_agreement, peer_methods, peer_probability
from cosmicbook.deepcr.real import (
    RealFrame,
    gmos_frame,
    named_agreement,
    read_spectrum_frame,
)


@pytest.fixture(scope="module")
def frame():
    library = default_library((512, 512), n_darks=3, seed=5, progress=False)
    tile = simulate_tile((256, 256), seed=4, progress=False)
    return make_training_frame(tile, library, exptime=20000.0, seed=3)


def test_peer_methods_name_what_is_missing():
    methods, skipped = peer_methods()
    assert set(methods) | set(skipped) == set(PEERS)
    assert all(isinstance(v, str) and v for v in skipped.values())
    with pytest.raises(ValueError, match="unknown peer"):
        peer_methods(["LA Cosmic 2"])
    with pytest.raises(ValueError, match="unknown peer"):
        peer_probability("nope", np.zeros((8, 8)))


@pytest.mark.parametrize("name", ["Cosmic-CoNN NRES", "deepCR ACS-WFC"])
def test_peer_finds_bright_cosmics(name, frame):
    pytest.importorskip(PEERS[name][0])
    prob = peer_probability(name, frame.image)
    assert prob.shape == frame.shape and prob.dtype == np.float32
    assert 0 <= prob.min() and prob.max() <= 1
    bright = frame.signal > 2000
    assert bright.any()
    # a working peer flags most bright cosmic-ray pixels and few clean ones
    assert (prob[bright] > 0.5).mean() > 0.8
    assert (prob[~frame.mask] > 0.5).mean() < 0.01


def test_our_sdss_method_matches_desispec(frame):
    pytest.importorskip("desispec")
    pytest.importorskip("numba")
    result = desispec_agreement(frame.image, frame.ivar, "r0")
    assert result["n_ours"] > 50
    assert result["agreement_core"] >= 0.999
    # with the dilation every difference is desispec's gap repair
    assert result["agreement_dilated"] >= 0.999
    assert result["n_desispec"] >= result["n_ours"]


# ---------------------------------------------------------------- real frames
def test_read_spectrum_frame_orients_and_validates(tmp_path):
    sci = np.arange(12.0 * 20).reshape(12, 20).astype(np.float32)
    var = np.full_like(sci, 4.0)
    var[0, 0] = 0.0
    path = tmp_path / "frame.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(sci, name="SCI"),
                  fits.ImageHDU(var, name="VAR")]).writeto(path)
    f = read_spectrum_frame(path, dispersion_axis=1, read_noise=3.0)
    assert f.shape == (20, 12) and f.transposed
    assert np.array_equal(f.image, sci.T)
    assert f.ivar[0, 0] == 0 and f.ivar[1, 1] == 0.25
    with pytest.raises(FileNotFoundError):
        read_spectrum_frame(tmp_path / "missing.fits")
    with pytest.raises(ValueError, match="no extension 'ERR'"):
        read_spectrum_frame(path, var="ERR")
    bad = sci.copy()
    bad[3, 3] = np.nan
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(bad, name="SCI"),
                  fits.ImageHDU(var, name="VAR")]).writeto(tmp_path / "bad.fits")
    with pytest.raises(ValueError, match="NaN"):
        read_spectrum_frame(tmp_path / "bad.fits")


def test_named_agreement_counts():
    frame = RealFrame("toy", np.zeros((20, 20), np.float32), np.ones((20, 20), np.float32),
                      named=[(slice(2, 5), slice(2, 5)), (slice(10, 12), slice(10, 15))])
    mask = np.zeros((20, 20), bool)
    mask[3, 3] = True
    mask[18, 18] = mask[18, 17] = True
    t = named_agreement(mask, frame)
    assert list(t["found"]) == [True, False]
    assert t["covered"][0] == pytest.approx(1 / 9)
    assert t.meta["n_elsewhere"] == 2 and t.meta["n_components_elsewhere"] == 1
    with pytest.raises(ValueError, match="bool"):
        named_agreement(mask.astype(int), frame)


def test_gmos_frame_from_astroscrappy():
    astroscrappy = pytest.importorskip("astroscrappy")
    frame = gmos_frame()
    assert frame.shape == (200, 150) and frame.transposed
    assert frame.sky is not None and len(frame.named) == 2
    # electrons: the variance is read noise^2 + the signal
    good = frame.image > 0
    var = 1 / frame.ivar[good]
    assert np.median(var - frame.image[good]) == pytest.approx(4.24**2, rel=0.2)
    # LA Cosmic as astroscrappy's own test runs it finds both named cosmics
    m, _ = astroscrappy.detect_cosmics(frame.image, inbkg=frame.sky, readnoise=4.24,
                                       gain=1.933)
    t = named_agreement(m, frame)
    assert all(t["found"])
