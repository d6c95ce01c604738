"""The CRAB chapter's profiles and the memory estimate its profile cell can print."""

import numpy as np

import cosmicbook as cb
from cosmicbook import tes

SEGMENT = 4 * 1060 * 4  # one segment: 4 bolometers x 1060 samples of float32


def _estimate(name, **overrides):
    return tes.memory_estimate(cb.resolve_profile(tes.PROFILES, name, **overrides))


def test_memory_estimate_orders_the_profiles():
    est = {p: _estimate(p) for p in ("ci", "book", "full")}
    assert est["ci"].total < est["book"].total < est["full"].total
    assert [e.batch_size for e in est.values()] == [tes.PROFILES[p]["batch_size"]
                                                   for p in ("ci", "book", "full")]
    # the networks do not depend on the profile's sizes: generator + discriminator (+ the
    # generator's moving average, ema > 0 in every profile)
    cfg = cb.resolve_profile(tes.PROFILES, "full")
    train = tes.simulate_tod(8, 1.0, seed=0, progress=False)
    model = tes.build_crab(train, np.ones(8), tes.CRABConfig.from_profile(cfg), seed=0)
    n_g = sum(p.numel() for p in model.generator.parameters())
    n_d = sum(p.numel() for p in model.discriminator.parameters())
    assert all(e.gradients == 4 * (n_g + n_d) and e.weights == 4 * (2 * n_g + n_d)
               for e in est.values())
    # full: 20k training segments (0.34 GB) on the device next to a small GAN; about a GB of
    # host memory
    assert est["full"].device_data == 20000 * (SEGMENT + 4)
    assert 0.3e9 < est["full"].device < 1e9 and 0.5e9 < est["full"].data < 3e9


def test_memory_estimate_known_answer():
    # full, where the training is the largest moment: a training segment adds itself, its
    # two float64 fluxes, train_gan's float64 copy and the compressed float32 copy on the
    # device (with its float32 condition)
    one, two = _estimate("full"), _estimate("full", n_train=20001)
    assert two.data - one.data == 3 * SEGMENT + 16
    assert two.device_data - one.device_data == SEGMENT + 4
    # ci, where the evaluation is the largest moment: a validation segment adds only itself
    assert _estimate("ci", n_val=33).data - _estimate("ci").data == SEGMENT
    # activations scale with the batch, the rest does not
    small, big = _estimate("ci", batch_size=16), _estimate("ci", batch_size=32)
    assert big.activations == 2 * small.activations and big.weights == small.weights
