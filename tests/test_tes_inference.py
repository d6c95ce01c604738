"""Generating with a CRAB GAN: flux conditions, saving, loading, the shipped weights."""

import numpy as np
import pytest

from cosmicbook import tes
from cosmicbook.tes.inference import DEFAULT_WEIGHTS, WEIGHTS_DIR

SMALL = tes.GANConfig(iterations=2, log_every=2, batch_size=4, pretrain_steps=1)


@pytest.fixture(scope="module")
def data():
    train = tes.simulate_tod(16, seed=0, progress=False)
    monitor = tes.simulate_tod(8, seed=1, progress=False)
    flux = np.exp(np.random.default_rng(0).uniform(-0.7, 0.7, 16))
    return train, monitor, flux


def test_conditional_model_and_inference_io(data, tmp_path):
    train, monitor, flux = data
    model = tes.build_crab(train, flux, seed=1)
    tes.train_gan(model, train, flux, SMALL, monitor=monitor, monitor_flux=np.ones(8), seed=1,
                  progress=False)
    assert model.conditional
    a = tes.generate(2, model=model, flux=0.5, seed=1)
    b = tes.generate(2, model=model, flux=2.0, seed=1)
    assert a.shape == (2, 4, 1060) and not np.array_equal(a, b)
    assert np.array_equal(tes.generate(2, model=model, seed=1),
                          tes.generate(2, model=model, flux=1.0, seed=1))
    with pytest.raises(ValueError, match="flux"):
        tes.generate(2, model=model, flux=-1.0)
    path = tes.save_model(model, tmp_path / "w.pt", profile="ci", metrics={"x": np.float64(1)})
    assert path.with_suffix(".json").exists()
    loaded = tes.load_model(path)
    assert np.array_equal(tes.generate(2, model=loaded, flux=0.5, seed=1), a)
    assert np.array_equal(tes.generate(2, model=path, flux=0.5, seed=1), a)
    with pytest.raises(FileNotFoundError):
        tes.load_model(tmp_path / "missing.pt")
    uncond = tes.build_crab(train, seed=1)
    tes.train_gan(uncond, train, None, SMALL, seed=1, progress=False)
    with pytest.raises(ValueError, match="unconditional"):
        uncond.generate(2, flux=1.0)
    with pytest.raises(ValueError, match="n_segments"):
        uncond.generate(0)


@pytest.mark.skipif(not (WEIGHTS_DIR / DEFAULT_WEIGHTS).exists(),
                    reason="no shipped weights yet (run notebooks/05_crab in the book profile)")
def test_shipped_weights_generate_tod():
    model = tes.load_model()
    assert model.n_bolometers == 4 and model.n_samples == 1060
    out = tes.generate(3, seed=0)
    assert out.shape == (3, 4, 1060) and np.isfinite(out).all()
    # sigma units: the high-passed noise of generated TOD is of order one
    sigma = tes.robust_sigma(np.diff(out, axis=-1)) / np.sqrt(2)
    assert 0.5 < sigma < 2.0
    if model.conditional:  # the condition reaches the generator (quality is not asserted)
        assert not np.array_equal(tes.generate(2, flux=0.5, seed=1),
                                  tes.generate(2, flux=2.0, seed=1))
