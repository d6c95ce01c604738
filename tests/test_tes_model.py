"""The CRAB generator and discriminator: the seed's layer tables, shapes, conditions."""

import numpy as np
import pytest
import torch

from cosmicbook import tes


def test_one_bolometer_networks_have_the_seeds_parameter_counts():
    assert tes.count_parameters(tes.Generator(n_channels=1)) == 33766
    assert tes.count_parameters(tes.Discriminator(n_channels=1)) == 10785
    assert tes.SEED_PARAMETERS == {"generator": 33766, "discriminator": 10785}


def test_layer_shapes_follow_the_seed_tables():
    g = tes.Generator(n_channels=4)
    z = torch.randn(3, 100)
    h = g.dense(z).unsqueeze(1)
    lengths = []
    for layer in g.body:
        h = layer(h)
        lengths.append(tuple(h.shape[1:]))
    assert lengths[0] == (8, 265) and lengths[3] == (16, 530) and lengths[6] == (32, 1060)
    assert lengths[-1] == (4, 1060)
    d = tes.Discriminator(n_channels=4)
    x = torch.randn(3, 4, 1060)
    shapes = []
    for layer in d.body:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert (8, 1060) in shapes and (16, 530) in shapes and (32, 106) in shapes
    assert d(torch.randn(3, 4, 1060)).shape == (3,)


def test_conditional_networks_need_and_use_the_condition():
    torch.manual_seed(0)
    g = tes.Generator(n_channels=2, n_cond=1).eval()
    d = tes.Discriminator(n_channels=2, n_cond=1)
    z = torch.randn(4, 100)
    with pytest.raises(ValueError, match="conditional"):
        g(z)
    lo, hi = g(z, torch.full((4, 1), -1.0)), g(z, torch.full((4, 1), 1.0))
    assert lo.shape == (4, 2, 1060) and not torch.allclose(lo, hi)
    with pytest.raises(ValueError, match="conditional"):
        d(lo)
    assert not torch.allclose(d(lo, torch.zeros(4, 1)), d(lo, torch.ones(4, 1)))


def test_output_normalisation_is_a_fixed_affine_map():
    torch.manual_seed(0)
    a = tes.Generator(n_channels=1).eval()
    b = tes.Generator(n_channels=1, out_scale=2.0, out_shift=0.5).eval()
    b.load_state_dict(a.state_dict() | {"out_scale": torch.tensor(2.0),
                                        "out_shift": torch.tensor(0.5)})
    z = torch.randn(2, 100)
    assert torch.allclose(b(z), 2.0 * a(z) + 0.5, atol=1e-6)
    assert tes.count_parameters(b) == 33766


def test_same_padding_layers_keep_the_length():
    from cosmicbook.tes.model import SameConv1d, SameTranspose1d

    x = torch.randn(2, 3, 265)
    assert SameTranspose1d(3, 5, 10, 1)(x).shape == (2, 5, 265)
    assert SameTranspose1d(3, 5, 10, 2)(x).shape == (2, 5, 530)
    assert SameConv1d(3, 5, 10)(x).shape == (2, 5, 265)
    assert SameConv1d(3, 5, 7)(x).shape == (2, 5, 265)


def test_bad_lengths_raise():
    with pytest.raises(ValueError):
        tes.Generator(length=1062)
    with pytest.raises(ValueError):
        tes.Discriminator(length=1064)


def test_noise_inputs_add_56_parameters_and_follow_the_generator():
    plain = tes.Generator(n_channels=1)
    noisy = tes.Generator(n_channels=1, noise=True).eval()
    assert tes.count_parameters(noisy) - tes.count_parameters(plain) == 8 + 16 + 32
    z = torch.randn(2, 100)
    a = noisy(z, generator=torch.Generator().manual_seed(1))
    b = noisy(z, generator=torch.Generator().manual_seed(1))
    c = noisy(z, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.allclose(a, c)
    # without noise amplitude the injected noise has no effect
    for layer in noisy.body:
        if isinstance(layer, tes.model.NoiseInjection):
            torch.nn.init.zeros_(layer.weight)
    assert torch.allclose(noisy(z, generator=torch.Generator().manual_seed(1)),
                          noisy(z, generator=torch.Generator().manual_seed(2)))


def test_discriminator_normalisations():
    torch.manual_seed(0)
    seg = tes.Discriminator(n_channels=1, norm="segment")
    assert tes.count_parameters(seg) == 10785
    torch.manual_seed(0)  # same initial weights, different statistics
    chan = tes.Discriminator(n_channels=1, norm="channel")
    x = torch.randn(2, 1, 1060)
    x[:, :, 500] += 30.0
    assert seg(x).shape == (2,) and not torch.allclose(seg(x), chan(x))
    plain = tes.Discriminator(n_channels=1, norm="none")
    assert tes.count_parameters(plain) == 10785 - 2 * (8 + 8 + 16 + 32)
    with pytest.raises(ValueError, match="norm"):
        tes.Discriminator(norm="batch")


def test_noise_injection_streams_are_independent_per_channel():
    layer = tes.model.NoiseInjection(3, init=2.0)
    out = layer(torch.zeros(50, 3, 200), generator=torch.Generator().manual_seed(0))
    flat = out.transpose(0, 1).reshape(3, -1)
    assert torch.allclose(flat.std(dim=1), torch.full((3,), 2.0), rtol=0.05)
    corr = torch.corrcoef(flat)
    assert (corr - torch.eye(3)).abs().max() < 0.05


def test_film_starts_as_identity_and_conditions_every_stage():
    torch.manual_seed(0)
    plain = tes.Generator(n_channels=2, n_cond=1).eval()
    torch.manual_seed(0)
    film = tes.Generator(n_channels=2, n_cond=1, film=True).eval()
    assert tes.count_parameters(film) - tes.count_parameters(plain) == 2 * (8 + 16 + 32)
    z, c = torch.randn(3, 100), torch.full((3, 1), 0.7)
    assert torch.allclose(film(z, c), plain(z, c))               # zero-initialised
    layer = tes.model.FiLM(4, 1, gain=2.0)
    torch.nn.init.constant_(layer.gamma.weight, 0.25)            # gain x weight = 0.5
    torch.nn.init.constant_(layer.beta.weight, -0.5)
    h = torch.ones(2, 4, 5)
    out = layer(h, torch.tensor([[0.0], [2.0]]))
    assert torch.allclose(out[0], h[0]) and torch.allclose(out[1], torch.zeros(4, 5))
    with pytest.raises(ValueError):
        tes.model.FiLM(4, 0)
    # an unconditional generator ignores film (nothing to modulate with)
    assert len(tes.Generator(n_channels=1, film=True).film) == 0


def test_white_noise_layer_has_the_learned_covariance():
    layer = tes.model.WhiteNoise(3)
    chol = torch.tensor([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.3, 0.2, 0.5]])
    with torch.no_grad():
        layer.weight.copy_(chol + torch.triu(torch.ones(3, 3), 1))  # upper part is masked
    out = layer(torch.zeros(40, 3, 500), generator=torch.Generator().manual_seed(0))
    cov = torch.cov(out.transpose(0, 1).reshape(3, -1))
    assert torch.allclose(cov, chol @ chol.T, atol=0.03)
    assert torch.equal(layer.matrix, chol)


def test_generator_with_white_noise_adds_it_in_sigma_units():
    torch.manual_seed(0)
    g = tes.Generator(n_channels=2, white_noise=3.0).eval()
    assert g.config()["white_noise"] == 3.0
    z = torch.zeros(1, 100).expand(64, -1)                      # identical latent vectors
    with torch.no_grad():
        y = g(z, generator=torch.Generator().manual_seed(0))
    x = 3.0 * torch.sinh(y)
    spread = float(x.std(dim=0).mean())                          # the added noise only
    assert spread == pytest.approx(0.5, rel=0.1)                 # init: 0.5 x identity
    with pytest.raises(ValueError):
        tes.Generator(white_noise=-1.0)


def test_red_noise_layer_has_a_power_law_spectrum_and_the_learned_covariance():
    from scipy import signal

    layer = tes.model.RedNoise(2, init=1.0, alpha=1.0)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 0.0], [0.8, 0.6]]))
        out = layer(torch.zeros(200, 2, 1060), generator=torch.Generator().manual_seed(0))
    freq, psd = signal.welch(out.numpy(), nperseg=256, axis=-1, detrend=False)
    psd = psd.mean(axis=0)
    # 1/f: the power drops by 8 over three octaves (bins 8 -> 64, away from the leakage of
    # the lowest bins); white noise would stay flat
    assert psd[0, 8] / psd[0, 64] == pytest.approx(8.0, rel=0.15)
    # both channels have the same spectrum (unit rows of L) and correlation 0.8
    assert psd[1, 2:20].sum() / psd[0, 2:20].sum() == pytest.approx(1.0, rel=0.1)
    corr = np.corrcoef(out.transpose(0, 1).reshape(2, -1).numpy())[0, 1]
    assert corr == pytest.approx(0.8, abs=0.05)
    assert float(layer.alpha.detach()) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        tes.model.RedNoise(2, alpha=0.0)
    with pytest.raises(ValueError, match="white_noise"):
        tes.Generator(red_noise=True)
