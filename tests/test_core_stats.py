"""cosmicbook.core.stats: the one robust sigma and the one ROC curve of the package."""

import numpy as np
import pytest
import torch

from cosmicbook.core.stats import (
    MAD_TO_SIGMA,
    MAD_TO_SIGMA_EXACT,
    ROCCurve,
    robust_sigma,
    roc_auc,
    roc_curve,
)


# ---------------------------------------------------------------------- robust sigma
def test_robust_sigma_of_gaussian_noise_and_outliers():
    rng = np.random.default_rng(0)
    x = rng.normal(10.0, 3.0, 200_001)
    assert robust_sigma(x) == pytest.approx(3.0, rel=0.01)
    x[:20_000] = 1e6  # 10 % outliers barely move it
    assert robust_sigma(x) == pytest.approx(3.0, rel=0.15)
    assert MAD_TO_SIGMA_EXACT == pytest.approx(1 / 0.6744897501960817, abs=1e-15)


def test_robust_sigma_axes_scale_and_median():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 6, 5))
    per_row = robust_sigma(x, axis=-1)
    assert per_row.shape == (4, 6)
    for i in range(4):
        for j in range(6):
            assert per_row[i, j] == robust_sigma(x[i, j])
    assert robust_sigma(x, axis=(0, 2)).shape == (6,)
    assert robust_sigma(x, scale=1.0) == np.median(np.abs(x - np.median(x)))
    assert robust_sigma(x, scale=MAD_TO_SIGMA_EXACT) == \
        MAD_TO_SIGMA_EXACT * np.median(np.abs(x - np.median(x)))
    med, sig = robust_sigma(x, axis=1, return_median=True)
    np.testing.assert_array_equal(med, np.median(x, axis=1))
    np.testing.assert_array_equal(sig, robust_sigma(x, axis=1))
    med, sig = robust_sigma([1.0, 5.0, 2.0], return_median=True)
    assert isinstance(med, np.float64) and med == 2.0 and sig == MAD_TO_SIGMA
    assert np.isnan(robust_sigma([1.0, np.nan, 2.0]))


def test_robust_sigma_is_the_copies_it_replaced():
    """Bit for bit the formulas the chapters used to carry (darks, deepcr, tes, dla)."""
    rng = np.random.default_rng(2)
    for n in (1, 2, 7, 64, 1001):
        v = rng.normal(100.0, 5.0, n) ** 2
        m = np.median(v)
        assert robust_sigma(v, scale=MAD_TO_SIGMA_EXACT, return_median=True) == \
            (m, 1.482602218505602 * np.median(np.abs(v - m)))            # darks
        assert robust_sigma(v) == 1.4826 * np.median(np.abs(v - np.median(v)))  # dla
    x = rng.normal(size=(3, 40))
    np.testing.assert_array_equal(                                          # tes
        robust_sigma(x, axis=1),
        1.4826 * np.median(np.abs(x - np.median(x, axis=1, keepdims=True)), axis=1))
    for n in (63, 64):  # odd and even: torch's median is the lower middle value
        t = torch.randn(3, n, dtype=torch.float32) * 7 + 50
        center = t.median(dim=1).values                                     # deepcr
        sigma = 1.4826 * (t - center[:, None]).abs().median(dim=1).values
        got_center, got_sigma = robust_sigma(t, axis=1, return_median=True)
        assert torch.equal(got_center, center) and torch.equal(got_sigma, sigma)
        assert got_sigma.dtype == torch.float32
    assert torch.equal(robust_sigma(t), 1.4826 * (t - t.median()).abs().median())
    with pytest.raises(TypeError, match="single int"):
        robust_sigma(t, axis=(0, 1))


# ---------------------------------------------------------------------- ROC
def test_roc_curve_by_hand():
    curve = roc_curve([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(curve.thresholds,
                                  [np.inf, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, -np.inf])
    np.testing.assert_allclose(curve.tpr, [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    np.testing.assert_allclose(curve.fpr, [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1, 1])
    assert (curve.n_pos, curve.n_neg, len(curve)) == (3, 3, 8)
    assert curve.auc() == pytest.approx(8 / 9)
    assert roc_auc([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0]) == pytest.approx(8 / 9)
    assert curve.tpr_at(1 / 6) == pytest.approx(5 / 6)
    assert curve.tpr_at(0.0) == pytest.approx(2 / 3)  # the best TPR at FPR 0
    np.testing.assert_allclose(curve.tpr_at([0.5, 1.0]), [1.0, 1.0])
    assert curve.threshold_at(1 / 3) == 0.6
    assert "8 points" in repr(curve)
    with pytest.raises(ValueError, match="fpr"):
        curve.tpr_at(1.5)


def test_roc_curve_counts_every_threshold():
    rng = np.random.default_rng(3)
    y = rng.random(5000) < 0.1
    s = np.round(rng.normal(y * 1.5, 1.0), 2).astype(np.float32)  # ties, float32
    curve = roc_curve(s, y)
    for k in range(1, len(curve) - 1):
        flagged = s >= curve.thresholds[k]
        assert curve.tpr[k] == np.sum(flagged & y) / y.sum()
        assert curve.fpr[k] == np.sum(flagged & ~y) / (~y).sum()
    assert roc_auc(s, y) == pytest.approx(curve.auc(), abs=1e-12)
    pos, neg = s[y], s[~y]
    brute = np.mean((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None]))
    assert roc_auc(s, y) == pytest.approx(brute, abs=1e-12)
    sub = roc_curve(s, y, n_thresholds=40)
    assert 5 < len(sub) <= 42
    full = dict(zip(curve.thresholds, zip(curve.tpr, curve.fpr, strict=True), strict=True))
    for t, tp, fp in zip(sub.thresholds, sub.tpr, sub.fpr, strict=True):
        assert full[t] == (tp, fp)  # subsampled vertices are exact vertices


def test_roc_curve_with_infinite_scores_keeps_its_ends():
    curve = roc_curve([np.inf, 1.0, -np.inf, 0.0], [1, 0, 1, 0])
    assert (curve.fpr[0], curve.tpr[0]) == (0, 0)
    assert (curve.fpr[-1], curve.tpr[-1]) == (1, 1)
    np.testing.assert_allclose(curve.tpr, [0, 0.5, 0.5, 0.5, 1, 1])


def test_roc_curve_is_the_crayfis_curve_it_replaced():
    """``crayfis.roc_curve`` used to count at every distinct score by a cumulative sum."""
    from cosmicbook.crayfis import roc_curve as crayfis_roc_curve

    rng = np.random.default_rng(4)
    y = rng.random(3000) < 0.3
    s = np.round(rng.normal(y, 1.0), 1)
    s[:2] = [np.inf, -np.inf]  # (it split repeated infinite scores: inf - inf is NaN, not 0)
    order = np.argsort(-s, kind="stable")
    ss, yy = s[order], y[order]
    distinct = np.r_[np.nonzero(np.diff(ss))[0], ss.size - 1]
    tp, fp = np.cumsum(yy)[distinct], np.cumsum(~yy)[distinct]
    fpr, tpr = crayfis_roc_curve(s, y)
    np.testing.assert_array_equal(fpr, np.r_[0.0, fp / fp[-1]])
    np.testing.assert_array_equal(tpr, np.r_[0.0, tp / tp[-1]])


def test_roc_bad_input():
    with pytest.raises(ValueError, match="single class"):
        roc_curve([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="positive and negative"):
        roc_auc([0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="0/1"):
        roc_curve([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="length"):
        roc_curve([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(ValueError, match="n_thresholds"):
        roc_curve([0.1, 0.2], [0, 1], n_thresholds=1)
    assert isinstance(roc_curve([0.1, 0.2], [False, True]), ROCCurve)
