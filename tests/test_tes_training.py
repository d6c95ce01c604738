"""CRAB training: both losses, both optimizers, determinism, exact resumes, bad input."""

import numpy as np
import pytest
import torch

from cosmicbook import tes

SMALL = dict(iterations=4, log_every=2, batch_size=4, pretrain_steps=2)


def _train(train, flux=None, *, arch=None, seed=0, monitor=None, monitor_flux=None,
           checkpoint=None, **settings):
    """Build a CRAB for ``train`` and train it; returns ``(model, history)``."""
    model = tes.build_crab(train, flux, arch, seed=seed)
    history = tes.train_gan(model, train, flux, tes.GANConfig(**{**SMALL, **settings}),
                            monitor=monitor, monitor_flux=monitor_flux, seed=seed,
                            checkpoint=checkpoint, progress=False)
    return model, history


@pytest.fixture(scope="module")
def data():
    train = tes.simulate_tod(24, seed=0, progress=False)
    monitor = tes.simulate_tod(8, seed=1, progress=False)
    flux = np.exp(np.random.default_rng(0).uniform(-0.7, 0.7, 24))
    return train, monitor, flux


def test_compress_expand_round_trip():
    x = np.array([-1e3, -3.0, 0.0, 0.5, 80.0])
    assert np.allclose(tes.expand(tes.compress(x, 3.0), 3.0), x)
    assert np.allclose(tes.compress(x[2:4], 3.0), x[2:4] / 3.0, atol=1e-2)  # linear for noise
    t = torch.tensor(x)
    assert torch.allclose(tes.expand(tes.compress(t)), t)


@pytest.mark.parametrize("loss, opt", [("bce", "sgd"), ("wgan-gp", "adam")])
def test_training_runs_logs_and_is_deterministic(data, loss, opt):
    train, monitor, _ = data
    m1, h1 = _train(train, loss=loss, d_optimizer=opt, monitor=monitor, seed=3)
    m2, h2 = _train(train, loss=loss, d_optimizer=opt, monitor=monitor, seed=3)
    assert len(h1) == 2 and h1["iteration"] == [2, 4]
    for key in ("d_loss", "d_real", "d_fake", "diversity", "psd_dev", "corr_dev", "gp"):
        assert np.all(np.isfinite(h1[key])), key
    assert h1["train_loss"] == h2["train_loss"]
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    if loss == "wgan-gp":
        assert all(g > 0 for g in h1["gp"])
    assert not m1.training and m1.loss == loss
    out = m1.generate(3, seed=0)
    assert out.shape == (3, 4, 1060) and out.dtype == np.float32 and np.isfinite(out).all()
    assert np.array_equal(out, m1.generate(3, seed=0))


def test_resume_is_exact(data, tmp_path):
    train, monitor, flux = data
    kw = dict(loss="wgan-gp", d_optimizer="sgd", seed=5, monitor=monitor,
              monitor_flux=np.ones(8))
    straight, hist = _train(train, flux, iterations=6, **kw)
    ckpt = tmp_path / "crab.pt"
    _train(train, flux, iterations=4, checkpoint=ckpt, **kw)   # interrupted after 2 rounds
    resumed, h_res = _train(train, flux, iterations=6, checkpoint=ckpt, **kw)
    assert h_res["train_loss"] == hist["train_loss"] and len(h_res) == 3
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="other settings"):
        _train(train, flux, iterations=6, checkpoint=ckpt, **{**kw, "loss": "bce"})
    with pytest.raises(ValueError, match="other settings"):  # another architecture
        _train(train, flux, iterations=6, checkpoint=ckpt, arch=tes.CRABConfig(film=True),
               **kw)


def test_discriminator_pretraining_learns_real_from_untrained_generator(data):
    train, _, _ = data
    _, hist = _train(train, loss="bce", d_optimizer="adam", lr_d=2e-3, seed=0,
                     iterations=1, log_every=1, batch_size=8, pretrain_steps=25)
    assert hist["d_real"][0] > 0.5 > hist["d_fake"][0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(loss="hinge"), "loss"),
    (dict(d_optimizer="rmsprop"), "d_optimizer"),
    (dict(iterations=5, log_every=2), "multiple"),
    (dict(pretrain_steps=-1), "pretrain_steps"),
    (dict(batch_size=0), "batch_size"),
    (dict(n_critic=1.5), "n_critic"),
    (dict(stat_weights={"psf": 1.0}), "unknown stat_weights"),
    (dict(stat_weights={"psd": -1.0}), "non-negative"),
    (dict(ema=1.0), "ema"),
])
def test_gan_config_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tes.GANConfig(**{**SMALL, **kwargs})


@pytest.mark.parametrize("kwargs, match", [
    (dict(scale=0.0), "scale"),
    (dict(latent_dim=0), "latent_dim"),
    (dict(red_noise=True), "white_noise"),
])
def test_crab_config_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tes.CRABConfig(**kwargs)


def test_configs_from_profile_and_replace():
    cfg = tes.PROFILES["ci"]
    gan, arch = tes.GANConfig.from_profile(cfg), tes.CRABConfig.from_profile(cfg)
    assert gan.iterations == cfg["iterations"] and gan.lr_d == cfg["lr_d_sgd"]
    assert gan.active_stat_weights == {"psd": 10.0, "correlation": 10.0, "quantile": 10.0,
                                       "glitch": 2.0}
    assert arch.film == cfg["film"] and arch.scale == cfg["scale"]
    assert gan.replace(loss="wgan-gp").loss == "wgan-gp" and gan.loss == "bce"
    assert tes.GANConfig(**gan.as_dict()) == gan


def test_bad_training_data_and_mismatched_models_raise(data):
    train, _, flux = data
    model = tes.build_crab(train, None, seed=0)
    with pytest.raises(ValueError, match="shape"):
        tes.train_gan(model, train[0], progress=False)
    bad = train.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tes.train_gan(model, bad, progress=False)
    with pytest.raises(ValueError, match="flux"):
        tes.build_crab(train, np.ones(3))
    with pytest.raises(ValueError, match="conditional"):  # flux for an unconditional model
        tes.train_gan(model, train, flux, progress=False)
    with pytest.raises(ValueError, match="samples"):
        tes.train_gan(model, train[:, :, :530], progress=False)
    with pytest.raises(ValueError, match="GANConfig"):
        tes.train_gan(model, train, None, {"loss": "bce"}, progress=False)
    with pytest.raises(ValueError, match="CRAB"):
        tes.train_gan(model.generator, train, progress=False)


def test_statistic_losses_are_logged(data):
    train, monitor, flux = data
    weights = {"psd": 1.0, "correlation": 5.0, "quantile": 5.0, "peak": 5.0, "glitch": 5.0}
    _, hist = _train(train, flux, loss="wgan-gp", d_optimizer="adam", seed=3,
                     stat_weights=weights, stat_groups=2)
    for key in weights:
        assert np.all(np.isfinite(hist[f"stat_{key}"])) and min(hist[f"stat_{key}"]) >= 0


def test_film_and_white_noise_options_build_and_start_from_the_data(data):
    train, monitor, flux = data
    arch = tes.CRABConfig(film=True, white_noise=True, red_noise=True, bounded=True)
    model, _ = _train(train, flux, arch=arch, loss="wgan-gp", d_optimizer="adam", seed=3,
                      stat_weights={"glitch": 1.0})
    g = model.generator
    assert len(g.film) == 3 and g.white is not None and g.red is not None
    assert g.config()["film"]
    assert g.out_bound == pytest.approx(1.5 * np.abs(tes.compress(train)).max())
    assert np.abs(model.generate(20, 2.0, seed=0, compressed=True)).max() < g.out_bound + 1.0
    # the white-noise layer starts at the training data's white noise (and moved little)
    cov = tes.metrics.white_noise_covariance(train)
    learned = (g.white.matrix @ g.white.matrix.T).detach().numpy()
    assert np.allclose(learned, cov, atol=0.05)
    rebuilt = tes.CRAB.from_config(model.config())
    rebuilt.load_state_dict(model.state_dict())
    assert np.allclose(rebuilt.generate(3, 2.0, seed=1), model.generate(3, 2.0, seed=1))


def test_stat_losses_compute_only_the_names_asked_for(data):
    train, _, flux = data
    real = tes.compress(torch.from_numpy(train[:8]).float())
    fake = real + 0.05 * torch.randn_like(real)
    cond = torch.from_numpy(np.log(flux[:8])).float()
    out = tes.stat_losses(fake, real, cond, groups=2, names=("glitch",))
    assert set(out) == {"glitch"} and float(out["glitch"]) >= 0
    with pytest.raises(ValueError, match="unknown"):
        tes.stat_losses(fake, real, names=("psf",))


def test_ema_generator_is_an_average_and_resumes_exactly(data, tmp_path):
    train, monitor, flux = data
    arch = tes.CRABConfig(film=True, white_noise=True)
    kw = dict(arch=arch, loss="wgan-gp", d_optimizer="adam", seed=5, monitor=monitor,
              monitor_flux=np.ones(8))
    last, _ = _train(train, flux, iterations=4, **kw)
    avg, hist = _train(train, flux, iterations=4, ema=0.5, **kw)
    # same training run, different returned weights: between init and the last iterate
    init = tes.build_crab(train, flux, arch, seed=5)
    w_last = last.generator.dense[0].weight
    w_avg = avg.generator.dense[0].weight
    w_init = init.generator.dense[0].weight
    assert not torch.allclose(w_avg, w_last)
    assert (w_avg - w_init).norm() < (w_last - w_init).norm()
    ckpt = tmp_path / "ema.pt"
    _train(train, flux, iterations=2, ema=0.5, checkpoint=ckpt, **kw)
    resumed, h_res = _train(train, flux, iterations=4, ema=0.5, checkpoint=ckpt, **kw)
    assert h_res["psd_dev"] == hist["psd_dev"]
    for a, b in zip(avg.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
