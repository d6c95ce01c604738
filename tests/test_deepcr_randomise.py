"""Tests of cosmicbook.deepcr.randomise and .transfer: randomised instruments, augmentation,
transfer maps."""

import numpy as np
import pytest
from astropy.table import Table

from cosmicbook.darks import CosmicLibrary
from cosmicbook.deepcr import (
    DESI_INSTRUMENT,
    CosmicAugmentation,
    InstrumentRanges,
    MaskMethod,
    SpectroCamera,
    augment_library,
    instrument_grid,
    make_randomised_frames,
    make_transfer_frames,
    thin_track,
    transfer_map,
)
from cosmicbook.deepcr.simulate import simulate_tile


def _library(gain=1.5, n=20, seed=0):
    rng = np.random.default_rng(seed)
    stamps, masks = [], []
    for _ in range(n):
        fp = np.zeros((5, 7), bool)
        fp[2, 1:6] = True
        stamps.append(np.where(fp, rng.uniform(100, 1000, fp.shape), 0).astype(np.float32))
        masks.append(fp)
    sources = Table({"exptime": [300.0], "gain": [gain], "ny": np.array([4096], np.int32),
                     "nx": np.array([4096], np.int32), "threshold": [400.0], "seed": [250.0],
                     "grow_sigma": [3.0], "margin": np.array([2], np.int32)})
    return CosmicLibrary(stamps, masks, sources=sources)


# ---------------------------------------------------------------- ranges
@pytest.mark.parametrize("kwargs, match", [
    ({"psf_sigma_cross": (2.2, 0.8)}, "low <= high"),
    ({"read_noise": (-1.0, 3.0)}, "non-negative"),
    ({"read_noise": (np.nan, 3.0)}, "finite"),
    ({"exptime": (0.0, 10.0)}, "positive"),
    ({"bundle_size": (2.5, 10)}, "integers"),
    ({"gain": (0.0, 1.0)}, "positive"),
    ({"wing_fraction": (0.0, 1.0)}, "below 1"),
    ({"psf_growth": 3.0}, "pair"),
])
def test_ranges_reject_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        InstrumentRanges(**kwargs)


def test_draws_stay_in_their_ranges_and_are_seeded():
    ranges = InstrumentRanges()
    draws = [ranges.draw(np.random.default_rng(s), (512, 512)) for s in range(200)]
    cross = np.array([d.camera["psf_sigma"][0] for d in draws])
    wave = np.array([d.camera["psf_sigma_wave"][0] for d in draws])
    noise = np.array([d.camera["read_noise"] for d in draws])
    assert cross.min() >= 0.8 and cross.max() <= 2.2 and np.ptp(cross) > 1.0
    assert wave.min() >= 0.8 and wave.max() <= 2.2
    # the two directions are drawn independently
    assert abs(np.corrcoef(cross, wave)[0, 1]) < 0.3
    assert noise.min() >= 2.0 and noise.max() <= 6.0
    assert all(3 <= d.n_exposures <= 7 for d in draws)
    assert ranges.draw(5, (512, 512)) == ranges.draw(5, (512, 512))
    # every drawn camera fits its frame
    for d in draws[:40]:
        SpectroCamera((64, 512), **d.camera)


def test_fixed_ranges_and_grid():
    fixed = InstrumentRanges.fixed(read_noise=5.0)
    inst = fixed.draw(0, (4096, 4096))
    assert inst.camera["read_noise"] == 5.0
    assert inst.camera["psf_sigma"][0] == DESI_INSTRUMENT["psf_sigma_cross"]
    assert inst.camera["n_bundles"] == 20 and inst.camera["bundle_size"] == 25
    assert inst.camera["bundle_period"] == pytest.approx(200.0, abs=0.5)
    grid = instrument_grid("psf_sigma", [0.8, 2.2])
    assert [g.draw(0).psf_sigma for g in grid] == [0.8, 2.2]
    with pytest.raises(ValueError, match="unknown parameter"):
        instrument_grid("seeing", [1.0])
    with pytest.raises(ValueError, match="empty"):
        instrument_grid("read_noise", [])


def test_wave_sigma_shapes_lines_not_traces():
    kw = dict(n_exposures=1, seed=1, progress=False, psf_sigma=(1.0, 1.0), read_noise=1.0,
              n_sky_lines=64, sky_line_flux=(200.0, 200.0), wing_fraction=0.0)
    wide = simulate_tile((512, 256), psf_sigma_wave=(2.0, 2.0), **kw)
    same = simulate_tile((512, 256), **kw)
    # the cross-dispersion profile is the same
    col = same.model.sum(axis=0)
    assert np.allclose(wide.model.sum(axis=0) / wide.model.sum(), col / col.sum(), atol=0.01)

    def line_width(tile):
        prof = tile.model.sum(axis=1).astype(float)
        rows = np.sort(np.asarray(tile.lines["row"]))
        gaps = np.diff(np.r_[-100, rows, 1e9])
        r = rows[np.argmax(np.minimum(gaps[:-1], gaps[1:]))]   # the most isolated line
        r0 = int(round(r))
        y = np.arange(r0 - 7, r0 + 8)
        win = prof[y] - np.median(prof[r0 - 30:r0 + 31])
        return np.sqrt(np.sum(win * (y - r) ** 2) / np.sum(win))

    assert line_width(same) == pytest.approx(np.sqrt(1 + 1 / 12), abs=0.25)
    assert line_width(wide) == pytest.approx(np.sqrt(4 + 1 / 12), abs=0.35)


# ---------------------------------------------------------------- augmentation
def test_thin_track_geometry():
    stamp, fp = thin_track(20.0, 0.0, 0.5, 500.0)
    rows = np.flatnonzero(fp.any(axis=1))
    cols = np.flatnonzero(fp.any(axis=0))
    assert rows.size <= 5 and 19 <= cols.size <= 25
    assert stamp.sum() == pytest.approx(500.0 * 20, rel=0.05)
    assert np.all(stamp[~fp] == 0)
    with pytest.raises(ValueError):
        thin_track(5.0, 0.0, 0.0, 100.0)


def test_augment_library_scales_and_adds_tracks():
    lib = _library()
    aug = CosmicAugmentation(amplitude=(2.0, 2.0), track_fraction=0.5, size=400)
    out = augment_library(lib, aug, seed=0, gain=3.0)
    kinds = np.asarray(out.table["kind"])
    assert len(out) == 400 and 150 < (kinds == "track").sum() < 250
    assert out.gain == 3.0
    # library stamps: twice the charge in e-, i.e. the same ADU at twice the gain
    total_in = np.mean([s.sum() for s in lib.stamps]) * 1.5
    total_out = np.mean([s.sum() for s, k in zip(out.stamps, kinds, strict=True)
                         if k == "library"]) * 3.0
    assert total_out == pytest.approx(2 * total_in, rel=0.15)
    with pytest.raises(ValueError, match="track_fraction"):
        CosmicAugmentation(track_fraction=1.0)
    with pytest.raises(ValueError, match="low <= high"):
        CosmicAugmentation(amplitude=(2.0, 1.0))


def test_randomised_frames_carry_their_instrument():
    frames = make_randomised_frames(3, 256, _library(), seed=4, exptime_factor=3.0,
                                    progress=False)
    sigmas = [f.instrument["psf_sigma"][0] for f in frames]
    assert len(set(sigmas)) == 3
    for f in frames:
        assert f.mask.any() and f.mask.shape == (256, 256)
        assert len(f.instrument["psf_gradients"]) == 4
        # digitised in steps of the gain (up to float32 rounding)
        g = f.instrument["gain"]
        steps = f.image / g
        assert np.allclose(steps, np.round(steps), atol=1e-2)
    again = make_randomised_frames(3, 256, _library(), seed=4, exptime_factor=3.0,
                                   progress=False)
    assert np.array_equal(again[1].image, frames[1].image)
    with pytest.raises(ValueError, match="n_frames"):
        make_randomised_frames(0, 256, _library())


# ---------------------------------------------------------------- transfer map
def test_transfer_map_scores_perfect_and_useless_methods():
    grid = make_transfer_frames(_library(), "read_noise", [2.0, 6.0], size=256, seed=1,
                                exptime=20000.0, progress=False)
    assert [len(f) for f in grid.frames] == [1, 1]

    def oracle(frame):
        return frame.mask.astype(np.float32)

    def nothing(frame, level=0.0):
        return np.zeros(frame.shape, bool) if level == 0 else frame.mask.copy()

    table = transfer_map({"oracle": oracle, "flat": lambda f: np.full(f.shape, 0.3,
                                                                          np.float32),
                          "swept": MaskMethod(nothing, "level", (0.0, 1.0))}, grid,
                         progress=False)
    assert len(table) == 6
    ora = table[table["method"] == "oracle"]
    assert np.all(ora["tpr"] == 1.0) and np.all(ora["fpr_default"] == 0.0)
    flat = table[table["method"] == "flat"]
    assert np.all(flat["tpr"] < 0.01) and np.all(flat["tpr_default"] == 0.0)
    swept = table[table["method"] == "swept"]
    assert np.all(swept["tpr"] == 1.0) and np.all(swept["tpr_default"] == 0.0)
    with pytest.raises(ValueError, match="no methods"):
        transfer_map({}, grid)


def _toy_map():
    rows = []
    for value, (a, b, c) in zip([0.8, 2.2], [(0.95, 0.50, np.nan), (0.99, 0.97, 0.90)],
                                strict=True):
        for name, tpr, fpr in (("ours", a, 2e-4), ("single", b, 3e-3), ("peer", c, 1e-4)):
            rows.append(("psf_sigma", value, name, tpr, fpr, tpr, 0.1))
    rows.append(("read_noise", 3.0, "ours", 0.80, 5e-4, 0.8, 0.1))
    rows.append(("read_noise", 3.0, "single", 0.85, 5e-4, 0.8, 0.1))
    rows.append(("read_noise", 3.0, "peer", 0.70, 5e-4, 0.8, 0.1))
    t = Table(rows=rows, names=["parameter", "value", "method", "tpr", "fpr_default",
                                "tpr_default", "seconds"])
    t.meta["fpr"] = 1e-3
    return t


def test_transfer_pivot_worst_case_and_verdict():
    from cosmicbook.deepcr import transfer_pivot, transfer_verdict, worst_case

    t = _toy_map()
    pivot = transfer_pivot(t, "psf_sigma")
    assert list(pivot["method"]) == ["ours", "single", "peer"]
    assert pivot["0.8"][1] == pytest.approx(50.0) and pivot["0.8"].mask[2]  # NaN: masked
    with pytest.raises(ValueError, match="no rows"):
        transfer_pivot(t, "gain")
    with pytest.raises(ValueError, match="unknown column"):
        transfer_pivot(t, "psf_sigma", "auc")

    worst = {r["method"]: r for r in worst_case(t)}
    assert worst["ours"]["worst_tpr"] == pytest.approx(0.80)
    assert worst["single"]["worst_fpr_default"] == pytest.approx(3e-3)
    assert np.isnan(worst["peer"]["worst_tpr"])  # out of reach at one point
    assert worst["ours"]["n_points"] == 3

    text = transfer_verdict(t, "ours", compare="single", peers=["peer", "absent"],
                            tpr_goal=0.9)
    assert "**80.0 %**" in text and "**not met**" in text  # 0.80 < 0.9
    assert "single falls to 50.0 %" in text
    assert "single (read_noise = 3)" in text  # the one point where ours loses
    assert "peer (" not in text  # the peer never beats ours
    ok = transfer_verdict(t[t["parameter"] == "psf_sigma"], "ours", tpr_goal=0.9)
    assert "No other method beats ours" in ok and "not met" not in ok
    with pytest.raises(ValueError, match="not in the table"):
        transfer_verdict(t, "nobody")


def test_describe_transfer():
    from cosmicbook.deepcr import describe_transfer

    text = describe_transfer(_toy_map(), single="single", classical=["peer"],
                             peers=["peer", "ours"])
    assert "single is worst at psf_sigma = 0.8 (50.0 %" in text
    assert "cannot get down to FPR 0.1 % with any swept setting at 1 of 3 grid points" in text
    assert "ours 95.0 -> 99.0 %" in text
    with pytest.raises(ValueError, match="no rows"):
        describe_transfer(_toy_map(), parameter="gain")
