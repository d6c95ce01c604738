import hashlib
import json

import numpy as np
import pytest
from astropy.io import fits

from cosmicbook.core.io import data_registry, fetch, read_image, write_image


def test_roundtrip_primary(tmp_path):
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = write_image(tmp_path / "a.fits", image, header={"EXPTIME": 300.0})
    back, header = read_image(path)
    np.testing.assert_array_equal(back, image)
    assert header["EXPTIME"] == 300.0


def test_named_extension_and_auto_detection(tmp_path):
    image = np.ones((5, 6), dtype=np.int16) * 7
    path = write_image(tmp_path / "b.fits", image, extname="R1")
    back, _ = read_image(path)          # primary is empty: the first 2-D image is taken
    assert back.dtype == np.float32 and back.shape == (5, 6) and back[0, 0] == 7
    back, _ = read_image(path, hdu="R1")
    assert back.sum() == 7 * 30


def test_compressed_image(tmp_path):
    image = np.random.default_rng(1).integers(0, 4000, size=(32, 32)).astype(np.int32)
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(image, name="SCI")])
    hdul.writeto(tmp_path / "c.fits.fz")
    back, _ = read_image(tmp_path / "c.fits.fz", hdu="SCI")
    np.testing.assert_array_equal(back, image)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such FITS file"):
        read_image(tmp_path / "nope.fits")


def test_table_only_file(tmp_path):
    table = fits.BinTableHDU.from_columns([fits.Column(name="x", format="E", array=[1.0])],
                                          name="CAT")
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(tmp_path / "t.fits")
    with pytest.raises(ValueError, match="no 2-D image in any HDU.*CAT"):
        read_image(tmp_path / "t.fits")
    with pytest.raises(ValueError, match="HDU 'CAT' .* holds no 2-D image"):
        read_image(tmp_path / "t.fits", hdu="CAT")
    with pytest.raises(ValueError, match="has no HDU 'SCI'"):
        read_image(tmp_path / "t.fits", hdu="SCI")


def test_not_fits(tmp_path):
    path = tmp_path / "x.fits"
    path.write_text("not a fits file")
    with pytest.raises(ValueError, match="not a readable FITS file"):
        read_image(path)


def test_write_rejects_3d(tmp_path):
    with pytest.raises(ValueError, match="2-D"):
        write_image(tmp_path / "x.fits", np.zeros((2, 2, 2)))


def test_registry_of_repository_is_valid():
    registry = data_registry()
    assert registry, "cosmicbook/core/registry.json lists no files"
    for name, entry in registry.items():
        assert {"url", "description"} <= set(entry), name


def test_fetch_downloads_verifies_and_caches(tmp_path):
    payload = b"a small dark frame stand-in"
    src = tmp_path / "remote.bin"
    src.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    registry = {"demo": {"url": src.as_uri(), "sha256": digest, "filename": "demo.bin"}}
    cache = tmp_path / "cache"
    path = fetch("demo", registry=registry, directory=cache)
    assert path.read_bytes() == payload
    src.unlink()                                   # now only the cache can answer
    assert fetch("demo", registry=registry, directory=cache) == path
    bad = {"demo2": {"url": path.as_uri(), "sha256": "0" * 64}}
    with pytest.raises(ValueError, match="checksum mismatch"):
        fetch("demo2", registry=bad, directory=tmp_path / "c2")
    with pytest.raises(ValueError, match="unknown data file"):
        fetch("nope", registry=registry, directory=cache)
    gone = {"gone": {"url": (tmp_path / "missing.bin").as_uri()}}
    with pytest.raises(OSError, match="fetch it by hand"):
        fetch("gone", registry=gone, directory=cache)


def test_registry_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        data_registry(tmp_path / "none.json")
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"files": {"a": {"url": "file:///x", "description": "d"}}}))
    assert data_registry(path) == {"a": {"url": "file:///x", "description": "d"}}
