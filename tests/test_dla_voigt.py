"""Voigt profiles of the DLA chapter against known equivalent widths and the damping-wing law."""

import numpy as np
import pytest

from cosmicbook.dla import absorber_transmission, equivalent_width, voigt_tau
from cosmicbook.dla.voigt import LYA_WAVE, PI_E2_MEC


@pytest.mark.parametrize("log_nhi, reference", [(20.3, 10.2), (21.0, 22.4)])
def test_rest_equivalent_widths(log_nhi, reference):
    """The known rest equivalent widths of DLAs (+-120 A window) within 0.5%."""
    assert equivalent_width(log_nhi) == pytest.approx(reference, rel=0.005)


def test_equivalent_width_insensitive_to_b():
    """DLA widths come from the damping wings, not from the Doppler core."""
    assert equivalent_width(21.0, b_kms=10.0) == pytest.approx(equivalent_width(21.0, 60.0),
                                                               rel=2e-3)


@pytest.mark.parametrize("log_nhi", [20.3, 21.0])
def test_damping_wing_limit(log_nhi):
    """Over a wide window the EW tends to the square-root law W = 2 sqrt(pi A)."""
    lam0_cm = LYA_WAVE * 1e-8
    a = 10 ** log_nhi * PI_E2_MEC * 0.4164 * 6.265e8 / (4 * np.pi ** 2)
    w_nu = 2 * np.sqrt(np.pi * a)
    w_lambda = lam0_cm ** 2 * w_nu / 2.99792458e10 * 1e8
    wide = equivalent_width(log_nhi, half_width=1000.0)
    assert wide == pytest.approx(w_lambda, rel=0.02)
    assert wide > equivalent_width(log_nhi)  # the wings beyond 120 A add a little


def test_tau_peaks_at_redshifted_line():
    wave = np.linspace(4800.0, 4930.0, 50001)
    tau = voigt_tau(wave, z_abs=3.0, log_nhi=20.5)
    assert wave[np.argmax(tau)] == pytest.approx(4 * LYA_WAVE, abs=0.01)
    # optical depth scales linearly with the column density
    assert np.allclose(voigt_tau(wave, 3.0, 21.5), 10 * tau, rtol=1e-10)


def test_binned_transmission_conserves_equivalent_width():
    """Fine-grid evaluation, smoothing and binning keep the observed EW = (1+z) W_rest."""
    z = 2.5
    loglam = np.log10(LYA_WAVE * (1 + z)) + 1e-4 * np.arange(-1500, 1500)
    trans = absorber_transmission(loglam, [(z, 20.3)], lines=("Lya",))
    wave = 10 ** loglam
    dwave = wave * np.log(10) * 1e-4
    ew_obs = np.sum((1 - trans) * dwave)
    assert ew_obs / (1 + z) == pytest.approx(equivalent_width(20.3, half_width=300.0), rel=0.01)
    coarse = absorber_transmission(loglam, [(z, 20.3)], oversample=1, fwhm_pix=0)
    assert np.max(np.abs(coarse - absorber_transmission(loglam, [(z, 20.3)], fwhm_pix=0))) \
        > 0.01, "one point per pixel must under-resolve the core"


def test_bad_input():
    with pytest.raises(ValueError, match="positive"):
        voigt_tau(np.array([1000.0, np.nan]), 2.0, 20.3)
    with pytest.raises(ValueError, match="z_abs"):
        voigt_tau(np.array([4000.0]), -1.5, 20.3)
    with pytest.raises(ValueError, match="b_kms"):
        voigt_tau(np.array([4000.0]), 2.0, 20.3, b_kms=0.0)
    with pytest.raises(ValueError, match="unknown line"):
        voigt_tau(np.array([4000.0]), 2.0, 20.3, line="Lyz")
    with pytest.raises(ValueError, match="evenly spaced"):
        absorber_transmission(np.array([3.6, 3.6001, 3.6005]), [(2.0, 20.3)])
