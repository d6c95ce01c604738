"""``cosmicbook mask IN.fits OUT.fits``: on FITS files written here, good and bad."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from astropy.io import fits

from cosmicbook.cli import main
from cosmicbook.deepcr.inference import save_model
from cosmicbook.deepcr.model import UNet


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A small 2-4 net that finds the bright pixels of these test frames."""
    torch.manual_seed(0)
    net = UNet(2, 4).eval()
    return save_model(net, tmp_path_factory.mktemp("w") / "tiny.pt")


def _frame(dtype=np.float32, shape=(64, 80)):
    rng = np.random.default_rng(0)
    image = rng.normal(100.0, 4.0, shape)
    image[20, 10:40] += 3000.0
    return image.astype(dtype)


def _write(path, data, header=None, extname=None):
    hdr = fits.Header(header or {})
    if extname is None:
        fits.PrimaryHDU(data, header=hdr).writeto(path)
    else:
        fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(data, header=hdr, name=extname)]) \
            .writeto(path)
    return path


def test_masks_a_fits_file_with_the_shipped_weights(tmp_path):
    src = _write(tmp_path / "in.fits", _frame(), {"EXPTIME": 900.0, "CAMERA": "r1"})
    out = tmp_path / "out.fits"
    assert main(["mask", str(src), str(out), "-q"]) == 0
    with fits.open(out) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "MASK", "PROB"]
        assert hdul[0].header["EXPTIME"] == 900.0 and hdul[0].header["CAMERA"] == "r1"
        assert hdul[0].header["CRTHRESH"] == 0.5
        mask, prob = hdul["MASK"].data, hdul["PROB"].data
        assert mask.dtype == np.uint8 and mask.shape == (64, 80)
        assert prob.dtype.kind == "f" and 0 <= prob.min() and prob.max() <= 1
        assert np.array_equal(mask, (prob > 0.5).astype(np.uint8))
        assert mask[20, 12:38].mean() > 0.9  # the track
        assert mask.sum() < 100  # and not much else
        assert hdul[0].header["CRNPIX"] == mask.sum()


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint16, np.float64])
def test_integer_and_double_frames(tmp_path, weights, dtype):
    src = _write(tmp_path / "in.fits", _frame(dtype), extname="IMAGE")
    out = tmp_path / "out.fits"
    assert main(["mask", str(src), str(out), "--hdu", "IMAGE", "--weights", str(weights),
                 "--threshold", "0.9", "--no-prob", "-q"]) == 0
    with fits.open(out) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "MASK"]
        assert hdul[0].header["CRTHRESH"] == 0.9


def _assert_fails(tmp_path, argv, capsys, match):
    out = tmp_path / "out.fits"
    assert main(["mask", *argv, str(out)]) == 1
    assert match in capsys.readouterr().err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.fits*"))  # no temporary left over


def test_nan_frame_fails_cleanly(tmp_path, capsys):
    image = _frame()
    image[5, 5] = np.nan
    _assert_fails(tmp_path, [str(_write(tmp_path / "in.fits", image))], capsys, "NaN")


def test_cube_fails_cleanly(tmp_path, capsys):
    cube = np.zeros((2, 16, 16), np.float32)
    _assert_fails(tmp_path, [str(_write(tmp_path / "in.fits", cube)), "--hdu", "0"], capsys,
                  "not a 2-D image")
    _assert_fails(tmp_path, [str(tmp_path / "in.fits")], capsys, "no 2-D image")


def test_table_hdu_fails_cleanly(tmp_path, capsys):
    table = fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=[1.0])])
    path = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    _assert_fails(tmp_path, [str(path), "--hdu", "1"], capsys, "not an image")


def test_missing_hdu_and_file_fail_cleanly(tmp_path, capsys):
    src = _write(tmp_path / "in.fits", _frame())
    _assert_fails(tmp_path, [str(src), "--hdu", "3"], capsys, "no HDU 3")
    _assert_fails(tmp_path, [str(src), "--hdu", "SCI"], capsys, "no HDU 'SCI'")
    _assert_fails(tmp_path, [str(tmp_path / "nothere.fits")], capsys, "no such")
    (tmp_path / "text.fits").write_text("not fits")
    _assert_fails(tmp_path, [str(tmp_path / "text.fits")], capsys, "not a readable FITS")


def test_existing_output_needs_overwrite(tmp_path, weights, capsys):
    src = _write(tmp_path / "in.fits", _frame())
    out = tmp_path / "out.fits"
    out.write_text("keep me")
    assert main(["mask", str(src), str(out), "--weights", str(weights)]) == 1
    assert "--overwrite" in capsys.readouterr().err and out.read_text() == "keep me"
    assert main(["mask", str(src), str(out), "--weights", str(weights), "--overwrite"]) == 0
    assert "pixels flagged" in capsys.readouterr().out
    assert main(["mask", str(src), str(src), "--overwrite"]) == 1


def test_bad_threshold_is_an_argument_error(tmp_path):
    with pytest.raises(SystemExit) as err:
        main(["mask", "a.fits", "b.fits", "--threshold", "2"])
    assert err.value.code == 2


def test_module_entry_point_is_the_mask_subcommand(tmp_path, weights, capsys):
    """``python -m cosmicbook.deepcr.cli IN OUT`` parses like ``cosmicbook mask IN OUT``."""
    from cosmicbook.deepcr.cli import main as mask_main

    src = _write(tmp_path / "in.fits", _frame())
    assert mask_main([str(src), str(tmp_path / "a.fits"), "--weights", str(weights)]) == 0
    assert main(["mask", str(src), str(tmp_path / "b.fits"), "--weights", str(weights)]) == 0
    with fits.open(tmp_path / "a.fits") as a, fits.open(tmp_path / "b.fits") as b:
        assert np.array_equal(a["MASK"].data, b["MASK"].data)
    capsys.readouterr()
    with pytest.raises(SystemExit) as err:
        mask_main(["a.fits", "b.fits", "--threshold", "2"])
    assert err.value.code == 2
    assert "usage: cosmicbook mask" in capsys.readouterr().err


_SCRIPT = Path(sys.executable).with_name("cosmicbook")
_EXE = str(_SCRIPT) if _SCRIPT.exists() else shutil.which("cosmicbook")


@pytest.mark.skipif(_EXE is None, reason="console script not installed (pip install -e .)")
def test_console_script(tmp_path, weights):
    exe = _EXE
    src = _write(tmp_path / "in.fits", _frame())
    proc = subprocess.run([exe, "mask", str(src), str(tmp_path / "o.fits"), "--weights",
                           str(weights)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([exe, "mask", str(tmp_path / "x.fits"), str(tmp_path / "p.fits")],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "no such" in proc.stderr
