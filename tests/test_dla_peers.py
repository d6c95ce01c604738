"""The committed GP-finder comparison: reading it, comparing finders and the generated verdict."""

import json

import numpy as np
import pytest

from cosmicbook import dla


def _bins(completeness, purity, sigma, n=(10, 20, 30)):
    """Rows of binned_scores for bins 3-5, 5-20, 20-1e9 and the open bin from 5."""
    edges = [(3.0, 5.0), (5.0, 20.0), (20.0, 1e9)]
    rows = [{"low": lo, "high": hi, "n_dla": k, "completeness": c, "n_found": k,
             "purity": p, "sigma_dz": 0.002, "sigma_dlogn": s}
            for (lo, hi), k, c, p, s in zip(edges, n, completeness, purity, sigma, strict=True)]
    rows.append({"low": 5.0, "high": None, "n_dla": n[1] + n[2],
                 "completeness": completeness[-1], "n_found": n[1] + n[2],
                 "purity": purity[-1], "sigma_dz": 0.002, "sigma_dlogn": sigma[-1]})
    return rows


def _write(tmp_path, **extra):
    data = {"n_sightlines": 60, "machine": "test", "methods": {
        "CNN": {"seconds_per_sightline": 0.1,
                "bins": _bins((0.9, 0.99, 0.98), (0.8, 0.9, 0.85), (0.1, 0.09, 0.08))},
        "GP finder": {"seconds_per_sightline": 5.0,
                      "bins": _bins((1.0, 0.9, 0.9), (0.9, 0.85, 0.95), (0.12, 0.1, 0.11))},
    }, "real_spectra": {"Q1": {"CNN": {"seconds": 0.1, "absorbers": [
        {"z_abs": 2.3, "log_nhi": 21.0, "kind": "DLA"}]},
        "GP finder": {"seconds": 9.0, "absorbers": []}}}}
    data.update(extra)
    path = tmp_path / "gp.json"
    path.write_text(json.dumps(data))
    return path


def test_load_and_compare(tmp_path):
    table, meta = dla.load_gp_comparison(_write(tmp_path))
    assert len(table) == 8 and meta["n_sightlines"] == 60
    assert np.isinf(table["high"][3]) and table["seconds"][0] == 0.1
    c = dla.compare_finders(table)
    assert c["n_dla"] == 50 and c["speedup"] == pytest.approx(50.0)
    assert c["ours_purity"] == 0.85 and c["peer_purity"] == 0.95
    assert c["purity_bins_lost"] == [">20"]  # 5-20: CNN 0.9 > 0.85; >20: 0.85 < 0.95
    text = dla.describe_gp_comparison(table)
    assert "completeness 98.0 % against 90.0 % (meets the goal)" in text
    assert "purity 85.0 % against 95.0 % (misses the goal)" in text
    assert "sigma(dlogN) 0.080 dex against 0.110 dex (meets the goal)" in text
    assert "50 times faster (meets the goal of 20)" in text
    assert text.endswith("purer in the S/N bins >20.")


def test_real_spectra_rows(tmp_path):
    _, meta = dla.load_gp_comparison(_write(tmp_path))
    rows = dla.gp_real_spectra(meta)
    assert list(rows["method"]) == ["CNN", "GP finder"]
    assert rows["kind"][1] == "none" and np.isnan(rows["z_abs"][1])
    assert len(dla.gp_real_spectra({})) == 0


def test_load_gp_comparison_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmarks/dla_gp_comparison.py"):
        dla.load_gp_comparison(tmp_path / "missing.json")
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"methods": {}}))
    with pytest.raises(ValueError, match="methods"):
        dla.load_gp_comparison(path)
    table, _ = dla.load_gp_comparison(_write(tmp_path))
    with pytest.raises(ValueError, match="open S/N bin"):
        dla.compare_finders(table, peer="nobody")


def test_memory_estimate_full_profile_fits_16_gb():
    import cosmicbook as cb

    est = {p: dla.memory_estimate(cb.resolve_profile(dla.PROFILES, p))
           for p in ("ci", "book", "full")}
    assert est["ci"].total < est["book"].total < 16e9
    assert est["full"].total < 16e9  # streamed: one chunk of windows, not 200,000 sightlines
    unstreamed = cb.resolve_profile(dla.PROFILES, "full", streaming=False)
    assert dla.memory_estimate(unstreamed).total > 16e9  # what streaming avoids
