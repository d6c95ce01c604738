"""The seed-study tables and verdicts of chapters 5 and 6 (benchmarks/gan_seed_study.py)."""

import pytest

from cosmicbook import crayfis, tes


def _crab_run(seed, lo, hi, rel, psd_ok=True):
    return {"seed": seed, "psd_range_1024": [lo, hi], "psd_range_256": [lo, hi],
            "rate_ratio": 2.0 * rel, "rate_ratio_mc": 2.0, "rate_ratio_rel": rel,
            "criteria": {"psd": psd_ok, "amplitudes": True, "correlation": True,
                         "copies": True}}


def test_crab_seed_study():
    study = {"crab": [_crab_run(1, 0.9, 1.1, 0.95), _crab_run(2, 0.8, 1.0, 0.8, False)]}
    table = tes.seed_study_table(study)
    assert list(table["seed"]) == [1, 2] and list(table["psd"]) == [True, False]
    text = tes.describe_seed_study(table)
    assert "spans 0.80-0.90 at its lowest and 1.00-1.10 at its highest" in text
    assert "within 0.85-1.18 for 1 of 2 seeds" in text
    assert "1.60-1.90 against the MC's 2.00 (0.80-0.95 of it): within 10 % for 1 of 2" in text
    assert "The psd criterion" in text and "holds for 1 of 2 seeds" in text
    assert "hold for every seed: amplitudes, correlation, copies" in text
    with pytest.raises(ValueError, match="no CRAB runs"):
        tes.seed_study_table({"tan": []})


def test_tan_seed_study():
    runs = [{"seed": s, "reduction": {"cluster size": size, "track charge": 4.0,
                                      "pixel values": 100.0},
             "c2st_max": max(aucs), "c2st_aucs": aucs}
            for s, size, aucs in ((1, 3.0, [0.5, 0.55]), (2, 5.0, [0.52, 0.7]))]
    table = crayfis.tan_seed_study_table({"tan": runs})
    assert list(table["size"]) == [3.0, 5.0] and table["c2st_aucs"][1] == "0.520, 0.700"
    text = crayfis.describe_tan_seed_study(table)
    assert "size distance 3.0-5.0 times" in text and "charge distance 4.0-4.0" in text
    assert "for 1 and 2 of 2 seeds" in text
    assert "of 2 classifiers per seed is 0.550-0.700" in text
    assert "at or below 0.6 for 1 of 2 seeds" in text
    with pytest.raises(ValueError, match="no TAN runs"):
        crayfis.tan_seed_study_table({"crab": []})
