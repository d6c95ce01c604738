"""The CRAYFIS chapter's profiles and the memory estimate its profile cell can print."""

import torch

import cosmicbook as cb
from cosmicbook import crayfis
from cosmicbook.core.memory import estimate_training_memory

FRAME = crayfis.FRAME_SIZE**2  # pixels of a frame


def _estimate(name, **overrides):
    return crayfis.memory_estimate(cb.resolve_profile(crayfis.PROFILES, name, **overrides))


def test_memory_estimate_orders_the_profiles():
    est = {p: _estimate(p) for p in ("ci", "book", "full")}
    assert est["ci"].total < est["book"].total < est["full"].total
    # the TAN (its generator's graph and the discriminator on two batches of 32) is the
    # largest training on the device in every profile
    assert all(e.batch_size == crayfis.TANConfig().batch_size for e in est.values())
    # the classifier (weak_experiment's filters) at the full profile's batch of 256 is smaller
    classifier = estimate_training_memory(crayfis.TrackCNN((8, 16, 32)),
                                          torch.zeros(2, 1, 40, 40), 256)
    assert classifier.device < est["full"].device - est["full"].device_data
    # full: 2 x 100k float32 TAN frames on the device; the readout's float64 working copies
    # of 200k training frames dominate the host memory
    assert est["full"].device_data == 2 * 100000 * 4 * FRAME
    assert 1e9 < est["full"].device < 4e9 and 15e9 < est["full"].data < 30e9


def test_memory_estimate_known_answer():
    # a test frame of D1 and one of D2: uint8 frame, two bool labels and the kind ('<U8',
    # 32 bytes) each
    one = _estimate("ci")
    more = _estimate("ci", n_test_per_set=301)
    assert more.data - one.data == 2 * (FRAME + 2 + 32)
    # the TAN's device copies: float32 approximate and real frames
    assert _estimate("ci", tan_n=513).device_data - one.device_data == 2 * 4 * FRAME
