"""Stage 1 of the simulator: the energy deposits of muons, electrons, photons and alphas."""

import numpy as np
import pytest

from cosmicbook.crayfis import (
    KINDS,
    TRACK_KINDS,
    Deposits,
    Sensor,
    draw_kinds,
    simulate_deposits,
)
from cosmicbook.crayfis.interaction import EV_PER_PAIR, MIP_E_PER_UM


@pytest.fixture(scope="module")
def muons():
    return simulate_deposits(["muon"] * 3000, np.random.default_rng(0), progress=False)


def test_muon_angles_follow_cos2_through_a_flat_sensor(muons):
    """dN/dcos(theta) ~ cos^3: <cos theta> = 4/5, P(theta < 30 deg) = 1 - cos^4(30 deg)."""
    cos_t = np.cos(muons.params["theta"])
    assert cos_t.mean() == pytest.approx(0.8, abs=0.01)
    assert np.mean(muons.params["theta"] < np.radians(30)) == pytest.approx(
        1 - np.cos(np.radians(30)) ** 4, abs=0.03)


def test_muon_length_and_charge(muons):
    s = Sensor()
    theta = muons.params["theta"]
    assert np.allclose(muons.params["length"], s.depth_um * np.tan(theta) / s.pitch_um)
    # most probable charge per micron of path: MIP_E_PER_UM, with a Landau tail to the right
    charge_per_um = muons.params["energy_kev"] * 1e3 / EV_PER_PAIR / (s.depth_um / np.cos(theta))
    assert 0.95 * MIP_E_PER_UM < np.median(charge_per_um) < 1.4 * MIP_E_PER_UM
    assert np.mean(charge_per_um) > np.median(charge_per_um)
    # a long muon is a line of pixels: its footprint is elongated along its length
    long = np.nonzero((muons.params["length"] > 12) & (muons.params["length"] < 25))[0][0]
    ys, xs = np.nonzero(muons.electrons[long] > 30)
    extent = max(np.ptp(xs), np.ptp(ys))
    assert extent == pytest.approx(muons.params["length"][long], abs=4)


def test_electrons_are_extended_and_curly():
    dep = simulate_deposits(["electron"] * 200, np.random.default_rng(1), progress=False)
    e = dep.params["energy_kev"]
    assert np.all((e > 25) & (e <= 150.001))
    collected = dep.electrons.sum(axis=(1, 2)) * EV_PER_PAIR / 1e3
    assert np.median(collected / e) > 0.9  # most of the energy lands in the frame
    n_pix = (dep.electrons > 200).sum(axis=(1, 2))
    assert np.median(n_pix) > 15


def test_photons_are_small_spots_and_empty_is_empty():
    dep = simulate_deposits(["photon"] * 100 + ["empty"] * 5, np.random.default_rng(2),
                            progress=False)
    spots = dep.electrons[:100]
    assert np.all((spots > 0.05 * spots.max(axis=(1, 2), keepdims=True)).sum(axis=(1, 2)) < 30)
    assert np.all(spots.sum(axis=(1, 2)) < 1300)
    assert np.all(dep.electrons[100:] == 0)
    assert not dep.is_track.any()


def test_draw_kinds_fractions():
    rng = np.random.default_rng(3)
    kinds = draw_kinds(20000, 0.3, rng)
    assert np.isin(kinds, TRACK_KINDS).mean() == pytest.approx(0.3, abs=0.015)
    assert set(kinds) == {"muon", "electron", "empty", "photon"}
    alphas = draw_kinds(1000, 1.0, rng, track_mix={"alpha": 1.0})
    assert set(alphas) == {"alpha"}


def test_deposits_helpers():
    dep = simulate_deposits(["muon", "empty", "alpha"], np.random.default_rng(4), progress=False)
    assert isinstance(dep, Deposits) and len(dep) == 3
    assert dep.is_track.tolist() == [True, False, True]
    both = Deposits.concatenate([dep, dep.subset([0])])
    assert len(both) == 4 and both.electrons.shape == (4, 40, 40)
    assert set(KINDS) >= set(TRACK_KINDS)


def test_bad_input():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="unknown event kind"):
        simulate_deposits(["pion"], rng)
    with pytest.raises(ValueError, match="track_fraction"):
        draw_kinds(10, 1.5, rng)
    with pytest.raises(ValueError, match="track_mix"):
        draw_kinds(10, 0.5, rng, track_mix={"photon": 1.0})
    with pytest.raises(ValueError, match="depth_um"):
        Sensor(depth_um=0)
