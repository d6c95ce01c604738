"""Batch masks on Dask: inputs, atomic outputs, re-runs, one bad file, errors before work."""

import os
import sys
import time

import numpy as np
import pytest
import torch
from astropy.io import fits
from astropy.table import Table

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings("ignore:File may have been truncated")

from cosmicbook.cli import main  # noqa: E402
from cosmicbook.core import batch  # noqa: E402
from cosmicbook.deepcr import mask_files, predict_mask  # noqa: E402
from cosmicbook.deepcr.inference import load_model, save_model  # noqa: E402
from cosmicbook.deepcr.model import UNet  # noqa: E402


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    return save_model(UNet(2, 4).eval(), tmp_path_factory.mktemp("w") / "tiny.pt")


@pytest.fixture(scope="module")
def client():
    """A LocalCluster inside this process: one worker, one thread."""
    with batch.connect(workers=1, threads_per_worker=1, processes=False) as c:
        yield c


@pytest.fixture(scope="module")
def process_client():
    """A LocalCluster of one real worker process (one thread)."""
    with batch.connect(workers=1, threads_per_worker=1) as c:
        yield c


def _frame(seed, shape=(64, 80)):
    rng = np.random.default_rng(seed)
    image = rng.normal(100.0, 4.0, shape)
    image[20, 10:40] += 3000.0
    return image.astype(np.float32)


def _night(folder, n=3, corrupt=True):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        fits.PrimaryHDU(_frame(i), header=fits.Header({"EXPNUM": i})) \
            .writeto(folder / f"frame-{i}.fits")
    if corrupt:  # a copy cut short: a valid header, a third of the data
        whole = (folder / "frame-0.fits").read_bytes()
        (folder / "frame-bad.fits").write_bytes(whole[:2880 + 7000])
    return folder


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# --- inputs and outputs ---------------------------------------------------------------------

def test_expand_inputs_globs_directories_and_lists(tmp_path):
    night = _night(tmp_path / "night", corrupt=False)
    (night / "notes.txt").write_text("not an input")
    names = [p.name for p in batch.expand_inputs(night)]
    assert names == ["frame-0.fits", "frame-1.fits", "frame-2.fits"]
    assert [p.name for p in batch.expand_inputs(str(night / "*-1.fits"))] == ["frame-1.fits"]
    listing = tmp_path / "list.txt"
    listing.write_text("# tonight\nnight/frame-2.fits\n\nnight/frame-0.fits\nnight/*-2.fits\n")
    assert [p.name for p in batch.expand_inputs(f"@{listing}")] == \
        ["frame-2.fits", "frame-0.fits"]  # relative to the list file, duplicates dropped
    with pytest.raises(FileNotFoundError, match="matches no files"):
        batch.expand_inputs(str(night / "*.fz"))
    with pytest.raises(FileNotFoundError, match="holds no files matching"):
        batch.expand_inputs(tmp_path / "night" / "..", patterns=("*.fz",))
    with pytest.raises(FileNotFoundError, match="2 input\\(s\\) do not exist: a.fits, b.fits"):
        batch.expand_inputs(["a.fits", night, "b.fits"])
    with pytest.raises(FileNotFoundError, match="list file"):
        batch.expand_inputs("@nothere.txt")
    with pytest.raises(ValueError, match="no inputs"):
        batch.expand_inputs([])


def test_output_paths(tmp_path):
    outs = batch.output_paths(["a/x.fits.fz", "a/y.fit"], tmp_path, suffix="_mask")
    assert [p.name for p in outs] == ["x_mask.fits", "y_mask.fits"]
    with pytest.raises(ValueError, match="would both write"):
        batch.output_paths(["a/x.fits", "b/x.fits.gz"], tmp_path)
    with pytest.raises(ValueError, match="would overwrite it"):
        batch.output_paths([tmp_path / "x.fits"], tmp_path)


def test_unwritable_output_directory(tmp_path):
    regular = tmp_path / "file.txt"
    regular.write_text("")
    with pytest.raises(NotADirectoryError, match="is an existing file"):
        batch.check_output_dir(regular)
    with pytest.raises(OSError, match="cannot write to the output directory"):
        batch.check_output_dir(regular / "masks")  # below a regular file: never writable
    assert batch.check_output_dir(tmp_path / "new" / "dir").is_dir()
    assert not _leftovers(tmp_path / "new" / "dir")


def test_unreachable_scheduler_fails_fast():
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="cannot reach the Dask scheduler at "
                                              "tcp://127.0.0.1:1 within 1 s"):
        batch.connect("tcp://127.0.0.1:1", timeout=1.0)
    assert time.perf_counter() - start < 10
    with pytest.raises(FileNotFoundError, match="neither a scheduler address"):
        batch.connect("no-scheduler.json")


# --- map_files ------------------------------------------------------------------------------

def _copy_upper(src, tmp, fail_on=""):
    text = src.read_text()
    tmp.write_text("half")  # a crash after this must leave no output
    if fail_on and fail_on in src.name:
        raise ValueError(f"cannot read {src.name}")
    tmp.write_text(text.upper())
    return len(text)


def test_map_files_atomic_skip_and_one_bad_file(tmp_path, client):
    inputs = []
    for name in ("a", "b", "c"):
        inputs.append(tmp_path / f"{name}.txt")
        inputs[-1].write_text(name * 3)
    out = tmp_path / "out"
    outputs = batch.output_paths(inputs, out, extension=".txt")
    result = batch.map_files(_copy_upper, inputs, outputs, client=client, progress=False,
                             kwargs={"fail_on": "b"})
    summary = result.summary
    assert list(summary.colnames) == ["input", "output", "status", "seconds", "error"]
    assert list(summary["status"]) == ["ok", "failed", "ok"]
    assert summary["error"][1] == "ValueError: cannot read b.txt"
    assert result.values == [3, None, 3] and result.count("failed") == 1
    assert (out / "a.txt").read_text() == "AAA" and not (out / "b.txt").exists()
    assert not _leftovers(out)
    assert str(summary["seconds"].unit) == "s" and summary.meta["workers"] == 1
    again = batch.map_files(_copy_upper, inputs, outputs, client=client, progress=False)
    assert list(again.summary["status"]) == ["skipped", "ok", "skipped"]
    assert "3 inputs: 1 ok, 2 skipped, 0 failed" in again.describe()
    redo = batch.map_files(_copy_upper, inputs, outputs, client=client, progress=False,
                           skip_existing=False)
    assert list(redo.summary["status"]) == ["ok"] * 3


def test_map_files_errors_before_any_work(tmp_path, client):
    src = tmp_path / "a.txt"
    src.write_text("a")
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(OSError, match="output directory"):
        batch.map_files(_copy_upper, [src], [blocked / "out" / "a.txt"], client=client)
    with pytest.raises(FileNotFoundError, match="do not exist"):
        batch.map_files(_copy_upper, [tmp_path / "gone.txt"], [tmp_path / "o.txt"])
    with pytest.raises(ValueError, match="2 outputs"):
        batch.map_files(_copy_upper, [src], [tmp_path / "o1", tmp_path / "o2"])
    with pytest.raises(ConnectionError):
        batch.map_files(_copy_upper, [src], [tmp_path / "o.txt"],
                        scheduler="tcp://127.0.0.1:1", timeout=0.5)
    assert not (tmp_path / "o.txt").exists()


# --- deepcr.mask_files and the CLI ------------------------------------------------------------

def test_mask_files_matches_predict_mask(tmp_path, weights, client):
    night = _night(tmp_path / "night")
    result = mask_files(night, tmp_path / "masks", weights=weights, client=client,
                        progress=False, threshold=0.5)
    summary = result.summary
    assert list(summary["status"]) == ["ok", "ok", "ok", "failed"]
    assert "frame-bad.fits" in summary["input"][3] and summary["n_masked"][3] == -1
    assert summary["error"][3].startswith("ValueError: the data of")
    assert "truncated" in summary["error"][3]
    prob = predict_mask(_frame(1), load_model(weights))
    with fits.open(tmp_path / "masks" / "frame-1_mask.fits") as hdul:
        assert np.array_equal(hdul["PROB"].data, prob)
        assert np.array_equal(hdul["MASK"].data, (prob > 0.5).astype(np.uint8))
        assert hdul[0].header["EXPNUM"] == 1 and hdul[0].header["CRSOURCE"] == "frame-1.fits"
    assert summary["n_masked"][1] == int((prob > 0.5).sum())


def test_cli_on_a_directory_with_a_corrupt_file(tmp_path, weights, process_client, capsys):
    """`cosmicbook mask DIR --out-dir OUT` on its own LocalCluster, then again on a running
    scheduler (--scheduler ADDRESS): the second run skips what the first finished."""
    night = _night(tmp_path / "night")
    out = tmp_path / "masks"
    summary = tmp_path / "summary.ecsv"
    argv = ["mask", str(night), "--out-dir", str(out), "--weights", str(weights),
            "--summary", str(summary), "-q"]
    assert main([*argv, "--workers", "1"]) == 1  # one input failed
    err = capsys.readouterr().err
    assert "failed: " in err and "frame-bad.fits" in err and "truncated" in err
    table = Table.read(summary)
    assert list(table["status"]) == ["ok", "ok", "ok", "failed"]
    assert "frame-bad.fits" in table["input"][3] and "truncated" in table["error"][3]
    assert sorted(p.name for p in out.iterdir()) == \
        ["frame-0_mask.fits", "frame-1_mask.fits", "frame-2_mask.fits"]  # no temporaries
    for i in range(3):
        with fits.open(out / f"frame-{i}_mask.fits") as hdul:
            assert hdul["MASK"].data.shape == (64, 80)
    stamp = os.stat(out / "frame-0_mask.fits").st_mtime_ns
    address = process_client.scheduler.address
    assert main([*argv, "--scheduler", address]) == 1
    table = Table.read(summary)
    assert list(table["status"]) == ["skipped", "skipped", "skipped", "failed"]
    assert os.stat(out / "frame-0_mask.fits").st_mtime_ns == stamp
    assert not _leftovers(out)


def test_cli_bad_input_stops_before_work(tmp_path, weights, capsys):
    night = _night(tmp_path / "night", corrupt=False)
    blocked = tmp_path / "file"
    blocked.write_text("")
    cases = [
        ([str(night / "*.fz"), "--out-dir", str(tmp_path / "o1")], "matches no files"),
        ([str(night), "--out-dir", str(blocked / "masks")], "output directory"),
        ([str(night), "--out-dir", str(tmp_path / "o2"), "--scheduler", "tcp://127.0.0.1:1",
          "--timeout", "0.5"], "cannot reach the Dask scheduler"),
        ([str(night), "--out-dir", str(tmp_path / "o3"), "--weights",
          str(tmp_path / "none.pt")], "no UNet weights"),
    ]
    for argv, message in cases:
        assert main(["mask", *argv, "-q"]) == 1
        assert message in capsys.readouterr().err
    assert not any((tmp_path / name).exists() and any((tmp_path / name).iterdir())
                   for name in ("o1", "o2", "o3"))


def test_cli_usage_errors(tmp_path):
    for argv in (["a.fits", "b.fits", "c.fits"], ["a.fits", "b.fits", "--workers", "2"],
                 ["a.fits", "--out-dir", "o", "--workers", "0"], ["a.fits", "--bogus"]):
        with pytest.raises(SystemExit) as err:
            main(["mask", *argv])
        assert err.value.code == 2


def test_model_loaded_once_per_worker_process(tmp_path, weights, process_client):
    """A real worker process: five files, one load of the network, one torch thread."""
    night = _night(tmp_path / "night", n=5, corrupt=False)
    client = process_client
    client.run(batch.clear_cache)
    result = mask_files(night, tmp_path / "masks", weights=weights, client=client,
                        progress=False)
    assert list(result.summary["status"]) == ["ok"] * 5
    (info,) = client.run(batch.cache_info).values()
    (threads,) = client.run(torch.get_num_threads).values()
    (pid,) = client.run(os.getpid).values()
    loads = {key: n for key, n in info.items() if key[0] == "deepcr.UNet"}
    assert list(loads.values()) == [1], info
    assert next(iter(loads))[1] == str(weights.resolve())
    assert threads == 1 and pid != os.getpid()


def test_missing_dask_names_the_extra(monkeypatch, tmp_path, capsys):
    src = tmp_path / "a.txt"
    src.write_text("a")
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'cosmicbook\[survey\]'"):
        batch.connect()
    with pytest.raises(ModuleNotFoundError, match="survey"):
        batch.map_files(_copy_upper, [src], [tmp_path / "o" / "a.txt"])
    night = _night(tmp_path / "night", n=1, corrupt=False)
    assert main(["mask", str(night), "--out-dir", str(tmp_path / "m"), "-q"]) == 1
    assert "cosmicbook[survey]" in capsys.readouterr().err
