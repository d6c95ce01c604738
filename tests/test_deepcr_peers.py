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
    read_raw_ccd,
    read_spectrum_frame,
    saao_frame,
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


def _raw_file(path, header=None, shape=(40, 60), bias=1000.0, gain=2.0):
    """A raw single-amplifier frame: overscan columns 1-8 (FITS 1-based), data from 11 on."""
    rng = np.random.default_rng(0)
    data = np.full(shape, bias) + rng.normal(0, 2.0, shape)
    data[:, 10:] += 50.0            # 100 e- of sky in the trimmed area
    data[5:10, :] += np.arange(5)[:, None] * 3.0  # a bias drift along the rows
    data[20, 30] += 400.0           # a cosmic: 800 e-
    hdr = fits.Header({"BIASSEC": "[1:8,1:40]", "TRIMSEC": "[11:60,1:40]", "GAIN": gain,
                       "RDNOISE": 4.0, **(header or {})})
    fits.PrimaryHDU(np.round(data).astype(np.uint16), header=hdr).writeto(path)
    return path


def test_read_raw_ccd_subtracts_overscan_trims_and_applies_gain(tmp_path):
    frame = read_raw_ccd(_raw_file(tmp_path / "raw.fits"))
    assert frame.shape == (40, 50) and frame.gain == 2.0 and frame.read_noise == 4.0
    assert np.median(frame.image) == pytest.approx(100.0, abs=3.0)
    # the row-by-row overscan removes the bias drift
    assert abs(np.median(frame.image[5:10]) - np.median(frame.image[20:30])) < 3.0
    assert frame.image[20, 20] == pytest.approx(900.0, abs=15.0)
    good = frame.image > 50
    assert np.median(1 / frame.ivar[good] - frame.image[good]) == pytest.approx(16.0, abs=0.5)


def test_read_raw_ccd_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_raw_ccd(tmp_path / "missing.fits")
    path = tmp_path / "nosec.fits"
    fits.PrimaryHDU(np.zeros((8, 8), np.uint16)).writeto(path)
    with pytest.raises(ValueError, match="BIASSEC"):
        read_raw_ccd(path)
    bad = _raw_file(tmp_path / "bad.fits", header={"TRIMSEC": "[11:60 1:40]"})
    with pytest.raises(ValueError, match="TRIMSEC"):
        read_raw_ccd(bad)
    nogain = _raw_file(tmp_path / "g.fits", gain=-1.0)
    with pytest.raises(ValueError, match="gain"):
        read_raw_ccd(nogain)
    assert read_raw_ccd(nogain, gain=1.5).gain == 1.5


def test_saao_frame_from_ccdproc():
    pytest.importorskip("ccdproc")
    frame = saao_frame()
    assert frame.shape == (512, 512) and frame.gain == 1.9 and frame.read_noise == 5.0
    assert np.median(frame.image[-1]) > 0.5 * np.median(frame.image)  # lit to the last row
    # overscan-subtracted: a sky of ~160 e-, far below the raw 2^15 offset
    assert 50 < np.median(frame.image) < 400


def test_plot_real_masks_checks_shapes():
    import matplotlib

    matplotlib.use("Agg")
    from cosmicbook.deepcr import plot_real_masks

    image = np.random.default_rng(1).normal(0, 1, (30, 40))
    mask = np.zeros(image.shape, bool)
    mask[5:7, 5:9] = True
    fig = plot_real_masks(image, {"a": mask, "b": ~mask}, named=[(slice(4, 8), slice(4, 10))],
                          ncols=1)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    assert fig.axes[0].get_title() == "a: 8 px"
    with pytest.raises(ValueError, match="shape"):
        plot_real_masks(image, {"a": mask[:10]})
    with pytest.raises(ValueError, match="no masks"):
        plot_real_masks(image, {})
