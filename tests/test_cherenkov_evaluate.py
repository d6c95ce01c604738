"""Scoring helpers: matching detections, binned errors, image S/N, double peaks."""

import numpy as np
import pytest
from astropy.table import Table

from cosmicbook import cherenkov as ck


class _Truth:
    def __init__(self, x, y):
        self.x, self.y = np.asarray(x, float), np.asarray(y, float)
        self.n_sources = np.isfinite(self.x).sum(axis=1)


def test_match_detections():
    truth = _Truth([[10, 50, np.nan], [np.nan] * 3, [100, np.nan, np.nan]],
                   [[10, 50, np.nan], [np.nan] * 3, [100, np.nan, np.nan]])
    sig = np.array([[10, 3, np.nan], [np.nan] * 3, [7, np.nan, np.nan]])
    # map 0: one hit on the bright source, one on the faint one; map 1: a false detection;
    # map 2: a detection 10 px away (missed) -> false
    score = ck.match_detections(truth, [0, 0, 1, 2], [11, 49, 80, 110], [10, 52, 80, 100],
                                sig, radius=6)
    assert score.n_true == 2
    assert score.completeness == pytest.approx(0.5)
    assert score.n_detected == 4 and score.n_false == 2
    assert score.false_fraction == pytest.approx(0.5)
    # two detections on one source: the second is false
    score = ck.match_detections(truth, [2, 2], [100, 101], [100, 100], sig)
    assert score.completeness == pytest.approx(0.5) and score.n_false == 1
    empty = ck.match_detections(truth, [], [], [], sig)
    assert empty.completeness == 0 and empty.false_fraction == 0


def test_binned_errors_and_positions():
    flux = np.array([0.01, 0.02, 0.5, 0.6, 0.7])
    err = {"a": np.array([1.0, 3.0, 0.1, 0.2, 0.3]),
           "b": np.array([np.nan, 2.0, np.nan, 0.4, np.nan])}
    table = ck.binned_errors(err, flux, [0.003, 0.1, 1.0])
    assert list(table["a"]) == pytest.approx([2.0, 0.2])
    assert list(table["b"]) == pytest.approx([2.0, 0.4])
    assert list(table["n_b"]) == [1, 1]
    det = Table({"map": [2, 0, 0], "x": [5.0, 1.0, 2.0], "y": [6.0, 1.0, 2.0],
                 "score": [0.9, 0.3, 0.8]})
    x, y = ck.per_map_positions(det, 3)
    assert x[0] == 2.0 and np.isnan(x[1]) and x[2] == 5.0
    assert ck.localisation_error(3, 4, 0, 0) == pytest.approx(0.125)


def test_image_snr():
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, (2, 200, 200))
    yy, xx = np.mgrid[:200, :200]
    blob = 20 * np.exp(-0.5 * ((xx - 60) ** 2 + (yy - 70) ** 2) / 9)
    images = noise + blob[None] * np.array([1.0, 0.0])[:, None, None]
    snr = ck.image_snr(images, np.array([60, 60]), np.array([70, 70]))
    assert snr[0] > 20
    assert abs(snr[1]) < 4
    with pytest.raises(ValueError):
        ck.image_snr(images[0], [1], [1])


def test_second_peak():
    yy, xx = np.mgrid[:100, :100]
    one = np.exp(-0.5 * ((xx - 30) ** 2 + (yy - 30) ** 2) / 16)
    two = one + 0.6 * np.exp(-0.5 * ((xx - 70) ** 2 + (yy - 60) ** 2) / 16)
    assert ck.second_peak(one) < 0.01
    assert ck.second_peak(two) == pytest.approx(0.6, abs=0.02)
    assert ck.second_peak(np.zeros((10, 10))) == 0.0
