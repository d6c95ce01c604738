"""dla.find_dlas_catalogue: a catalogue of spectrum files on Dask, one of them corrupt."""

import numpy as np
import pytest
from astropy.table import Table

pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings("ignore:File may have been truncated")

from cosmicbook import dla  # noqa: E402
from cosmicbook.core import batch  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with batch.connect(workers=1, threads_per_worker=1, processes=False) as c:
        yield c


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """Three simulated spectra, one truncated file, one spectrum without a redshift."""
    folder = tmp_path_factory.mktemp("spectra")
    lines = dla.simulate_sightlines(4, seed=7, progress_bar=False)
    for i, s in enumerate(lines[:3]):
        dla.write_spectrum(folder / f"spec-{i}.fits", s.wave, s.flux, s.ivar, s.z_qso)
    whole = (folder / "spec-0.fits").read_bytes()
    (folder / "spec-3-cut.fits").write_bytes(whole[: len(whole) // 3])
    s = lines[3]
    dla.write_spectrum(folder / "spec-4-noz.fits", s.wave, s.flux, s.ivar, None)
    return folder, lines


def test_catalogue_matches_find_dlas_and_lists_the_bad_files(catalogue, client, tmp_path):
    folder, lines = catalogue
    out = tmp_path / "dlas.ecsv"
    result = dla.find_dlas_catalogue(folder, out, client=client, progress=False)
    summary = result.summary
    assert [str(s) for s in summary["status"]] == ["ok", "ok", "ok", "failed", "failed"]
    assert list(summary["n_absorbers"][3:]) == [-1, -1]
    assert "spec-3-cut.fits" in summary["input"][3] and summary["error"][3]
    assert "records no quasar redshift" in summary["error"][4]
    dlas = result.dlas
    assert dlas.colnames[:2] == ["file", "z_qso"]
    for i, s in enumerate(lines[:3]):
        mine = dlas[dlas["file"] == f"spec-{i}.fits"]
        direct = dla.find_dlas(s.wave, s.flux, s.ivar, s.z_qso)
        assert len(mine) == len(direct) == summary["n_absorbers"][i]
        assert np.allclose(mine["z_abs"], direct["z_abs"], rtol=0, atol=1e-4)
        assert np.allclose(mine["z_qso"], s.z_qso)
    assert len(dlas) > 0  # the simulated sightlines hold absorbers
    written = Table.read(out)
    assert len(written) == len(dlas) and list(written["file"]) == list(dlas["file"])
    assert "5 spectra: 3 searched, 2 failed" in result.describe()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        dla.find_dlas_catalogue(folder, out, client=client)
    again = dla.find_dlas_catalogue(folder, out, client=client, progress=False,
                                    overwrite=True)
    assert len(again.dlas) == len(dlas)


def test_bad_input_before_any_work(catalogue, tmp_path):
    folder, _ = catalogue
    with pytest.raises(FileNotFoundError, match="matches no files"):
        dla.find_dlas_catalogue(str(folder / "*.fz"))
    with pytest.raises(FileNotFoundError, match="no DLA weights"):
        dla.find_dlas_catalogue(folder, model=tmp_path / "none.pt")
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(OSError, match="output directory"):
        dla.find_dlas_catalogue(folder, blocked / "sub" / "dlas.ecsv")
    with pytest.raises(ConnectionError, match="cannot reach"):
        dla.find_dlas_catalogue(folder, scheduler="tcp://127.0.0.1:1", timeout=0.5)
    with pytest.raises(TypeError, match="unexpected option"):
        dla.find_dlas_catalogue(folder, strides=2)
