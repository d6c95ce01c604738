"""The deepCR chapter's profiles and the memory estimate its profile cell prints."""


import cosmicbook as cb
from cosmicbook import deepcr


def _estimate(name, **overrides):
    return deepcr.memory_estimate(cb.resolve_profile(deepcr.PROFILES, name, **overrides))


def test_memory_estimate_orders_the_profiles():
    est = {p: _estimate(p) for p in ("ci", "book", "full")}
    assert est["ci"].total < est["book"].total < est["full"].total
    assert all(e.weights == 4 * deepcr.UNet(2, 32).n_parameters  # the 2-32 net, float32
               for e in est.values())
    # the larger training: ci's fine-tuning (8 patches of 128^2 against 4), full's own
    assert est["ci"].batch_size == deepcr.FineTuneConfig().batch_size == 8
    assert est["full"].batch_size == deepcr.PROFILES["full"]["batch_size"] == 16
    # full: 16 patches of 256^2 on the GPU, ten 4k frames and 24 4k darks in host memory
    assert 1e9 < est["full"].device < 16e9 and 5e9 < est["full"].data < 16e9


def test_memory_estimate_known_answer():
    # Every training frame adds its image, inverse variance and cosmic charge (float32), its
    # cosmic ids (int32), truth mask and the patches' ignore mask (bool): 18 bytes a pixel.
    one = _estimate("ci")
    two = _estimate("ci", n_train_frames=3)
    assert two.data - one.data == 18 * 256**2
    # activations scale with the batch, the rest does not
    small, big = _estimate("ci", batch_size=16), _estimate("ci", batch_size=32)
    assert big.activations == 2 * small.activations and big.weights == small.weights
