"""The three networks: shapes, the seed's layer table, input checks, losses, a tiny overfit."""

import numpy as np
import pytest
import torch

import cosmicbook as cb
from cosmicbook import cherenkov as ck
from cosmicbook.cherenkov.training import focal_loss


def test_cleaner_is_the_seeds_autoencoder():
    model = ck.CNNCleaner()
    x = torch.rand(2, 1, 200, 200)
    with torch.no_grad():
        y = model(x)
    assert y.shape == (2, 1, 200, 200)
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(2, 2)] * 5
    assert [c.out_channels for c in convs] == [12, 12, 12, 12, 1]
    pools = [m for m in model.modules() if isinstance(m, torch.nn.AvgPool2d)]
    assert len(pools) == 2
    # 200 -> 50 at the bottleneck
    h = x
    with torch.no_grad():
        for layer in list(model.net)[:7]:
            h = layer(h)
    assert h.shape[-1] == 50
    assert ck.count_parameters(model) == 4 * 12 + 12 + 3 * (4 * 144 + 12) + 4 * 12 + 1


def test_regressor_is_the_seeds_localiser():
    seed = ck.CNNRegressor()  # Dense(10^4)
    assert ck.count_parameters(seed) == 4352168
    small = ck.CNNRegressor(dense=32)
    out = small.eval()(torch.rand(3, 1, 200, 200))
    assert out.shape == (3, 2)
    assert torch.all((out > 0) & (out < 1))
    with pytest.raises(ValueError):
        small(torch.rand(3, 1, 100, 100))


def test_localiser_shapes_and_input_checks():
    model = ck.HeatmapLocaliser(width=8).eval()
    out = model(torch.rand(2, 2, 50, 50))
    assert out.shape == (2, 1, 50, 50)
    with pytest.raises(ValueError):
        model(torch.rand(2, 1, 50, 50))
    with pytest.raises(ValueError):
        ck.CNNCleaner()(torch.rand(1, 1, 50, 50, 2))
    with pytest.raises(ValueError):
        ck.CNNCleaner()(torch.rand(1, 1, 198, 198))


def test_focal_loss():
    target = torch.zeros(1, 1, 10, 10)
    target[0, 0, 4, 4] = 1.0
    good = torch.full((1, 1, 10, 10), -8.0)
    good[0, 0, 4, 4] = 8.0
    bad = -good
    assert float(focal_loss(good, target)) < 0.01
    assert float(focal_loss(bad, target)) > 10 * float(focal_loss(good, target))
    # no source: normalised by 1, small when the map is empty
    assert float(focal_loss(torch.full((1, 1, 10, 10), -8.0), torch.zeros(1, 1, 10, 10))) < 1e-3


def test_heatmap_targets_and_cells():
    x = np.array([[10.3, np.nan]])
    y = np.array([[50.9, np.nan]])
    t = ck.heatmap_targets(x, y, 200)
    assert t.shape == (1, 1, 50, 50)
    iy, ix = np.unravel_index(np.argmax(t[0, 0]), (50, 50))
    assert (ix, iy) == (2, 12)  # cells (10.3 + 0.5) / 4 - 0.5 = 2.2 and 12.35
    assert t[0, 0, iy, ix] == 1.0 and (t == 1.0).sum() == 1
    from cosmicbook.cherenkov.preprocess import cell_to_pixel, pixel_to_cell

    assert cell_to_pixel(pixel_to_cell(37.2)) == pytest.approx(37.2)
    assert pixel_to_cell(1.5) == pytest.approx(0.0)


def test_preprocessing():
    counts = np.zeros((2, 200, 200))
    counts[0, 100, 50] = 30
    inp = ck.cleaner_inputs(counts)
    assert inp.shape == (2, 1, 200, 200)
    assert inp[0].max() == pytest.approx(1.0) and inp[0].min() == 0.0
    assert np.all(inp[1] == 0)  # an empty map stays empty, no division by zero
    loc = ck.localiser_inputs(counts)
    assert loc.shape == (2, 2, 50, 50)
    assert loc[0, 0, 25, 12] == pytest.approx(2 * np.sqrt(30.375) - 2 * np.sqrt(0.375))


def test_localiser_overfits_a_few_maps():
    templates = ck.build_templates([(20.0, 1.0)])
    maps = ck.simulate_maps(16, templates, seed=1, flux=(0.3, 1.0), n_sources=1)
    torch.manual_seed(0)
    model = ck.HeatmapLocaliser(width=8)
    hist = ck.train_localiser(model, maps, maps,
                              ck.LocaliserConfig(epochs=25, batch_size=16, lr=1e-2),
                              progress=False)
    assert hist["train_loss"][-1] < 0.5 * hist["train_loss"][0]
    heat = ck.heatmaps(maps.counts, model)
    iy, ix = np.unravel_index(np.argmax(heat.reshape(16, -1), axis=1), (50, 50))
    from cosmicbook.cherenkov.preprocess import pixel_to_cell

    near = np.hypot(ix - pixel_to_cell(maps.x[:, 0]), iy - pixel_to_cell(maps.y[:, 0])) < 2
    assert near.mean() >= 0.75


def test_regressor_trains_from_a_config():
    """``train_regressor`` trains the caller's network as a RegressorConfig says."""
    templates = ck.build_templates([(20.0, 1.0)])
    maps = ck.simulate_maps(8, templates, seed=2, flux=(0.3, 1.0), n_sources=1)
    cleaned = np.random.default_rng(0).random((8, 200, 200)).astype(np.float32)
    config = ck.RegressorConfig(epochs=2, batch_size=4, lr=1e-3)
    model = ck.CNNRegressor(dense=8, dropout=0.0)
    before = [p.detach().clone() for p in model.parameters()]
    hist = ck.train_regressor(model, cleaned, maps, cleaned, maps, config, progress=False)
    assert isinstance(hist, cb.History) and len(hist) == 2
    assert not any(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert ck.RegressorConfig() == ck.RegressorConfig(epochs=5, batch_size=32, lr=1e-3)
    with pytest.raises(TypeError, match="RegressorConfig"):
        ck.train_regressor(model, cleaned, maps, cleaned, maps, {"epochs": 2}, progress=False)
    with pytest.raises(TypeError, match="CNNRegressor"):
        ck.train_regressor(ck.CNNCleaner(4), cleaned, maps, cleaned, maps, config,
                           progress=False)
    with pytest.raises(ValueError, match="100 x 100"):
        ck.train_regressor(ck.CNNRegressor(dense=8, size=100), cleaned, maps, cleaned, maps,
                           config, progress=False)


def test_training_functions_check_model_and_config():
    templates = ck.build_templates([(20.0, 1.0)])
    maps = ck.simulate_maps(4, templates, seed=2, flux=(0.3, 1.0), n_sources=1)
    with pytest.raises(TypeError, match="CNNCleaner"):
        ck.train_cleaner(ck.HeatmapLocaliser(4), maps, maps, progress=False)
    with pytest.raises(TypeError, match="CleanerConfig"):
        ck.train_cleaner(ck.CNNCleaner(4), maps, maps, ck.LocaliserConfig(), progress=False)
    with pytest.raises(TypeError, match="HeatmapLocaliser"):
        ck.train_localiser(ck.CNNCleaner(4), maps, maps, progress=False)
    with pytest.raises(ValueError, match="input channels"):
        ck.train_localiser(ck.HeatmapLocaliser(4, in_channels=1), maps, maps, progress=False)
    with pytest.raises(ValueError, match="crop"):
        ck.train_cleaner(ck.CNNCleaner(4), maps, maps, ck.CleanerConfig(crop=400),
                         progress=False)
    for bad in (dict(crop=30), dict(crop=4), dict(epochs=0), dict(lr=0.0), dict(batch_size=1.5)):
        with pytest.raises(ValueError):
            ck.CleanerConfig(**bad)
    with pytest.raises(ValueError, match="epochs"):
        ck.LocaliserConfig(epochs=True)
    with pytest.raises(ValueError, match="lr"):
        ck.RegressorConfig(lr=float("nan"))


def test_cleaner_trains_the_callers_network_in_place(tmp_path):
    """The caller seeds and builds the network; the same seed gives the same run, and a
    finished checkpoint is returned without training."""
    templates = ck.build_templates([(20.0, 1.0)])
    maps = ck.simulate_maps(6, templates, seed=4, flux=(0.3, 1.0), n_sources=1)
    config = ck.CleanerConfig(epochs=2, batch_size=3, crop=32)
    runs = []
    for ckpt in (tmp_path / "a.pt", tmp_path / "a.pt", None):
        torch.manual_seed(7)
        model = ck.CNNCleaner(4)
        hist = ck.train_cleaner(model, maps, maps, config, seed=7, checkpoint=ckpt,
                                device="cpu", progress=False)
        runs.append((model, hist))
    (m1, h1), (m2, h2), (m3, h3) = runs
    assert isinstance(h1, cb.History) and len(h1) == 2 and not m1.training
    assert h1["val_loss"] == h2["val_loss"] == h3["val_loss"]
    for other in (m2, m3):
        assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(),
                                                      other.state_dict().values(), strict=True))
