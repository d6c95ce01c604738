"""The ``full`` profiles, which no machine of the book has run: one or two training steps each.

Every chapter's ``full`` configuration is resolved as the notebook resolves it, and only the
data sizes are overridden (fewer and smaller frames or maps, one or two epochs); every other
knob -- network widths, batch sizes, patch sizes and strides, crops, tiles, learning rates,
observing conditions -- stays at its ``full`` value, and the networks are built and trained
through the same calls as in the notebook, on the CPU. A reader who runs a ``full`` profile on
a GPU should not meet a crash that these tests would have met first. The comment of each test
says what its overrides change and why.
"""

import math

import numpy as np
import pytest
import torch

import cosmicbook as cb
from cosmicbook import darks, deepcr


def _finite(history, *keys):
    return all(math.isfinite(v) for k in keys for v in history[k])


def test_darks_full_profile_series(tmp_path):
    # The 30 exposure times of ``full`` (24 five-minute darks, up to 1800 s), on 256 x 256
    # frames instead of 4096 x 4096 (and the timing frame likewise): the notebook's pipeline
    # from the series to the library file.
    cfg = cb.resolve_profile(darks.PROFILES, "full", frame_size=256, timing_size=256)
    shape = (cfg.frame_size, cfg.frame_size)
    camera = darks.DarkCamera(shape=shape, detector_seed=cfg.seed)
    series = camera.expose_many(cfg.exptimes, seed=cfg.seed, progress=False)
    hot = darks.hot_pixel_mask([d.data for d in series], progress=False)
    extractions = [darks.extract_cosmics(d.data, mask=hot) for d in series]
    baselines = [darks.extract_threshold(d.data, nsigma=7.0, mask=hot) for d in series]
    score, baseline = (
        darks.combine_scores([darks.evaluate_extraction(lab, d)
                              for (lab, _), d in zip(found, series, strict=True)])
        for found in (extractions, baselines))
    fit = darks.fit_rate([d.exptime for d in series], [len(t) for _, t in extractions],
                         frame_shape=shape)
    library = darks.CosmicLibrary.concatenate([
        darks.CosmicLibrary.from_extraction(d, lab, tab, mask=hot)
        for d, (lab, tab) in zip(series, extractions, strict=True) if d.exptime == 300.0])
    loaded = darks.CosmicLibrary.read(library.write(tmp_path / "library.fits"))
    timing = darks.simulate_dark(shape=(cfg.timing_size,) * 2, exptime=300.0, seed=cfg.seed)
    assert len(series) == 30 and all(d.data.shape == shape for d in series)
    assert 0 < score.completeness_bright <= 1 and 0 <= baseline.purity <= 1
    assert math.isfinite(fit.rate_per_4k_frame) and fit.rate_per_4k_frame > 0
    assert len(loaded) == len(library) > 0
    assert darks.extract_cosmics(timing.data)[0].shape == timing.data.shape


@pytest.mark.slow
def test_deepcr_full_profile_trains(tmp_path):
    # The 2-32 net at the full profile's patches (256 x 256, stride 160), batch size 16,
    # learning rate and batch-norm freeze, and the halo tiling at its 1024 px tile. Shrunk:
    # the library (3 darks of 512^2 instead of 24 of 4096^2), the training data (one 416^2
    # frame: 2 x 2 overlapping patches at stride 160, 3 for training and 1 for validation, so
    # each epoch is one optimiser step on a batch of 3 -- a batch of 16 patches would cost
    # ~20 s of one CPU thread per step), 2 epochs instead of 60 (freeze_epoch(2, 0.4) = 1: the
    # second epoch trains with frozen batch norm and the lowered learning rate), the test
    # frame (1056^2: just over one tile, so that the tiling has halos and edges), and the
    # transfer map (256^2 frames, the first value of each grid, still 2 frames per point).
    cfg = cb.resolve_profile(deepcr.PROFILES, "full", library_size=512, library_darks=3,
                             frame_size=416, n_train_frames=1, test_size=1056, epochs=2,
                             transfer_size=256)
    library = deepcr.default_library((cfg.library_size,) * 2, n_darks=cfg.library_darks,
                                     seed=cfg.seed, progress=False)
    frames = deepcr.make_frames(cfg.n_train_frames, cfg.frame_size, library,
                                seed=cfg.seed + 1, exptime_range=cfg.exptime_range,
                                progress=False)
    patches = deepcr.PatchDataset.from_frames(frames, size=cfg.patch_size,
                                              stride=cfg.patch_stride)
    train, val = patches.split(0.75, seed=cfg.seed)
    test = deepcr.make_frames(1, cfg.test_size, library, seed=cfg.seed + 2,
                              exptime_range=(cfg.test_exptime,) * 2, progress=False)[0]
    assert (len(train), len(val)) == (3, 1)

    model = deepcr.UNet(2, 32)
    train_cfg = deepcr.MaskNetConfig(epochs=cfg.epochs, batch_size=cfg.batch_size,
                                     lr=cfg.lr, freeze_fraction=cfg.freeze_fraction)
    history = deepcr.train_mask_net(model, train, val, config=train_cfg,
                                    checkpoint=tmp_path / "2-32.ckpt", seed=cfg.seed,
                                    device="cpu")
    assert len(history) == 2 and _finite(history, "train_loss", "val_loss")
    assert history["lr"] == pytest.approx([cfg.lr, cfg.lr / 2.5])  # frozen after epoch 1

    prob = deepcr.predict_mask(test.image, model, tile=cfg.tile, device="cpu")
    assert prob.shape == test.image.shape and np.all((prob >= 0) & (prob <= 1))

    grids = [deepcr.make_transfer_frames(library, parameter, values[:1],
                                         size=cfg.transfer_size, n_frames=cfg.transfer_frames,
                                         seed=cfg.seed + 7, exptime=cfg.transfer_exptime,
                                         progress=False)
             for parameter, values in (("psf_sigma", cfg.psf_grid),
                                       ("read_noise", cfg.read_noise_grid),
                                       ("n_sky_lines", cfg.sky_line_grid))]
    methods = {"2-32": deepcr.network_method(model.fused(), device="cpu"),
               **deepcr.classical_methods(cfg.transfer_c2fudge, cfg.transfer_sigclip)}
    tmap = deepcr.transfer_map(methods, grids)
    assert all(len(g.frames[0]) == cfg.transfer_frames for g in grids)
    assert len(tmap) == 3 * len(methods)

    meta = {"profile": cfg.name, "config": dict(cfg),
            "history": history.state_dict()["records"]}
    weights = deepcr.save_model(model, tmp_path / f"deepcr_2-32_{cfg.name}.pt", metadata=meta)
    reloaded = deepcr.load_model(weights, device="cpu").state_dict()
    assert all(torch.equal(reloaded[k], v) for k, v in model.state_dict().items())


@pytest.mark.slow
def test_deepcr_full_profile_fine_tunes(tmp_path):
    # The fine-tuning of the shipped 2-32 weights as the full profile runs it
    # (FineTuneConfig's batches of 8 patches of 128^2, max_minutes = 3 x 20), on one clean
    # imager field of 256^2 instead of 16 of 1024^2 (2 frames of 4 patches: 6 for training,
    # 2 for validation, one optimiser step) for 1 epoch instead of 20.
    from cosmicbook.darks import DarkCamera

    cfg = cb.resolve_profile(deepcr.PROFILES, "full", imager_size=256, imager_frames=1,
                             finetune_epochs=1)
    size = cfg.imager_size
    dark_side = max(size, 512)
    camera = DarkCamera((dark_side, dark_side), detector_seed=cfg.seed + 20)
    dark_frames = [d.data for d in camera.expose_many([900.0] * 3, seed=cfg.seed + 21,
                                                      progress=False)]
    user_library = deepcr.library_from_darks(dark_frames, gain=camera.gain, exptime=900.0)
    fields = [deepcr.simulate_imager((size, size), psf_sigma=0.6, seed=cfg.seed + 30 + i)
              for i in range(cfg.imager_frames + 2)]
    tune = deepcr.FineTuneConfig(max_minutes=3 * cfg.finetune_minutes,
                                 max_epochs=cfg.finetune_epochs, seed=cfg.seed)
    tuned = deepcr.fine_tune([f.clean for f in fields[:-2]], user_library,
                             read_noise=fields[0].read_noise, n_exposures=5, config=tune,
                             out=tmp_path / "deepcr_2-32_imager.pt", device="cpu")
    assert tuned.metadata["train_patches"] == 6 and tuned.metadata["epochs"] == 1
    assert _finite(tuned.history, "train_loss", "val_loss") and tuned.path.exists()
    prob = deepcr.predict_mask(fields[-1].clean, tuned.model, device="cpu")
    assert prob.shape == (size, size)


@pytest.mark.slow
def test_cherenkov_full_profile_trains(tmp_path):
    # The three networks at the full profile's sizes -- the cleaner on whole 200 x 200 maps
    # (cleaner_crop None, batches of 32), the regressor with the seed's Dense(10^4), the
    # localiser of width 24 (batches of 64) -- on maps of all six published conditions. Shrunk:
    # the numbers of maps (one batch of each network: 32 single-source and 64 multi-source
    # training maps, a few for validation and testing) and 1 epoch each instead of 20.
    from cosmicbook import cherenkov as ck

    cfg = cb.resolve_profile(ck.PROFILES, "full", n_seed_train=32, n_seed_val=4,
                             n_loc_train=64, n_loc_val=8, n_test=4, n_multi_test=4,
                             cleaner_epochs=1, regressor_epochs=1, loc_epochs=1)
    templates = ck.build_templates(cfg.conditions)
    sim = dict(flux=cfg.flux, livetime=cfg.livetime)
    seed_train = ck.simulate_maps(cfg.n_seed_train, templates, seed=cfg.seed, **sim)
    seed_val = ck.simulate_maps(cfg.n_seed_val, templates, seed=cfg.seed + 1, **sim)
    loc_train = ck.simulate_maps(cfg.n_loc_train, templates, seed=cfg.seed + 2,
                                 n_sources=(0, 3), **sim)
    loc_val = ck.simulate_maps(cfg.n_loc_val, templates, seed=cfg.seed + 3,
                               n_sources=(0, 3), **sim)
    test = ck.simulate_maps(cfg.n_test, templates, seed=cfg.seed + 4, keep_background=True,
                            **sim)
    multi = ck.simulate_maps(cfg.n_multi_test, templates, seed=cfg.seed + 5,
                             n_sources=(0, 3), keep_background=True, **sim)

    torch.manual_seed(cfg.seed)
    cleaner = ck.CNNCleaner()
    cleaner_hist = ck.train_cleaner(
        cleaner, seed_train, seed_val,
        ck.CleanerConfig(epochs=cfg.cleaner_epochs, crop=cfg.cleaner_crop),
        seed=cfg.seed, device="cpu")
    cleaned = {name: ck.clean(maps.counts, cleaner) for name, maps in
               [("train", seed_train), ("val", seed_val), ("test", test)]}
    torch.manual_seed(cfg.seed)
    regressor = ck.CNNRegressor(dense=cfg.regressor_dense)
    regressor_hist = ck.train_regressor(
        regressor, cleaned["train"], seed_train, cleaned["val"], seed_val,
        ck.RegressorConfig(epochs=cfg.regressor_epochs), seed=cfg.seed, device="cpu")
    torch.manual_seed(cfg.seed)
    localiser = ck.HeatmapLocaliser(width=cfg.loc_width)
    loc_hist = ck.train_localiser(localiser, loc_train, loc_val,
                                  ck.LocaliserConfig(epochs=cfg.loc_epochs), seed=cfg.seed,
                                  device="cpu")

    for h in (cleaner_hist, regressor_hist, loc_hist):
        assert len(h) == 1 and _finite(h, "train_loss", "val_loss")
    assert cleaned["test"].shape == (cfg.n_test, ck.NPIX, ck.NPIX)
    assert ck.regress(test.counts, regressor, cleaner).shape == (cfg.n_test, 2)
    assert ck.heatmaps(test.counts, localiser).shape == (cfg.n_test, ck.NPIX // 4,
                                                         ck.NPIX // 4)
    threshold = ck.choose_threshold(localiser, loc_val, target=0.05)
    found = ck.localize(multi.counts, localiser, threshold=threshold)
    assert np.all(found["map"] < cfg.n_multi_test)

    for kind, net, hist in [("cleaner", cleaner, cleaner_hist),
                            ("regressor", regressor, regressor_hist),
                            ("localiser", localiser, loc_hist)]:
        path = ck.save_model(net, tmp_path / f"{kind}_{cfg.name}.pt", profile=cfg.name,
                             knobs=dict(cfg), history=hist.state_dict()["records"])
        reloaded = ck.load_model(kind, path).state_dict()
        assert all(torch.equal(reloaded[k], v) for k, v in net.state_dict().items())
