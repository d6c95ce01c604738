"""Tests of cosmicbook.deepcr.finetune and .imager: adapting the mask to another camera."""

import json

import numpy as np
import pytest

from cosmicbook.darks import DarkCamera
from cosmicbook.deepcr import UNet, load_model
from cosmicbook.deepcr.finetune import (
    FineTuneConfig,
    fine_tune,
    frames_from_clean,
    library_from_darks,
    median_clean,
)
from cosmicbook.deepcr.imager import simulate_imager


@pytest.fixture(scope="module")
def darks():
    camera = DarkCamera((256, 256), detector_seed=3)
    return [d.data for d in camera.expose_many([300.0] * 3, seed=3, progress=False)], camera


@pytest.fixture(scope="module")
def library(darks):
    frames, camera = darks
    return library_from_darks(frames, gain=camera.gain, exptime=300.0)


def test_library_from_darks(library, darks):
    _, camera = darks
    assert len(library) > 3 and library.gain == camera.gain
    with pytest.raises(ValueError, match="empty"):
        library_from_darks([], gain=1.5, exptime=300.0)
    with pytest.raises(ValueError, match="at least 3"):
        library_from_darks([np.zeros((64, 64))] * 2, gain=1.5, exptime=300.0)
    with pytest.raises(ValueError, match="different shapes"):
        library_from_darks([np.zeros((64, 64))] * 2 + [np.zeros((64, 32))], gain=1.5,
                           exptime=300.0)
    bad = np.zeros((64, 64))
    bad[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        library_from_darks([bad] * 3, gain=1.5, exptime=300.0)


def test_median_clean_removes_a_cosmic():
    rng = np.random.default_rng(0)
    exposures = [rng.normal(100, 3, (32, 32)) for _ in range(5)]
    exposures[2][10, 10] += 5000
    clean = median_clean(exposures)
    assert clean[10, 10] < 120
    with pytest.raises(ValueError, match="at least 3"):
        median_clean(exposures[:2])


def test_imager_psf_and_noise():
    tile = simulate_imager((128, 128), psf_sigma=0.6, seed=1)
    assert tile.clean.shape == (128, 128)
    # an undersampled PSF: a centred star's neighbour holds a third of its peak (DESI: 0.8)
    assert tile.psf_gradients[0] == pytest.approx(0.33, abs=0.01)
    assert np.median(tile.clean) == pytest.approx(150.0, abs=3.0)
    with pytest.raises(ValueError, match="psf_sigma"):
        simulate_imager((64, 64), psf_sigma=0.0)


def test_frames_from_clean_noise_and_truth(library):
    clean = [np.full((128, 128), 200.0, np.float32)]
    frames = frames_from_clean(clean, library, 4.0, n_exposures=None, exptime=20000.0)
    f = frames[0]
    assert f.mask.any()
    quiet = ~f.mask
    assert np.std(f.image[quiet]) == pytest.approx(np.sqrt(16 + 200), rel=0.1)
    assert np.all(f.signal[~f.mask] == 0)
    with pytest.raises(ValueError, match="read_noise"):
        frames_from_clean(clean, library, -1.0)
    with pytest.raises(ValueError, match="empty"):
        frames_from_clean([], library, 4.0)


def test_fine_tune_saves_atomically_and_keeps_old_file_on_failure(tmp_path, library):
    clean = [simulate_imager((128, 128), seed=s).clean for s in range(2)]
    out = tmp_path / "mine.pt"
    start = UNet(2, 4)
    config = FineTuneConfig(max_minutes=0.2, max_epochs=1, frames_per_clean=1)
    result = fine_tune(clean, library, 4.0, model=start, n_exposures=5, config=config,
                       out=out)
    assert result.path == out and out.is_file()
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["fine_tuned"] and meta["epochs"] == 1
    # the starting model is not changed, the result is
    assert not all(np.array_equal(a.detach(), b.detach()) for a, b in
                   zip(start.parameters(), result.model.parameters(), strict=True))
    loaded = load_model(out)
    assert loaded.name == "2-4"
    before = out.read_bytes()
    with pytest.raises(ValueError, match="smaller than the patch size"):
        fine_tune([np.zeros((64, 64), np.float32)], library, 4.0, model=start, out=out)
    with pytest.raises(ValueError, match="NaN"):
        fine_tune([np.full((128, 128), np.nan, np.float32)], library, 4.0, model=start,
                  out=out)
    assert out.read_bytes() == before
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize("kwargs, match", [
    ({"max_minutes": 0}, "max_minutes"), ({"max_epochs": 0}, "max_epochs"),
    ({"val_fraction": 1.0}, "val_fraction"), ({"lr": -1.0}, "lr"),
])
def test_fine_tune_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FineTuneConfig(**kwargs)
