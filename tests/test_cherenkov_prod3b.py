"""IRFs from CTAO's published prod3b-v2 curves (cosmicbook.cherenkov.prod3b)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest

from cosmicbook.cherenkov import prod3b

CONDITIONS = [(site, zenith) for site in prod3b.SITES for zenith in prod3b.ZENITHS]


@pytest.fixture(scope="module", params=CONDITIONS, ids=lambda c: f"{c[0]}-{c[1]}")
def built(request):
    site, zenith = request.param
    return prod3b.prod3b_curves(site, zenith), prod3b.make_prod3b_irfs(site, zenith)


def test_effective_area_at_the_tabulated_energies(built):
    curves, irfs = built
    area = irfs["aeff"].evaluate(energy_true=curves.energy_aeff * u.TeV, offset=0 * u.deg)
    np.testing.assert_allclose(area.to_value("m2"), curves.aeff, rtol=0.01)
    # the offset dependence lowers it off axis
    off = irfs["aeff"].evaluate(energy_true=1 * u.TeV, offset=3 * u.deg)
    on = irfs["aeff"].evaluate(energy_true=1 * u.TeV, offset=0 * u.deg)
    assert 0.2 < float(off / on) < 0.7


def test_psf_68_percent_containment(built):
    curves, irfs = built
    r68 = irfs["psf"].containment_radius(0.68, energy_true=curves.energy_psf * u.TeV,
                                         offset=0 * u.deg)
    np.testing.assert_allclose(r68.to_value("deg"), curves.r68, rtol=0.05)
    wide = irfs["psf"].containment_radius(0.68, energy_true=1 * u.TeV, offset=3 * u.deg)
    assert wide > irfs["psf"].containment_radius(0.68, energy_true=1 * u.TeV,
                                                 offset=0 * u.deg)


def test_background_rate_over_a_map_energy_range(built):
    curves, irfs = built
    lo = max(0.05, curves.bkg_edges[0, 0])
    hi = min(50.0, curves.bkg_edges[-1, 1])
    energy = np.geomspace(lo, hi, 4001) * u.TeV
    rate = irfs["bkg"].evaluate(energy=energy, offset=0 * u.deg).to_value("s-1 TeV-1 deg-2")
    integral = np.trapezoid(rate, energy.to_value("TeV"))
    assert integral == pytest.approx(curves.background_rate(lo, hi), rel=0.05)
    # and nothing beyond the published range
    below = irfs["bkg"].evaluate(energy=curves.bkg_edges[0, 0] / 2 * u.TeV, offset=0 * u.deg)
    assert below.to_value("s-1 TeV-1 deg-2") < 1e-6 * rate.max()


def test_energy_dispersion_has_the_published_width(built):
    curves, irfs = built
    edisp = irfs["edisp"]
    e_true = edisp.axes["energy_true"].center.to_value("TeV")
    i = int(np.argmin(np.abs(np.log(e_true))))  # the bin nearest 1 TeV
    migra = edisp.axes["migra"]
    pdf = edisp.data[i, :, 0] * migra.bin_width.to_value("")
    mu = migra.center.to_value("")
    width = np.sqrt(np.sum(pdf * (mu - 1) ** 2) / np.sum(pdf))
    expected = np.interp(np.log(e_true[i]), np.log(curves.energy_eres), curves.eres)
    assert width == pytest.approx(expected, rel=0.05)


def test_irfs_name_their_origin():
    irfs = prod3b.make_prod3b_irfs("north", 40)
    assert irfs["aeff"].meta["ZENITH"] == 40 and "North" in irfs["aeff"].meta["INSTRUME"]
    assert "CC BY" in irfs["bkg"].meta["CREDIT"]


def test_zenith_interpolation_lies_between_the_tables():
    c20, c40 = prod3b.prod3b_curves("south", 20), prod3b.prod3b_curves("south", 40)
    c30 = prod3b.prod3b_curves("south", 30, interpolate=True)
    assert c30.zenith == 30.0
    a20 = np.interp(1.0, c20.energy_aeff, c20.aeff)
    a40 = np.interp(1.0, c40.energy_aeff, c40.aeff)
    a30 = np.interp(1.0, c30.energy_aeff, c30.aeff)
    assert min(a20, a40) <= a30 <= max(a20, a40)
    assert prod3b.make_prod3b_irfs("south", 30, interpolate=True)["aeff"].meta["ZENITH"] == 30


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"site": "east"}, "unknown site 'east'"),
    ({"zenith": 30}, "tabulated: (20, 40, 60)"),
    ({"zenith": 70, "interpolate": True}, "outside the tabulated range"),
    ({"zenith": float("nan")}, "finite"),
])
def test_bad_conditions_say_what_is_available(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prod3b.prod3b_curves(**kwargs)


def test_missing_table_lists_what_is_there(tmp_path):
    (tmp_path / "other.txt").write_text("x")
    with pytest.raises(ValueError, match="is missing .* available: \\['other.txt'\\]"):
        prod3b.prod3b_curves("south", 20, table_dir=tmp_path)


def test_read_performance_table(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("header\nE (TeV)  value\n------- ------\n0.1  3.0\n\n1.0  2e+01\n")
    np.testing.assert_array_equal(prod3b.read_performance_table(path), [[0.1, 3.0], [1, 20]])
    with pytest.raises(FileNotFoundError):
        prod3b.read_performance_table(tmp_path / "none.txt")
    for body, message in [("no dashes\n0.1 1\n", "dashes"),
                          ("---\n", "no data rows"),
                          ("---\n0.1 1\n1.0 1 2\n", "2 or 3 columns"),
                          ("---\n0.1 one\n", "not a row of numbers"),
                          ("---\n0.1 -1\n", "finite and positive"),
                          ("---\n1.0 1\n0.1 1\n", "increase"),
                          ("---\n0.2 0.1 1\n", "upper edge")]:
        path.write_text(body)
        with pytest.raises(ValueError, match=message):
            prod3b.read_performance_table(path)


def test_background_nodes_integrate_to_the_rates():
    edges = np.array([[0.1, 0.2], [0.2, 0.5], [0.5, 1.0], [1.0, 3.0]])
    rate = np.array([2.0, 1.5, 0.3, 0.05])
    nodes, values = prod3b.background_nodes(edges, rate)
    for (lo, hi), r in zip(edges, rate, strict=True):
        e = np.geomspace(lo, hi, 2001)
        curve = np.exp(np.interp(np.log(e), np.log(nodes), np.log(values)))
        assert np.trapezoid(curve, e) == pytest.approx(r, rel=1e-3)


def test_offset_dependence_validates():
    with pytest.raises(ValueError, match="aeff_sigma"):
        prod3b.OffsetDependence(aeff_sigma=0.0)


@pytest.fixture(scope="module")
def south_templates():
    from cosmicbook import cherenkov as ck

    return ck.build_templates([("south", 20), (60.0, 4.0)])


def test_templates_and_gammapy_datasets_share_the_background(south_templates):
    """Maps simulated from published IRFs, and the gammapy analysis of them, see the same
    background -- also for spectra that are not one power law (curved prod3b background,
    the analytic IRFs at high zenith and NSB)."""
    from cosmicbook import cherenkov as ck

    templates = south_templates
    assert templates.conditions[0] == ("south", 20)
    per_map = templates.background.sum(axis=(1, 2))
    # the published South array sees thousands of background events per 100 s map
    assert 1e3 < per_map[0] < 2e4 and per_map[1] < 1e3
    maps = ck.simulate_maps(2, templates, seed=3, flux=1.0, livetime=100.0, margin=40)
    analysis = ck.GammapyAnalysis(templates)
    for i in range(2):
        ds = analysis.dataset(maps, i)
        scale = maps.livetime[i] / templates.livetime
        expected = templates.background[int(maps.condition[i])].sum() * scale
        assert ds.background.data.sum() == pytest.approx(expected, rel=1e-6)
        assert ds.mask_safe.data.sum() > 0.5 * ds.mask_safe.data.size
        # a Crab-like source stands out of the background for the blind search
        peaks = analysis.blind_search(maps, i)
        assert peaks and peaks[0].value > 5
