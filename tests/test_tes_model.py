"""The CRAB generator and discriminator: the seed's layer tables, shapes, conditions."""

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
