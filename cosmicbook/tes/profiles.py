"""Run profiles of the CRAB chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES", "memory_estimate"]

#: Knobs of ``notebooks/05_crab``:
#:
#: ``n_train``, ``n_val``, ``n_test``
#:     Monte-Carlo segments (1060 samples x 4 bolometers) for training, for the diagnostics
#:     logged during training, and held out for the final comparison.
#: ``flux_min``, ``flux_max``
#:     training segments have a cosmic-ray flux drawn log-uniformly in this range (Planck at
#:     L2 = 1); the GANs are conditional on it. Validation and test MC have flux 1.
#: ``iterations``
#:     generator updates of each of the two main GANs (BCE with the seed's Adam/SGD pair,
#:     WGAN-GP with Adam/Adam).
#: ``compare_iterations``
#:     generator updates of the runs with the other optimizer pairing (BCE with Adam/Adam,
#:     WGAN-GP with Adam/SGD), compared with the main runs at the same iteration.
#: ``pretrain_steps``
#:     discriminator-only updates before the joint training (the seed's step 1).
#: ``batch_size``, ``lr_g``, ``lr_d_sgd``, ``lr_d_adam``, ``n_critic``
#:     optimisation; ``n_critic`` discriminator updates per generator update (WGAN-GP).
#: ``log_every``
#:     iterations between diagnostics and checkpoints.
#: ``scale``
#:     s of the compressed representation asinh(x / s), in sigma units.
#: ``n_flux``
#:     segments per flux level in the check of the conditional generation.
#: ``noise_inputs``
#:     inject per-sample noise into the generator (not in the seed; see the chapter).
#: ``white_noise``, ``red_noise``
#:     end the generator with additive white (and 1/f) Gaussian noise of learned covariance
#:     (and index) in sigma units, started from the training data's white noise (not in the
#:     seed).
#: ``bounded``
#:     soft-limit the generator's output to the training data's range (not in the seed).
#: ``film``
#:     feed the flux to every upsampling stage of the generator (FiLM; not in the seed).
#: ``ema``
#:     decay of the moving average of the generator's weights that is returned (0: the
#:     last iterate, as in the seed).
#: ``d_norm``
#:     the discriminator's layer normalisation: "channel" (the seed's), "segment" or "none".
#: ``w_psd``, ``w_corr``, ``w_quantile``, ``w_peak``, ``w_glitch``, ``stat_groups``
#:     weights of the statistic-matching generator losses (``train_gan(stat_weights=...)``:
#:     log band power, bolometer correlation, marginal values, tail of the local extremes,
#:     soft glitch counts above amplitude thresholds; not in the seed, 0 switches one off)
#:     and the flux groups of the marginal ones.
#: ``timing_repeat``
#:     runs of the one-hour timing (the best counts).
#: ``seed``
#:     seeds simulation and training.
PROFILES: dict[str, dict] = {
    "ci": {
        "n_train": 128, "n_val": 32, "n_test": 64, "flux_min": 0.5, "flux_max": 2.0,
        "iterations": 10, "compare_iterations": 5, "pretrain_steps": 2, "batch_size": 16,
        "lr_g": 5e-4, "lr_d_sgd": 0.02, "lr_d_adam": 5e-4, "n_critic": 1, "log_every": 5,
        "scale": 3.0, "n_flux": 32, "noise_inputs": True, "white_noise": True,
        "red_noise": True, "bounded": True, "film": True, "ema": 0.8, "d_norm": "channel",
        "w_psd": 10.0, "w_corr": 10.0, "w_quantile": 10.0, "w_peak": 0.0, "w_glitch": 2.0,
        "stat_groups": 4,
        "timing_repeat": 1, "seed": 2024,
    },
    # three to four minutes per main GAN on one (shared) CPU thread
    "book": {
        "n_train": 1000, "n_val": 128, "n_test": 400, "flux_min": 0.5, "flux_max": 2.0,
        "iterations": 400, "compare_iterations": 50, "pretrain_steps": 50, "batch_size": 32,
        "lr_g": 5e-4, "lr_d_sgd": 0.02, "lr_d_adam": 5e-4, "n_critic": 1, "log_every": 50,
        "scale": 3.0, "n_flux": 200, "noise_inputs": True, "white_noise": True,
        "red_noise": True, "bounded": True, "film": True, "ema": 0.99, "d_norm": "channel",
        "w_psd": 10.0, "w_corr": 10.0, "w_quantile": 10.0, "w_peak": 0.0, "w_glitch": 2.0,
        "stat_groups": 4,
        "timing_repeat": 3, "seed": 2024,
    },
    # the seed's scale of training for a GPU: tens of thousands of segments and iterations
    "full": {
        "n_train": 20000, "n_val": 512, "n_test": 2000, "flux_min": 0.5, "flux_max": 2.0,
        "iterations": 30000, "compare_iterations": 5000, "pretrain_steps": 500,
        "batch_size": 64, "lr_g": 2e-4, "lr_d_sgd": 0.02, "lr_d_adam": 2e-4, "n_critic": 5,
        "log_every": 500, "scale": 3.0, "n_flux": 1000, "noise_inputs": True,
        "white_noise": True, "red_noise": True, "bounded": True, "film": True, "ema": 0.999,
        "d_norm": "channel", "w_psd": 10.0, "w_corr": 10.0, "w_quantile": 10.0,
        "w_peak": 0.0, "w_glitch": 2.0, "stat_groups": 4, "timing_repeat": 3, "seed": 2024,
    },
}


def memory_estimate(cfg):
    """What a profile's training holds in memory (:class:`~cosmicbook.core.MemoryEstimate`).

    The networks: the CRAB generator and discriminator as
    ``build_crab(train, flux, CRABConfig.from_profile(cfg))`` builds them (on 32 simulated
    segments of the chapter's shape), in the larger of the notebook's two main trainings --
    the BCE GAN of :meth:`GANConfig.from_profile <cosmicbook.tes.GANConfig.from_profile>`
    (Adam for the generator, SGD for the discriminator) and the WGAN-GP (Adam for both) --
    at ``batch_size``, plus the moving average of the generator's weights (``ema``). A
    discriminator update holds its graph for a real and a generated batch (WGAN-GP: also the
    gradient penalty's interpolates and their double-backward graph, counted as two more
    batches), a generator update the generator's and the discriminator's graphs for one
    batch; the larger counts. The tensors of the statistic-matching losses (band powers,
    sorted values) are not counted.

    The data, in segments of ``n_bolometers x n_samples`` float32 (measured on the sample):
    what the notebook keeps -- the training MC and its fluxes, the validation MC, the test MC
    with its truth table (bytes per segment measured at flux 1) and the MC twin -- plus the
    larger of two moments: the training, in which :func:`~cosmicbook.tes.train_gan` holds a
    float64 copy of the training MC and of the validation MC (with its compressed float32
    copy), or the evaluation, with each GAN's ``n_test`` generated segments, the MC and the
    two GANs' ``n_flux`` segments at one flux level and the two hours of MC and of each GAN
    of exercise 3. The compressed float32 training set and its conditions, which
    ``train_gan`` moves to the device once, are ``device_data``. The simulator's working
    memory (one chunk at a time, ~0.13 GB) is not counted. The global random states are left
    untouched.

    Parameters
    ----------
    cfg : Profile
        A resolved profile of :data:`PROFILES`.
    """
    import dataclasses
    import math

    import numpy as np
    import torch

    from cosmicbook.core.memory import estimate_training_memory, isolated_rng
    from cosmicbook.tes.model import CRABConfig, build_crab
    from cosmicbook.tes.simulate import segment_seconds, simulate_glitches
    from cosmicbook.tes.training import GANConfig

    n = 32
    main = GANConfig.from_profile(cfg)
    runs = [main, main.replace(loss="wgan-gp", d_optimizer="adam", lr_d=cfg.lr_d_adam,
                               n_critic=cfg.n_critic)]
    # build_crab seeds torch (as torch.manual_seed does): the CPU's state is restored, and so
    # are the CUDA devices' once CUDA is initialised (before, the seeding waits for it and
    # uses the profile's seed, which seed_everything(cfg.seed) has queued already)
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with isolated_rng(), torch.random.fork_rng(devices=cuda):
        sample, truth = simulate_glitches(n, 1.0, seed=0, progress=False)
        flux = np.geomspace(cfg.flux_min, cfg.flux_max, n)
        model = build_crab(sample, flux, CRABConfig.from_profile(cfg), seed=cfg.seed)
        gen, disc = model.generator, model.discriminator
        cond = torch.zeros(2, gen.n_cond)
        z = torch.zeros(2, gen.latent_dim)
        x = torch.zeros(2, *sample.shape[1:])
        nets = []
        for run in runs:
            g = estimate_training_memory(gen, (z, cond), run.batch_size)
            d = estimate_training_memory(disc, (x, cond), run.batch_size,
                                         optimizer_states=2 if run.d_optimizer == "adam" else 0)
            critic = (2 if run.loss == "bce" else 4) * d.activations
            both = g + d
            nets.append(dataclasses.replace(
                both, weights=both.weights + (g.weights if run.ema > 0 else 0),
                activations=max(g.activations + d.activations, critic)))
    net = max(nets, key=lambda e: e.device)

    segment = sample.nbytes / n                   # float32 (n_bolometers, n_samples)
    truth_segment = sum(truth[c].nbytes for c in truth.colnames) / n
    fluxes = 2 * np.dtype(np.float64).itemsize    # train_flux and its log
    kept = (cfg.n_train * (segment + fluxes) + cfg.n_val * segment
            + cfg.n_test * (2 * segment + truth_segment))
    training = 2 * segment * cfg.n_train + 3 * segment * cfg.n_val
    n_two = 2 * math.ceil(3600 / segment_seconds())  # exercise 3: two hours
    evaluation = (2 * cfg.n_test + 3 * cfg.n_flux + 3 * n_two) * segment + n_two * truth_segment
    device = cfg.n_train * (segment + np.dtype(np.float32).itemsize)
    return dataclasses.replace(net, data=int(kept + max(training, evaluation)),
                               device_data=int(device))
