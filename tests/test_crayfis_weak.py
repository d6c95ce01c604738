"""The mixture formula (both forms, against Bayes' theorem on known densities) and the
estimator of the track fractions."""

import numpy as np
import pytest
from scipy.stats import norm

from cosmicbook import crayfis
from cosmicbook.crayfis import estimate_fractions, feasible_interval, weak_to_posterior


def _exact(x, a, b, prior=None):
    """f = P(D1|x) and P(track|x) for Gaussian track / noise densities N(+1,1) and N(-1,1)."""
    pt, pn = norm.pdf(x, 1, 1), norm.pdf(x, -1, 1)
    p1, p2 = a * pt + (1 - a) * pn, b * pt + (1 - b) * pn
    pi = (a + b) / 2 if prior is None else prior
    return p1 / (p1 + p2), pi * pt / (pi * pt + (1 - pi) * pn)


@pytest.mark.parametrize("a,b", [(0.8, 0.2), (0.6, 0.5), (0.1, 0.7), (1.0, 0.0), (0.3, 0.0)])
def test_pooled_form_is_bayes(a, b):
    x = np.linspace(-5, 5, 201)
    f, post = _exact(x, a, b)
    assert np.allclose(weak_to_posterior(f, a, b), post, atol=1e-9)


@pytest.mark.parametrize("prior", [0.01, 0.3, 0.9])
def test_prior_form_is_bayes(prior):
    x = np.linspace(-4, 4, 101)
    f, post = _exact(x, 0.7, 0.25, prior)
    assert np.allclose(weak_to_posterior(f, 0.7, 0.25, prior=prior), post, atol=1e-9)


def test_prior_form_reduces_to_pooled_form():
    rng = np.random.default_rng(0)
    a, b = 0.65, 0.15
    lo, hi = feasible_interval(a, b)
    f = rng.uniform(lo, hi, 1000)
    assert np.allclose(weak_to_posterior(f, a, b, prior=(a + b) / 2),
                       weak_to_posterior(f, a, b), atol=1e-9)


def test_ends_and_symmetry():
    a, b = 0.8, 0.2
    lo, hi = feasible_interval(a, b)
    assert lo == pytest.approx(0.2) and hi == pytest.approx(0.8)
    assert weak_to_posterior([lo, hi], a, b).tolist() == pytest.approx([0.0, 1.0])
    assert weak_to_posterior([lo, hi], a, b, prior=0.05).tolist() == pytest.approx([0.0, 1.0])
    # swapping the roles of D1 and D2 (f -> 1 - f, a <-> b) changes nothing
    f = np.linspace(0.25, 0.75, 11)
    assert np.allclose(weak_to_posterior(f, a, b), weak_to_posterior(1 - f, b, a))


def test_clipping_is_explicit():
    g = weak_to_posterior([0.0, 1.0], 0.8, 0.2, clip=False)
    assert g[0] < 0 and g[1] > 1
    assert weak_to_posterior([0.0, 1.0], 0.8, 0.2).tolist() == [0.0, 1.0]
    assert np.isnan(weak_to_posterior([0.95], 0.8, 0.2, prior=0.3, clip=False)[0])


@pytest.mark.parametrize("kwargs,match", [
    (dict(f=[0.5], a=0.4, b=0.4), "a == b"),
    (dict(f=[0.5], a=1.2, b=0.4), "fraction"),
    (dict(f=[0.5], a=0.4, b=-0.1), "fraction"),
    (dict(f=[0.5], a=np.nan, b=0.1), "fraction"),
    (dict(f=[0.5, np.nan], a=0.8, b=0.1), "NaN"),
    (dict(f=[1.5], a=0.8, b=0.1), r"\[0, 1\]"),
    (dict(f=[0.5], a=0.8, b=0.1, prior=1.5), "fraction"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        weak_to_posterior(**kwargs)


def _scores(a, b, n, sep, rng):
    t1, t2 = rng.random(n) < a, rng.random(n) < b
    s1 = np.where(t1, rng.normal(sep, 1, n), rng.normal(-sep, 1, n))
    s2 = np.where(t2, rng.normal(sep, 1, n), rng.normal(-sep, 1, n))
    return np.r_[s1, s2], np.r_[np.ones(n, bool), np.zeros(n, bool)]


@pytest.mark.parametrize("a,b", [(0.8, 0.2), (0.6, 0.3), (0.3, 0.05)])
def test_estimate_fractions_with_anchors(a, b):
    rng = np.random.default_rng(1)
    s, d1 = _scores(a, b, 100_000, 4.0, rng)  # pure ends: separated classes
    est_a, est_b = estimate_fractions(1 / (1 + np.exp(-s)), d1, quantile=0.05)
    assert est_a == pytest.approx(a, abs=0.025)
    assert est_b == pytest.approx(b, abs=0.025)
    # only the ranking matters
    assert estimate_fractions(s ** 3, d1) == pytest.approx((est_a, est_b))


def test_estimate_fractions_biased_without_anchors():
    """Overlapping classes contaminate both ends: a is under- and b over-estimated."""
    rng = np.random.default_rng(2)
    s, d1 = _scores(0.8, 0.2, 100_000, 0.5, rng)
    est_a, est_b = estimate_fractions(s, d1, quantile=0.1)
    assert est_a < 0.75 and est_b > 0.25


def test_estimate_fractions_bad_input():
    s = np.arange(10.0)
    d1 = np.arange(10) < 5
    with pytest.raises(ValueError, match="boolean"):
        estimate_fractions(s, d1.astype(int))
    with pytest.raises(ValueError, match="same length"):
        estimate_fractions(s[:-1], d1)
    with pytest.raises(ValueError, match="quantile"):
        estimate_fractions(s, d1, quantile=0.6)
    with pytest.raises(ValueError, match="both datasets"):
        estimate_fractions(s, np.ones(10, bool))
    with pytest.raises(ValueError, match="NaN"):
        estimate_fractions(np.r_[s[:-1], np.nan], d1)
    assert set(crayfis.__all__) >= {"weak_to_posterior", "estimate_fractions"}


def test_estimate_fractions_unseparated_ends():
    # the same D1/D2 mix at both ends, or no D2 frame at either: a and b are undetermined
    s = np.arange(20.0)
    same = np.tile([True, False], 10)
    with pytest.raises(crayfis.UnseparatedScores, match="same D1/D2 mix"):
        estimate_fractions(s, same, quantile=0.1)
    middle = np.ones(20, bool)
    middle[8:12] = False
    with pytest.raises(crayfis.UnseparatedScores, match="no frame of D2"):
        estimate_fractions(s, middle, quantile=0.1)
    assert issubclass(crayfis.UnseparatedScores, ValueError)
