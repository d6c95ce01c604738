"""The ``full`` profiles, which no machine of the book has run: one or two training steps each.

Every chapter's ``full`` configuration is resolved as the notebook resolves it, and only the
data sizes are overridden (fewer and smaller frames, maps or segments, one or two epochs or
iterations); every other knob -- network widths, batch sizes, patch sizes and strides, crops,
tiles, learning rates, loss weights, observing conditions -- stays at its ``full`` value, and
the networks are built and trained
through the same calls as in the notebook, on the CPU. A reader who runs a ``full`` profile on
a GPU should not meet a crash that these tests would have met first. The comment of each test
says what its overrides change and why.
"""

import math

import numpy as np
import pytest
import torch

import cosmicbook as cb
from cosmicbook import crayfis, darks, deepcr, tes


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
    seed_train, seed_val, loc_train, loc_val, test, multi = ck.chapter_maps(cfg, templates)

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


def _crab_data(cfg):
    """The notebook's MC sets of the CRAB chapter: training (with its fluxes), validation,
    test (with its truth table)."""
    rng = np.random.default_rng(cfg.seed)
    flux = np.exp(rng.uniform(np.log(cfg.flux_min), np.log(cfg.flux_max), cfg.n_train))
    train = tes.simulate_tod(cfg.n_train, flux, seed=cfg.seed, progress=False)
    val = tes.simulate_tod(cfg.n_val, 1.0, seed=cfg.seed + 1, progress=False)
    test, truth = tes.simulate_glitches(cfg.n_test, 1.0, seed=cfg.seed + 2, progress=False)
    return flux, train, val, test, truth


def _train_crab(cfg, train, flux, val, loss, opt, n_critic, checkpoint=None, **changes):
    """The notebook's ``train_crab``: a fresh CRAB, one loss and optimizer pairing."""
    lr_d = {"sgd": cfg.lr_d_sgd, "adam": cfg.lr_d_adam}
    run = tes.GANConfig.from_profile(cfg).replace(loss=loss, d_optimizer=opt,
                                                  lr_d=lr_d[opt], n_critic=n_critic, **changes)
    model = tes.build_crab(train, flux, tes.CRABConfig.from_profile(cfg), seed=cfg.seed)
    history = tes.train_gan(model, train, flux, run, monitor=val,
                            monitor_flux=np.ones(cfg.n_val), seed=cfg.seed,
                            checkpoint=checkpoint, progress=False, device="cpu")
    return model, history


# The CRAB chapter's full configuration with its data and iterations shrunk: 64 training
# segments instead of 20,000 (one batch of 64 is drawn with replacement, so any count
# works), 8 validation segments instead of 512 (the diagnostics' monitor), 16 test segments
# instead of 2,000 and 8 per flux level instead of 1,000; iterations = compare_iterations =
# log_every = 1 instead of 30,000 / 5,000 / 500 (iterations must be a multiple of log_every:
# one round of one iteration still runs the diagnostics, the history row, the moving
# average and the checkpoint) and 1 discriminator pre-training step instead of 500. Batch
# size 64, the learning rates, n_critic = 5 of the WGAN-GP, ema = 0.999, every
# architecture flag and the statistic-loss weights and groups stay at their full values.
_CRAB_SHRUNK = dict(n_train=64, n_val=8, n_test=16, n_flux=8, iterations=1,
                    compare_iterations=1, log_every=1, pretrain_steps=1)


@pytest.mark.slow
def test_tes_full_profile_trains(tmp_path):
    cfg = cb.resolve_profile(tes.PROFILES, "full", **_CRAB_SHRUNK)
    flux, train, val, test, _ = _crab_data(cfg)
    mc_twin = tes.simulate_tod(cfg.n_test, 1.0, seed=cfg.seed + 3, progress=False)
    runs = {"BCE-GAN": ("bce", "sgd", 1), "WGAN-GP": ("wgan-gp", "adam", cfg.n_critic)}
    models, histories = {}, {}
    for name, (loss, opt, n_critic) in runs.items():
        ckpt = tmp_path / f"crab_{loss}_{opt}.ckpt"
        models[name], histories[name] = _train_crab(cfg, train, flux, val, loss, opt,
                                                    n_critic, ckpt)
        h = histories[name]
        assert len(h) == cfg.iterations // cfg.log_every and h["iteration"] == [1]
        assert _finite(h, "train_loss", "val_loss", "d_loss", "psd_dev", "corr_dev",
                       "diversity", *(f"stat_{k}" for k in ("psd", "correlation",
                                                             "quantile", "glitch")))
        # a re-run resumes from the finished checkpoint: the same history, no training
        _, again = _train_crab(cfg, train, flux, val, loss, opt, n_critic, ckpt)
        assert again["train_loss"] == h["train_loss"]
    assert histories["WGAN-GP"]["gp"][0] > 0 and histories["BCE-GAN"]["gp"] == [0.0]

    shape = (cfg.n_test, 4, 1060)
    generated = {n: m.generate(cfg.n_test, flux=1.0, seed=cfg.seed + 10)
                 for n, m in models.items()}
    comparisons = {n: tes.compare_tod(x, test, train) for n, x in generated.items()}
    comparisons["MC twin"] = tes.compare_tod(mc_twin, test, train)
    assert all(x.shape == shape and np.all(np.isfinite(x)) for x in generated.values())
    assert len(tes.seed_table(comparisons, histories)) >= 2
    assert models["BCE-GAN"].generate(4, 1.0, seed=0).shape == (4, 4, 1060)
    for level in (0.5, 1.0, 2.0):  # the conditional generation
        x = models["WGAN-GP"].generate(cfg.n_flux, level, seed=0)
        assert np.isfinite(tes.glitch_rate(tes.detect_glitches(x)).mean())

    path = tes.save_model(models["WGAN-GP"], tmp_path / f"crab_{cfg.name}.pt",
                          profile=cfg.name, name="WGAN-GP", knobs=dict(cfg),
                          history=histories["WGAN-GP"].state_dict()["records"])
    reloaded = tes.load_model(path)
    np.testing.assert_array_equal(reloaded.generate(4, 1.0, seed=0),
                                  models["WGAN-GP"].generate(4, 1.0, seed=0))


@pytest.mark.slow
def test_tes_full_profile_other_pairings():
    # The optimizer comparison (BCE with Adam/Adam, WGAN-GP with Adam/SGD for
    # compare_iterations) and exercise 1 (the purely adversarial BCE-GAN), shrunk as above.
    cfg = cb.resolve_profile(tes.PROFILES, "full", **_CRAB_SHRUNK)
    flux, train, val, _, _ = _crab_data(cfg)
    for loss, opt, n_critic in (("bce", "adam", 1), ("wgan-gp", "sgd", cfg.n_critic)):
        _, h = _train_crab(cfg, train, flux, val, loss, opt, n_critic,
                           iterations=cfg.compare_iterations)
        assert h["iteration"] == [cfg.compare_iterations]
        assert _finite(h, "train_loss", "d_loss", "psd_dev", "corr_dev", "diversity")
    _, h = _train_crab(cfg, train, flux, val, "bce", "sgd", 1,
                       iterations=cfg.compare_iterations, stat_weights=None)
    assert _finite(h, "train_loss", "diversity") and "stat_psd" not in h.state_dict()["records"]


@pytest.mark.slow
def test_crayfis_full_profile_weak_labels(tmp_path):
    # The weak-label half of the CRAYFIS chapter at the full profile's network settings
    # (batch 256, learning rate 1e-3) and all six gaps of its sweep. Shrunk: the frames (256
    # + 256 training frames per set instead of 100,000 -- two updates of 256 per epoch --,
    # 64 validation and 128 test frames per set instead of 10,000 and 20,000; 128 per set
    # for each sweep point and the violation instead of 50,000) and the epochs (1 instead of
    # 20 and 15).
    cfg = cb.resolve_profile(crayfis.PROFILES, "full", n_per_set=256, n_val_per_set=64,
                             n_test_per_set=128, epochs=1, sweep_n_per_set=128,
                             sweep_epochs=1)
    mix = dict(a=cfg.a, b=cfg.b, progress=False)
    train = crayfis.simulate_mixtures(cfg.n_per_set, seed=cfg.seed, **mix)
    val = crayfis.simulate_mixtures(cfg.n_val_per_set, seed=cfg.seed + 1, **mix)
    test = crayfis.simulate_mixtures(cfg.n_test_per_set, seed=cfg.seed + 2, **mix)
    train_kw = dict(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed)
    weak = crayfis.weak_experiment(train, val, test, checkpoint=tmp_path / "weak.ckpt",
                                   progress=False, **train_kw)
    oracle = crayfis.oracle_experiment(train, val, test, checkpoint=tmp_path / "oracle.ckpt",
                                       progress=False, **train_kw)
    for h in (weak.history, oracle.history):
        assert len(h) == cfg.epochs and _finite(h, "train_loss", "val_loss")
    n_test = 2 * cfg.n_test_per_set
    assert weak.f.shape == weak.g_known.shape == oracle.prob.shape == (n_test,)
    assert 0 <= weak.auc <= 1 and math.isfinite(weak.ece_known)

    n_sw = (cfg.sweep_n_per_set, cfg.sweep_n_per_set // 4, cfg.sweep_n_per_set // 2)
    sw_kw = dict(train_kw, epochs=cfg.sweep_epochs, progress=False)
    sweep = []
    for gap in cfg.sweep_gaps:
        ab = dict(a=0.5 + gap / 2, b=0.5 - gap / 2, progress=False)
        sets = [crayfis.simulate_mixtures(n, seed=cfg.seed + 10 + k, **ab)
                for k, n in enumerate(n_sw)]
        sweep.append(crayfis.weak_experiment(*sets, **sw_kw))
    bad = [crayfis.simulate_mixtures(n, seed=cfg.seed + 20 + k, violate=True, **mix)
           for k, n in enumerate(n_sw)]
    broken = crayfis.weak_experiment(*bad, **sw_kw)
    assert len(sweep) == 6 and all(0 <= r.auc <= 1 for r in [*sweep, broken])
    # after one update the smallest gaps may not separate the ends of the validation
    # scores: their a and b are then NaN (UnseparatedScores), not a crash
    assert all(np.isnan(r.a_estimated) or 0 <= r.a_estimated <= 1 for r in sweep)

    probe = crayfis.track_probability(test.frames[:8], weak.model)
    path = crayfis.save_model(weak.model, tmp_path / f"crayfis_weak_cnn_{cfg.name}.pt",
                              profile=cfg.name, knobs=dict(cfg),
                              history=weak.history.state_dict()["records"])
    np.testing.assert_allclose(crayfis.track_probability(test.frames[:8],
                                                         crayfis.load_model(path)), probe)
    assert probe.shape == (8,) and np.all((probe >= 0) & (probe <= 1))


def test_crayfis_full_profile_tan(tmp_path):
    # The TAN at the full profile's size (generator of 32 hidden channels, learning rate
    # 1e-3, matching weight 1, TANConfig's batch of 32) and its evaluation with three
    # two-sample classifiers. Shrunk: 64 unpaired training frames per readout instead of
    # 100,000 (two updates), 64 evaluation frames instead of 20,000, 1 epoch of the TAN
    # and of each two-sample classifier instead of 20.
    cfg = cb.resolve_profile(crayfis.PROFILES, "full", tan_n=64, eval_n=64, tan_epochs=1,
                             c2st_epochs=1)
    sets = crayfis.simulate_readout_sets(cfg.tan_n, cfg.eval_n, seed=cfg.seed + 30,
                                         progress=False)
    torch.manual_seed(cfg.seed)
    gen, disc = crayfis.Generator(hidden=cfg.tan_hidden), crayfis.Discriminator()
    tan_config = crayfis.TANConfig(epochs=cfg.tan_epochs, lr=cfg.tan_lr,
                                   lambda_match=cfg.tan_match)
    history = crayfis.train_tan(gen, disc, sets.approx_train, sets.real_train, tan_config,
                                seed=cfg.seed, checkpoint=tmp_path / "tan.ckpt",
                                progress=False, device="cpu")
    assert len(history) == cfg.tan_epochs
    assert _finite(history, "train_loss", "d_loss", "g_adversarial", "g_charge",
                   *(f"g_match_{k}" for k in ("size", "charge", "pixels")))

    tan_eval = crayfis.transform(gen, sets.approx, seed=cfg.seed)
    tan_other = crayfis.transform(gen, sets.approx_other, seed=cfg.seed + 1)
    assert tan_eval.shape == sets.approx.shape == (cfg.eval_n, 40, 40)
    assert tan_eval.dtype == np.uint8 and tan_other.shape == sets.approx_other.shape
    trk = sets.deposits.is_track
    dist = crayfis.distribution_distances(sets.real, tan_eval, trk, trk)
    assert all(math.isfinite(v) for v in dist.values())
    c2st = crayfis.classifier_two_sample_test(sets.real, tan_other, epochs=cfg.c2st_epochs,
                                              repeats=cfg.c2st_repeats, seed=cfg.seed,
                                              progress=False)
    assert len(c2st.aucs) == cfg.c2st_repeats and 0 <= c2st.auc <= 1
    faith = crayfis.faithfulness(sets.approx, tan_eval, trk)
    assert math.isfinite(faith["centroid shift"])
