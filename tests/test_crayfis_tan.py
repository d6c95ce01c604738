"""The TAN: generator, discriminator, constraints, a short training run and its checkpoint."""

import numpy as np
import pytest
import torch

from cosmicbook.crayfis import (
    Discriminator,
    Generator,
    HiddenReadout,
    Readout,
    TANConfig,
    draw_kinds,
    simulate_deposits,
    simulate_readout_sets,
    train_tan,
    transform,
)
from cosmicbook.crayfis.tan import calibrate_adc, constraint_losses


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(0)
    dep = simulate_deposits(draw_kinds(96, 0.7, rng), rng, progress=False)
    return Readout().apply(dep.electrons, rng), HiddenReadout().apply(dep.electrons, rng)


def test_untrained_generator_is_the_identity(frames):
    approx, _ = frames
    out = transform(Generator(), approx)
    assert out.dtype == np.uint8 and np.array_equal(out, approx)


def test_generator_output_is_integer_and_differentiable():
    torch.manual_seed(0)
    gen = Generator(hidden=4, layers=2)
    torch.nn.init.normal_(gen.out.weight, std=0.5)
    x = torch.rand(2, 1, 40, 40) * 300
    out = gen(x, torch.randn_like(x))
    assert torch.equal(out, out.round()) and out.min() >= 0 and out.max() <= 255
    out.sum().backward()
    assert gen.out.weight.grad.abs().sum() > 0  # the straight-through rounding passes gradients
    with pytest.raises(ValueError, match="shape"):
        gen(x[:, 0], x[:, 0])
    two = Generator(hidden=4, layers=2, noise_channels=2)
    z = two.sample_noise(x, torch.Generator().manual_seed(0))
    assert z.shape == (2, 2, 40, 40) and two(x, z).shape == x.shape
    with pytest.raises(ValueError, match="noise_channels"):
        Generator(noise_channels=0)
    with pytest.raises(ValueError, match=r"z of shape \(batch, 2"):
        two(x, torch.randn_like(x))
    frame, patch = Discriminator(4)(x)
    assert frame.shape == (2,) and patch.shape == (2, 10, 10)


def test_generator_noise_is_independent_from_pixel_to_pixel():
    # the noise input joins after the 3 x 3 convolution: a change of z at one pixel moves that
    # pixel only, while a change of the frame reaches its neighbours (cross-talk)
    torch.manual_seed(0)
    gen = Generator(hidden=8, layers=3)
    torch.nn.init.normal_(gen.out.weight, std=0.5)
    x = torch.full((1, 1, 9, 9), 3.0)
    z = torch.randn_like(x)
    base = gen.response(x, z)
    z2 = z.clone()
    z2[0, 0, 4, 4] += 3.0
    changed = (gen.response(x, z2) - base).abs()[0, 0] > 1e-6
    assert changed[4, 4] and changed.sum() == 1
    x2 = x.clone()
    x2[0, 0, 4, 4] = 40.0
    reached = (gen.response(x2, z) - base).abs()[0, 0] > 1e-6
    assert reached[3:6, 3:6].all() and reached.sum() == 9


def test_constraints():
    x = torch.ones(1, 1, 40, 40)
    x[0, 0, 20, 10:20] = 20.0
    charge, position = constraint_losses(x, x)
    assert charge.item() == 0 and position.item() == 0
    charge, _ = constraint_losses(x, x * 1.2, charge_tolerance=0.3)
    assert charge.item() == 0  # within tolerance
    charge, _ = constraint_losses(x, x * 3.0, charge_tolerance=0.3)
    assert charge.item() > 0.3
    moved = torch.ones_like(x)
    moved[0, 0, 5, 25:35] = 20.0  # the track moved away
    charge, position = constraint_losses(x, moved)
    assert position.item() > 0.5 and charge.item() > 1.0
    noisy = x.clone()
    noisy[0, 0, 3, 3] = 9.0  # one noisy pixel far from the track is allowed
    assert constraint_losses(x, noisy)[1].item() == 0


def _tan(seed=0, hidden=4, d_hidden=4):
    torch.manual_seed(seed)
    return Generator(hidden=hidden), Discriminator(d_hidden)


def test_train_tan_runs_and_resumes(frames, tmp_path):
    approx, real = frames
    ckpt = tmp_path / "tan.pt"
    config = TANConfig(epochs=1, batch_size=32)
    gen, disc = _tan()
    hist = train_tan(gen, disc, approx, real, config, checkpoint=ckpt, progress=False)
    assert len(hist) == 1 and ckpt.exists() and not gen.training and not disc.training
    assert {"d_loss", "g_adversarial", "g_charge", "g_position", "d_accuracy",
            "g_match_size", "g_match_charge", "g_match_pixels"} <= set(hist.keys())
    assert np.all(np.isfinite([hist[k][0] for k in hist.keys() if k != "val_loss"]))
    again, disc2 = _tan(seed=1)  # other initial weights: the checkpoint replaces them
    hist2 = train_tan(again, disc2, approx, real, config, checkpoint=ckpt, progress=False)
    assert len(hist2) == 1 and hist2["train_loss"] == hist["train_loss"]
    for p, q in zip(gen.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    out = transform(gen, approx, seed=1)
    assert np.array_equal(out, transform(gen, approx, seed=1))
    with pytest.raises(ValueError, match="other settings"):
        train_tan(*_tan(), approx, real, config.replace(lr=2e-3), checkpoint=ckpt,
                  progress=False)
    with pytest.raises(ValueError, match="differ in size"):
        train_tan(*_tan(), approx, real[:, :30, :30], config)
    with pytest.raises(ValueError, match="TANConfig"):
        train_tan(*_tan(), approx, real, {"epochs": 1})
    with pytest.raises(ValueError, match="Generator and Discriminator"):
        train_tan(disc, gen, approx, real, config)


def test_train_tan_interrupted_resumes_bit_identically(frames, tmp_path, monkeypatch):
    from cosmicbook.crayfis import tan

    approx, real = frames[0][:64], frames[1][:64]
    config = TANConfig(epochs=2, batch_size=32, lambda_match=0.0, calibrate=False)
    gen, disc = _tan()
    hist = train_tan(gen, disc, approx, real, config, seed=3, progress=False)
    ckpt = tmp_path / "tan.pt"
    end_round = tan._TANSteps.end_round

    def interrupted(self, round, shown):
        if round == 2:
            raise KeyboardInterrupt
        return end_round(self, round, shown)

    monkeypatch.setattr(tan._TANSteps, "end_round", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_tan(*_tan(), approx, real, config, seed=3, checkpoint=ckpt, progress=False)
    monkeypatch.setattr(tan._TANSteps, "end_round", end_round)
    gen2, disc2 = _tan()
    hist2 = train_tan(gen2, disc2, approx, real, config, seed=3, checkpoint=ckpt,
                      progress=False)
    for key in hist.keys():
        if key not in ("seconds", "val_loss"):
            assert hist2[key] == hist[key], key
    for a, b in zip([*gen.state_dict().values(), *disc.state_dict().values()],
                    [*gen2.state_dict().values(), *disc2.state_dict().values()], strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs, match", [
    (dict(epochs=0), "epochs"),
    (dict(batch_size=2.5), "batch_size"),
    (dict(lr=0.0), "lr"),
    (dict(lambda_charge=-1.0), "lambda_charge"),
    (dict(lambda_match=float("nan")), "lambda_match"),
    (dict(charge_tolerance=-0.1), "charge_tolerance"),
    (dict(match_weights={"sizes": 1.0}), "match_weights"),
    (dict(match_weights={"size": -1.0}), "match_weights"),
    (dict(calibrate=1), "calibrate"),
    (dict(ema_decay=1.0), "ema_decay"),
])
def test_tan_config_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TANConfig(**kwargs)


def test_readout_sets_share_the_evaluation_deposits():
    sets = simulate_readout_sets(20, 30, seed=1, progress=False)
    assert sets.approx_train.shape == (20, 40, 40) and sets.real_train.shape == (20, 40, 40)
    assert len(sets.deposits) == 30
    for frames in (sets.real, sets.approx, sets.real_repeat, sets.approx_other):
        assert frames.shape == (30, 40, 40) and frames.dtype == np.uint8
    # same deposits, other noise: the brightest pixels agree, the frames do not
    bright = sets.deposits.electrons > 600
    assert bright.any()
    assert np.all(sets.real[bright] > 10) and np.all(sets.real_repeat[bright] > 10)
    assert not np.array_equal(sets.real, sets.real_repeat)



def test_quantile_w1_of_equal_size_samples_is_the_sorted_difference():
    from cosmicbook.crayfis.tan import quantile_w1

    x = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
    y = torch.tensor([2.0, 4.0, 3.0])
    w = quantile_w1(x, y)  # sorted: (1, 2, 3) vs (2, 3, 4): every pair differs by 1
    assert w.item() == pytest.approx(1.0)
    w.backward()
    assert torch.allclose(x.grad, torch.full((3,), -1 / 3))  # all move up
    assert quantile_w1(y, y.flip(0)).item() == 0  # order within a batch does not matter
    with pytest.raises(ValueError, match="1-D"):
        quantile_w1(x[None], y)


def test_frame_observables_equal_the_hard_cluster_features(frames):
    from cosmicbook.crayfis.evaluate import cluster_features
    from cosmicbook.crayfis.tan import frame_observables

    _, real = frames
    x = torch.from_numpy(real[:, None].astype(np.float32))
    size, charge = frame_observables(x)
    hard = cluster_features(real)
    assert (hard.size > 5).sum() > 20  # the frames hold real clusters
    np.testing.assert_allclose(size.numpy(), hard.size, atol=1e-4)
    np.testing.assert_allclose(charge.numpy(), hard.charge, rtol=1e-5, atol=1e-3)
    with pytest.raises(ValueError, match="temperature"):
        frame_observables(x, temperature=0.0)
    with pytest.raises(ValueError, match="grow"):
        frame_observables(x, grow=-1)


def test_frame_observables_gradient_reaches_the_rim_only():
    from cosmicbook.crayfis.tan import frame_observables

    x = torch.full((1, 1, 40, 40), 2.0)
    x[0, 0, 20, 10:20] = 12.0  # a 10-pixel track, 10 ADU above the median each
    x[0, 0, 5, 30] = 9.0  # a fainter, isolated cluster elsewhere
    x[0, 0, 30, 30] = 4.0  # a noise pixel just below the threshold
    x.requires_grad_(True)
    size, _ = frame_observables(x, grow=1)
    assert size.item() == 10  # the brightest cluster only
    size.sum().backward()
    g = x.grad[0, 0]
    assert g[19, 15] > 1e-3 and g[21, 9] > 1e-3  # the rim of the track (diagonal too)
    assert g[18, 15] == 0 and g[5, 30] == 0 and g[30, 30] == 0  # beyond the rim, elsewhere
    _, charge = frame_observables(x.detach().requires_grad_(True), grow=0)
    assert charge.item() == pytest.approx(100.0)


def test_quantile_w1_known_answer():
    from cosmicbook.crayfis.tan import quantile_w1

    ref = torch.arange(1000.0)
    assert quantile_w1(torch.tensor([250.0, 750.0]), ref).item() == pytest.approx(0.0)
    x = torch.tensor([350.0, 650.0], requires_grad=True)  # 100 inside each quantile
    w = quantile_w1(x, ref.flip(0))
    assert w.item() == pytest.approx(100.0)
    w.backward()
    assert torch.allclose(x.grad, torch.tensor([0.5, -0.5]))
    with pytest.raises(ValueError, match="non-empty"):
        quantile_w1(torch.tensor([]), ref)


def test_matching_losses_vanish_for_equal_batches_and_see_a_gain():
    from cosmicbook.crayfis.tan import ADU_SCALE, matching_losses, reference_observables

    x = torch.full((4, 1, 40, 40), 2.0)
    for i in range(4):
        x[i, 0, 20, 10:12 + 3 * i] = 10.0 + 5 * i
    size, charge, pixels = matching_losses(x, x.flip(0))
    assert size.item() == 0 and charge.item() == 0
    assert pixels.item() < 0.1  # every 7th pixel: other pixels of the same frames
    assert matching_losses(x, x)[2].item() == 0
    brighter = x.clone()
    brighter[x > 2] = 2 + (x[x > 2] - 2) * 1.5  # a 50% gain: same sizes, more charge
    ref = reference_observables(x[:, 0].numpy())
    size, charge, pixels = matching_losses(brighter, x, ref)
    q = ((x - 2) * (x > 2)).sum(dim=(1, 2, 3))
    assert size.item() == pytest.approx(0.0, abs=1e-6)
    assert charge.item() == pytest.approx(0.5 * q.mean().item() / ADU_SCALE, rel=1e-4)
    assert pixels.item() > 0
    with pytest.raises(ValueError, match="differ in shape"):
        matching_losses(x, x[:2])


def test_floor_observables_count_pixels_below_each_level():
    from cosmicbook.crayfis.tan import FLOOR_LEVELS, floor_loss, floor_observables

    x = torch.zeros(2, 1, 4, 5)
    x[0, 0, 0] = 1.0  # frame 0: 15 zeros, 5 ones
    x[1] = 2.0  # frame 1: all twos
    frac = floor_observables(x)
    assert frac.shape == (2, len(FLOOR_LEVELS))
    assert frac[0].tolist() == [0.75, 1.0, 1.0, 1.0, 1.0]
    assert frac[1].tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    soft = floor_observables(x, temperature=0.05)
    assert torch.allclose(soft, frac, atol=1e-4)  # sharp sigmoid: the hard fractions
    ref = floor_observables(torch.cat([x, x]))
    assert floor_loss(x, ref, temperature=0.02).item() == pytest.approx(0.0, abs=1e-3)
    raised = (x + 1.0).requires_grad_(True)  # a floor one ADU too high is seen, and pushed down
    loss = floor_loss(raised, ref, temperature=0.3)
    assert loss.item() > 1.0
    loss.backward()
    assert raised.grad.sum() > 0
    with pytest.raises(ValueError, match="levels"):
        floor_loss(x, ref[:, :3])


def test_tail_observables_count_pixels_far_above_the_median():
    from cosmicbook.crayfis.tan import TAIL_LEVELS, tail_loss, tail_observables

    x = torch.ones(2, 1, 10, 10)
    x[0, 0, 0, 0] = 4.0  # isolated pixels 3, 4, 3 and 6 ADU above the median of 1
    x[0, 0, 5, 5] = 5.0
    x[0, 0, 9, 9] = 4.0
    x[0, 0, 0, 9] = 7.0
    x[0, 0, 5, 0:3] = 6.0  # a short track: no pixel of it is isolated
    x[0, 0, 7, 7] = 3.0  # 2 ADU above the median: isolates neither (9, 9) nor itself counts
    levels = (2.5, 3.5, 4.5, 5.5)
    obs = tail_observables(x, levels)
    assert obs.shape == (2, 4)
    assert tail_observables(x).shape == (2, len(TAIL_LEVELS))
    assert torch.allclose(obs[0], torch.log1p(torch.tensor([4.0, 2.0, 1.0, 1.0])))
    assert obs[1].tolist() == [0.0] * 4
    x[0, 0, 8, 8] = 3.0  # now (9, 9) has a neighbour 2 ADU above the median: not isolated
    assert torch.allclose(tail_observables(x, levels)[0],
                          torch.log1p(torch.tensor([3.0, 2.0, 1.0, 1.0])))
    x[0, 0, 8, 8] = 1.0
    ref = tail_observables(x)
    assert tail_loss(x, ref, temperature=0.02).item() == pytest.approx(0.0, abs=1e-3)
    light = torch.ones_like(x).requires_grad_(True)  # no tail at all: seen, and pushed up
    loss = tail_loss(light + 0.0, ref, temperature=0.5)
    assert loss.item() > 0.2
    loss.backward()  # the frame matched to the reference with a tail is pushed up
    assert light.grad.sum(dim=(1, 2, 3)).min() < -1e-4


def test_value_histogram_and_its_log_distance():
    from cosmicbook.crayfis.tan import histogram_loss, value_histogram

    x = torch.tensor([0.0, 1.0, 1.0, 3.0, 20.0, 200.0]).view(1, 1, 2, 3)
    h = value_histogram(x, n_bins=5)
    assert h.tolist() == pytest.approx([1 / 6, 2 / 6, 0.0, 1 / 6, 2 / 6])  # last bin: >= 4
    assert torch.allclose(value_histogram(x, 5, temperature=0.02), h, atol=1e-6)
    assert histogram_loss(x, h, temperature=0.02).item() == pytest.approx(0.0, abs=1e-3)
    shifted = (x + 1.0).requires_grad_(True)
    loss = histogram_loss(shifted, h, temperature=0.3)
    assert loss.item() > 1.0  # an empty bin against a full one costs log(1 / 1e-4) / bins
    loss.backward()
    assert torch.isfinite(shifted.grad).all() and shifted.grad.abs().sum() > 0


def test_train_tan_records_the_matching_losses_it_uses(frames):
    approx, real = frames
    config = TANConfig(epochs=1)
    plain = train_tan(*_tan(0, 16, 16), approx, real, config.replace(lambda_match=0.0),
                      progress=False)
    assert not [k for k in plain.keys() if k.startswith("g_match_")]  # the seed deck's TAN
    full = train_tan(*_tan(0, 16, 16), approx, real, config, progress=False)
    names = {"size", "charge", "pixels", "floor", "tail", "histogram"}
    assert {k for k in full.keys() if k.startswith("g_match_")} == {f"g_match_{n}" for n in names}
    assert all(np.isfinite(full[f"g_match_{n}"][0]) for n in names)


def test_quantize_rounds_until_calibrated():
    gen = Generator(hidden=4, layers=2)
    r = torch.tensor([0.0, 0.49, 0.5, 1.7, 254.4, 255.0])
    assert gen.quantize(r).tolist() == [0.0, 0.0, 1.0, 2.0, 254.0, 255.0]


def test_calibrate_adc_matches_the_real_pixel_histogram(frames):
    approx, real = frames
    torch.manual_seed(1)
    gen = Generator(hidden=4, layers=2)
    torch.nn.init.normal_(gen.out.weight, std=0.05)  # a generator that adds some noise
    gen.out.bias.data.fill_(0.02)

    def hist(x):
        return np.bincount(np.asarray(x).ravel(), minlength=256)[:8] / np.asarray(x).size

    before = np.abs(hist(transform(gen, approx, seed=5)) - hist(real)).max()
    assert before > 0.1  # the approximate readout's floor is ~1 ADU too low
    assert calibrate_adc(gen, approx, real, seed=3) is gen
    assert torch.all(gen.adc_levels[1:] >= gen.adc_levels[:-1])
    after = transform(gen, approx, seed=5)  # other noise than the fit's
    assert np.abs(hist(after) - hist(real)).max() < 0.02
    assert after.max() <= real.max()  # codes the real frames never reach are not produced
    # a monotone map: brighter before, brighter (or equal) after
    x = torch.as_tensor(approx[:4], dtype=torch.float32)[:, None]
    resp = gen.response(x, gen.sample_noise(x, torch.Generator().manual_seed(0)))
    order = torch.argsort(resp.flatten())
    assert torch.all(torch.diff(gen.quantize(resp).flatten()[order]) >= 0)
    with pytest.raises(ValueError, match="differ in size"):
        calibrate_adc(gen, approx, real[:, :20])
