"""Run profiles of the CRAB chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES"]

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
