"""Tests of cosmicbook.deepcr.evaluate: ROC curves, TPR at FPR, mask scores, footprints."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from astropy.table import Table

from cosmicbook.deepcr.evaluate import (
    MaskScore,
    ROCCurve,
    footprint_overgrowth,
    plot_roc,
    roc_curve,
    score_mask,
    seam_difference,
    sweep_curve,
    tpr_at_fpr,
    tpr_by_brightness,
    tpr_by_pixel_charge,
)

PROB = np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.4]])
TRUTH = np.array([[1, 1, 0], [1, 0, 0]], bool)


def test_roc_hand_computed():
    roc = roc_curve(PROB, TRUTH)
    np.testing.assert_array_equal(roc.thresholds,
                                  [np.inf, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, -np.inf])
    np.testing.assert_allclose(roc.tpr, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    np.testing.assert_allclose(roc.fpr, [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1, 1])
    assert roc.n_pos == 3 and roc.n_neg == 3
    assert roc.auc() == pytest.approx(8 / 9)   # 8 of the 9 (pos, neg) pairs ranked right


def test_roc_ties_and_ignore():
    prob = np.array([[0.5, 0.5, 0.2, 0.9]])
    truth = np.array([[1, 0, 1, 0]], bool)
    roc = roc_curve(prob, truth)
    # threshold 0.5 flags both tied pixels at once: no vertex between them
    np.testing.assert_allclose(roc.tpr, [0, 0, 0.5, 1, 1])
    np.testing.assert_allclose(roc.fpr, [0, 0.5, 1, 1, 1])
    ignore = np.array([[0, 0, 0, 1]], bool)
    roc = roc_curve(prob, truth, ignore=ignore)
    assert roc.n_neg == 1
    np.testing.assert_allclose(roc.fpr, [0, 1, 1, 1])


def test_roc_matches_brute_force_and_subsampling():
    rng = np.random.default_rng(0)
    truth = rng.random((200, 300)) < 0.02
    prob = np.clip(rng.normal(0.2 + 0.5 * truth, 0.2), 0, 1).astype(np.float32)
    roc = roc_curve(prob, truth)
    for k in rng.integers(0, len(roc), 20):
        t = roc.thresholds[k]
        flagged = prob >= t
        assert roc.tpr[k] == np.sum(flagged & truth) / truth.sum()
        assert roc.fpr[k] == np.sum(flagged & ~truth) / (~truth).sum()
    sub = roc_curve(prob, truth, n_thresholds=100)
    assert 10 < len(sub) <= 102
    full = dict(zip(roc.thresholds, zip(roc.tpr, roc.fpr, strict=True), strict=True))
    for t, tp, fp in zip(sub.thresholds, sub.tpr, sub.fpr, strict=True):
        assert full[t] == (tp, fp)        # subsampled vertices are exact vertices
    assert np.all(np.diff(sub.fpr) >= 0) and np.all(np.diff(sub.tpr) >= 0)
    # several frames at once = their pixels pooled
    both = roc_curve([prob, prob], [truth, truth])
    np.testing.assert_allclose(both.tpr, roc.tpr)


def test_tpr_at_fpr_interpolates():
    roc = roc_curve(PROB, TRUTH)
    assert tpr_at_fpr(roc, fpr=1 / 6) == pytest.approx(5 / 6)
    assert tpr_at_fpr(roc, fpr=0.0) == pytest.approx(2 / 3)  # the best TPR at FPR 0
    np.testing.assert_allclose(tpr_at_fpr(PROB, TRUTH, fpr=[0.5, 1.0]), [1.0, 1.0])
    np.testing.assert_allclose(roc.tpr_at([1 / 3]), [1.0])
    assert roc.threshold_at(1 / 3) == 0.6
    with pytest.raises(ValueError, match="fpr"):
        tpr_at_fpr(roc, fpr=1.5)
    with pytest.raises(ValueError, match="truth"):
        tpr_at_fpr(PROB)
    with pytest.raises(ValueError, match="not both"):
        tpr_at_fpr(roc, TRUTH)


def test_roc_errors():
    with pytest.raises(ValueError, match="NaN"):
        roc_curve(np.array([[np.nan, 1.0]]), np.array([[1, 0]], bool))
    with pytest.raises(ValueError, match="shape"):
        roc_curve(PROB, TRUTH[:, :2])
    with pytest.raises(ValueError, match="positive and negative"):
        roc_curve(PROB, np.zeros_like(TRUTH))
    with pytest.raises(ValueError, match="boolean"):
        roc_curve(PROB, PROB)
    with pytest.raises(ValueError, match="n_thresholds"):
        roc_curve(PROB, TRUTH, n_thresholds=1)


def test_score_mask():
    mask = PROB > 0.65
    s = score_mask(mask, TRUTH)
    assert (s.tp, s.fp, s.fn, s.tn) == (2, 1, 1, 2)
    assert s.tpr == pytest.approx(2 / 3) and s.fpr == pytest.approx(1 / 3)
    assert s.precision == pytest.approx(2 / 3)
    total = score_mask([mask, mask], [TRUTH, TRUTH])
    assert isinstance(total, MaskScore) and total.tp == 4 and total.tpr == s.tpr
    ign = score_mask(mask, TRUTH, ignore=np.array([[0, 0, 1], [0, 0, 0]], bool))
    assert ign.fp == 0 and ign.n_neg == 2
    with pytest.raises(ValueError, match="shape"):
        score_mask(mask[:1], TRUTH)


def test_footprint_overgrowth():
    truth = np.zeros((11, 11), bool)
    truth[5, 5] = True
    three = np.zeros_like(truth)
    three[4:7, 4:7] = True
    g = footprint_overgrowth(three, truth)
    assert (g.n_hit, g.n_outside, g.n_ring, g.n_far) == (1, 8, 8, 0)
    assert g.overgrowth == 8 and g.overgrowth_ring == 8 and g.overgrowth_far == 0
    five = np.zeros_like(truth)
    five[3:8, 3:8] = True
    g = footprint_overgrowth(five, truth)
    assert (g.n_ring, g.n_far, g.overgrowth) == (8, 16, 24)
    assert np.isnan(footprint_overgrowth(np.zeros_like(truth), truth).overgrowth)


def test_tpr_by_brightness():
    labels = np.zeros((10, 10), np.int32)
    labels[1, 1:4] = 1           # dim cosmic, 3 pixels, peak at (1, 2)
    labels[6, 5:9] = 2           # bright cosmic, 4 pixels, peak at (6, 6)
    cosmics = Table({"id": [1, 2], "x": [2, 6], "y": [1, 6], "peak": [500.0, 8000.0]})
    mask = np.zeros((10, 10), bool)
    mask[6, 5:8] = True          # 3 of 4 pixels of the bright one, peak included
    mask[1, 1] = True            # 1 of 3 of the dim one, peak missed
    t = tpr_by_brightness(mask, labels, cosmics, bins=[0, 1000, np.inf])
    assert list(t["n_cosmics"]) == [1, 1]
    np.testing.assert_allclose(t["detected"], [0.0, 1.0])
    np.testing.assert_allclose(t["tpr"], [1 / 3, 3 / 4])
    assert list(t["n_pixels"]) == [3, 4]
    default = tpr_by_brightness(mask, labels, cosmics)
    assert np.isnan(default["tpr"][-1])   # empty bin
    signal = np.where(labels > 0, 50.0, 0.0)
    signal[6, 5:9] = [2000, 2000, 5, 5]
    p = tpr_by_pixel_charge(mask, labels > 0, signal, bins=[0, 10, 100, np.inf])
    np.testing.assert_allclose(p["tpr"], [1 / 2, 1 / 3, 1.0])
    with pytest.raises(ValueError, match="lacks"):
        tpr_by_brightness(mask, labels, Table({"id": [1]}))


def test_seam_difference():
    a = np.zeros((64, 64))
    b = a.copy()
    b[31:33, :] = 1e-3          # a seam along the tile boundary at row 32
    d = seam_difference(a, b, tile=32, width=2)
    assert d["max_abs"] == pytest.approx(1e-3) and d["max_abs_seam"] == pytest.approx(1e-3)
    assert d["max_abs_interior"] == 0
    assert seam_difference(a, a)["max_abs"] == 0
    with pytest.raises(ValueError, match="shape"):
        seam_difference(a, a[:10])


def test_plot_roc():
    roc = roc_curve(PROB, TRUTH)
    ax = plot_roc({"net": roc, "classic": score_mask(PROB > 0.65, TRUTH)})
    assert ax.get_xscale() == "log" and len(ax.lines) >= 2
    assert isinstance(roc, ROCCurve)
    plt.close(ax.figure)
    with pytest.raises(ValueError):
        plot_roc({"bad": 3})


def test_sweep_curve():
    masks = [PROB >= t for t in (0.85, 0.65, 0.45)]
    scores = [score_mask(m, TRUTH) for m in masks]
    curve = sweep_curve(scores, [0.85, 0.65, 0.45])
    np.testing.assert_allclose(curve.fpr, [0, 1 / 3, 2 / 3])
    np.testing.assert_allclose(curve.tpr, [1 / 3, 2 / 3, 1])
    assert tpr_at_fpr(curve, fpr=0.5) == pytest.approx(5 / 6)
    assert np.isnan(tpr_at_fpr(curve, fpr=0.9))        # beyond the swept range
    with pytest.raises(ValueError, match="one score per value"):
        sweep_curve(scores, [1, 2])
    with pytest.raises(ValueError, match="different pixels"):
        sweep_curve([scores[0], score_mask(PROB[:, :2] > 0.5, TRUTH[:, :2])], [1, 2])


def test_sweep_method_matches_explicit_scores():
    from cosmicbook.deepcr import score_mask, sweep_curve, sweep_method

    rng = np.random.default_rng(5)
    truth = rng.random((40, 40)) < 0.1
    image = rng.normal(0, 1, (40, 40)) + 3 * truth

    def method(img, level):
        return img > level

    levels = [1.0, 2.0, 3.0]
    curve = sweep_method(method, image, truth, "level", levels)
    expected = sweep_curve([score_mask(image > v, truth) for v in levels], levels)
    np.testing.assert_array_equal(curve.tpr, expected.tpr)
    np.testing.assert_array_equal(curve.fpr, expected.fpr)
    assert curve.tpr.max() > 0.9 and curve.fpr.min() < 0.01
