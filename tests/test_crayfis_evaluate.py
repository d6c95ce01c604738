"""Metrics: AUC and ROC, reliability and ECE, cluster features and distribution distances."""

import numpy as np
import pytest

from cosmicbook.crayfis import (
    cluster_features,
    distribution_distances,
    expected_calibration_error,
    reliability,
    roc_auc,
    roc_curve,
)
from cosmicbook.crayfis import faithfulness as crayfis_faithfulness


def test_auc_matches_pairwise_count():
    rng = np.random.default_rng(0)
    s = np.round(rng.normal(size=300), 1)  # ties
    y = rng.random(300) < 0.4
    pos, neg = s[y], s[~y]
    brute = np.mean((pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None]))
    assert roc_auc(s, y) == pytest.approx(brute)
    assert roc_auc(-s, y) == pytest.approx(1 - brute)
    fpr, tpr = roc_curve(s, y)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0, 0, 1, 1)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(brute, abs=1e-9)


def test_calibration_error():
    rng = np.random.default_rng(1)
    p = rng.random(200_000)
    y = rng.random(p.size) < p
    assert expected_calibration_error(p, y) < 0.01
    assert expected_calibration_error(p ** 3, y) > 0.15
    rel = reliability(p, y, n_bins=5)
    assert rel.counts.sum() == p.size and len(rel.edges) == 6
    assert np.allclose(rel.observed, rel.mean_predicted, atol=0.01)


def test_cluster_features_on_a_known_line():
    frame = np.ones((1, 40, 40))
    frame[0, 20, 10:15] = [11, 21, 31, 21, 11]  # 5 pixels, 90 ADU above the median
    frame[0, 5, 5] = 100  # an isolated hot pixel is brighter: it is the brightest cluster
    feats = cluster_features(frame)
    assert feats.size[0] == 1 and feats.charge[0] == pytest.approx(99)
    frame[0, 5, 5] = 1
    feats = cluster_features(frame)
    assert feats.size[0] == 5 and feats.charge[0] == pytest.approx(90)
    assert feats.background[0] == 1
    assert cluster_features(np.ones((40, 40))).size[0] == 0


def test_distances():
    rng = np.random.default_rng(2)
    a = rng.poisson(1.0, (200, 40, 40)).astype(float)
    a[:, 20, 15:25] += 20
    d0 = distribution_distances(a, a)
    assert all(v == 0 for v in d0.values())
    d1 = distribution_distances(a, 1.5 * a)
    assert d1["pixel values"] == pytest.approx(0.5 * a.mean(), rel=1e-6)
    assert d1["track charge"] > 50
    with pytest.raises(ValueError, match="equal-size"):
        distribution_distances(a, a[:, :30])
    with pytest.raises(ValueError, match="no track"):
        distribution_distances(a, a, track=np.zeros(200, bool))


def test_bad_input():
    with pytest.raises(ValueError, match="single class"):
        roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        reliability([0.5, 1.5], [0, 1])
    with pytest.raises(ValueError, match="0/1"):
        expected_calibration_error([0.5, 0.5], [0, 2])


def test_faithfulness():
    rng = np.random.default_rng(3)
    a = rng.poisson(1.0, (50, 40, 40)).astype(float)
    a[:, 20, 15:25] += 20
    same = crayfis_faithfulness(a, a)
    assert same["centroid shift"] == 0 and same["charge ratio"] == 1
    moved = np.roll(a, 3, axis=2)
    assert crayfis_faithfulness(a, moved)["centroid shift"] == pytest.approx(3, abs=0.3)
    brighter = crayfis_faithfulness(a, 2 * a - np.median(a))
    assert brighter["charge ratio"] == pytest.approx(2, rel=0.05)
    with pytest.raises(ValueError, match="equal stacks"):
        crayfis_faithfulness(a, a[:10])


def test_classifier_two_sample_test_tells_noise_floors_apart_and_not_equal_ones():
    from cosmicbook.crayfis import classifier_two_sample_test

    rng = np.random.default_rng(3)
    a = rng.poisson(2.0, (300, 40, 40)).astype(np.uint8)
    b = rng.poisson(2.0, (300, 40, 40)).astype(np.uint8)
    brighter = rng.poisson(2.6, (300, 40, 40)).astype(np.uint8)
    same = classifier_two_sample_test(a, b, epochs=3, repeats=2, seed=1, progress=False)
    assert len(same.aucs) == 2 and same.auc == max(same.aucs)
    assert same.n_test == 90 and same.auc < 0.7
    differ = classifier_two_sample_test(a, brighter, epochs=3, seed=1, progress=False)
    assert differ.auc > 0.95 and differ.aucs == [differ.auc]
    with pytest.raises(ValueError, match="repeats"):
        classifier_two_sample_test(a, b, repeats=0)
    with pytest.raises(ValueError, match="too few"):
        classifier_two_sample_test(a[:20], b[:20])
