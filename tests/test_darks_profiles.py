"""The dark-frame chapter's profiles and the memory estimate its profile cell prints."""

import cosmicbook as cb
from cosmicbook import darks


def _estimate(name, **overrides):
    return darks.memory_estimate(cb.resolve_profile(darks.PROFILES, name, **overrides))


def test_memory_estimate_orders_the_profiles_and_holds_only_data():
    est = {p: _estimate(p) for p in ("ci", "book", "full")}
    assert est["ci"].total < est["book"].total < est["full"].total
    assert all(e.total == e.data and e.device == 0 for e in est.values())
    assert 8e9 < est["full"].total < 16e9  # 30 DESI-sized darks; the notebook asks for 16 GB
    assert "no network" in str(est["full"])


def test_memory_estimate_known_answer():
    # Per dark and pixel: float32 frame + float32 cosmic image + int32 truth labels + bool
    # defect mask (13 bytes) and the int32 labels of its two extractions (8); one bool
    # hot-pixel mask; the timing frame holds one dark (13). Each dark also keeps the read
    # noise and bias of its 4 amplifiers (float64: 64 bytes).
    one = _estimate("ci", frame_size=128, timing_size=128, exptimes=[300.0])
    assert one.data == (13 + 8 + 1 + 13) * 128**2 + 2 * 64
    two = _estimate("ci", frame_size=128, timing_size=128, exptimes=[300.0, 300.0])
    assert two.data - one.data == 21 * 128**2 + 64
