"""The Cherenkov chapter's profiles and the memory estimate its profile cell prints."""

import cosmicbook as cb
from cosmicbook import cherenkov as ck


def _estimate(name, **overrides):
    return ck.memory_estimate(cb.resolve_profile(ck.PROFILES, name, **overrides))


def test_memory_estimate_orders_the_profiles():
    est = {p: _estimate(p) for p in ("ci", "book", "full")}
    assert est["ci"].total < est["book"].total < est["full"].total
    # full: the cleaner on whole maps is the largest training on the device; ~100k maps of
    # 200 x 200 are held in host memory
    assert est["full"].device < 2e9 and 15e9 < est["full"].data < 30e9
    whole = est["full"].activations
    assert _estimate("full", cleaner_crop=64).activations < whole


def test_memory_estimate_known_answer():
    # a test map holds uint16 counts and source maps and a float32 background: 8 bytes a pixel
    one = _estimate("ci")
    more = _estimate("ci", n_multi_test=41)
    assert more.data - one.data == 8 * ck.NPIX**2
