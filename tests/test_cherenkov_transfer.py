"""Transfer between observing conditions (cosmicbook.cherenkov.transfer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cosmicbook import cherenkov as ck


@pytest.fixture(scope="module")
def templates():
    return ck.build_templates([(20.0, 1.0), (60.0, 4.0)])


def test_select_keeps_one_condition(templates):
    one = templates.select([1])
    assert one.conditions == [(60.0, 4.0)]
    np.testing.assert_array_equal(one.background[0], templates.background[1])
    maps = ck.simulate_maps(5, one, seed=0)
    assert np.all(maps.condition == 0)
    with pytest.raises(ValueError, match="condition indices"):
        templates.select([2])


def test_source_significance_sees_bright_sources(templates):
    maps = ck.simulate_maps(6, templates, seed=1, n_sources=(0, 2), flux=1.0, margin=40)
    sig = ck.source_significance(maps)
    assert sig.shape == maps.x.shape
    assert np.array_equal(np.isnan(sig), np.isnan(maps.x))
    assert np.nanmin(sig) > 5  # a Crab in 100 s of the analytic IRFs


def test_transfer_table(templates):
    torch.manual_seed(0)
    nets = {"a": ck.HeatmapLocaliser(width=4), "b": ck.HeatmapLocaliser(width=4)}
    config = ck.TransferConfig(n_maps=12, n_multi=4, n_blind=1, n_fit=1,
                               flux_bins=(0.3, 1.0))
    table = ck.transfer_table(templates, nets, {"a": 0.5, "b": 0.5}, config, seed=2,
                              progress_bar=False)
    assert len(table) == 2 * 4
    assert list(table["method"][:4]) == ["a", "b", "blind search", "ML fit"]
    assert set(table["condition"]) == {"zenith 20 deg, NSB x1", "zenith 60 deg, NSB x4"}
    blind = table[table["method"] == "blind search"]
    # bright sources on the analytic IRFs: the blind search is within a PSF radius
    assert np.all(blind["err_0.3-1"] < 0.2) and np.all(blind["n_0.3-1"] == 1)
    fit = table[table["method"] == "ML fit"]
    assert np.all(fit["err_0.3-1"] < 0.2) and np.all(np.isnan(fit["completeness"]))
    assert np.all(table["completeness"][table["method"] != "ML fit"] >= 0)
    with pytest.raises(ValueError, match="no threshold"):
        ck.transfer_table(templates, nets, {"a": 0.5}, config)


def test_choose_threshold_and_config_checks(templates):
    maps = ck.simulate_maps(8, templates, seed=3, n_sources=(0, 2), flux=(0.1, 1.0),
                            margin=40)
    t = ck.choose_threshold(ck.HeatmapLocaliser(width=4), maps, grid=[0.3, 0.6, 0.9])
    assert t in (0.3, 0.6, 0.9)
    with pytest.raises(ValueError, match="target"):
        ck.choose_threshold(ck.HeatmapLocaliser(width=4), maps, target=1.5)
    with pytest.raises(ValueError, match="flux_bins"):
        ck.TransferConfig(flux_bins=(1.0, 0.1))
    with pytest.raises(ValueError, match="n_maps"):
        ck.TransferConfig(n_maps=0)


def test_describe_transfer_reports_misses():
    from astropy.table import Table

    rows = []
    for c, (mix, one, blind, fit) in {"South, 20 deg": (0.02, 0.02, 0.03, 0.015),
                                      "North, 40 deg": (0.05, 0.09, 0.04, 0.02)}.items():
        for method, err, comp in (("mix", mix, 0.9), ("one", one, 0.7),
                                  ("blind search", blind, 0.8), ("ML fit", fit, np.nan)):
            rows.append([c, method, err, 10, comp, 0.01])
    table = Table(rows=rows, names=["condition", "method", "err_0.3-1", "n_0.3-1",
                                    "completeness", "false_fraction"])
    text = ck.describe_transfer(table, mixture="mix", single="one")
    assert "less precise than the gammapy blind search in 1 of 2" in text
    assert "North, 40 deg at 0.3-1 Crab (0.050 vs 0.040 deg)" in text
    assert "1.3-2.5 times the ML fit's, beyond 2x at North, 40 deg" in text
    assert "up to 1.8 times" in text and "20 points less complete" in text
    summary = ck.transfer_summary(table, mixture="mix", single="one")
    assert summary["cells"] == 2 and summary["mixture_cells_ok"] == 1
    assert summary["single_cells_ok"] == 1
    assert summary["mixture_fit_ratio"] == pytest.approx(2.5)
    assert summary["single_fit_ratio"] == pytest.approx(4.5)
