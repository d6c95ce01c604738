"""Run profiles of the Cherenkov chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES", "memory_estimate"]

#: Knobs of ``notebooks/04_cherenkov``:
#:
#: ``conditions``
#:     observing conditions, one gammapy template each: ``(site, zenith)`` for the response
#:     CTAO published (prod3b-v2, :mod:`~cosmicbook.cherenkov.prod3b`), or ``(zenith, NSB)``
#:     for the analytic CTA-like IRFs (:func:`~cosmicbook.cherenkov.irf.make_cta_irfs`).
#: ``n_seed_train``, ``n_seed_val``
#:     single-source maps for the seed's CNN-cleaner and CNN-regressor (the seed: 8k / 2k).
#: ``n_loc_train``, ``n_loc_val``
#:     maps with 0-3 sources for the heat-map localiser.
#: ``n_test``, ``n_multi_test``
#:     held-out single-source maps, and held-out maps with 0-3 sources.
#: ``n_blind_per_bin``, ``n_fit_per_bin``, ``n_fit_crab``
#:     test maps per flux bin analysed with the gammapy blind search and with the gammapy
#:     maximum-likelihood fit (seconds per map), and ML fits in the Crab-level bin (0.3-1
#:     Crab) of the "within 2x of the ML fit" criterion.
#: ``cleaner_epochs``, ``cleaner_crop``
#:     training epochs of the cleaner and the size of the training crops (None: whole maps).
#: ``regressor_dense``, ``regressor_epochs``
#:     dense units of the seed's regressor (the seed: 10,000) and its epochs.
#: ``loc_width``, ``loc_epochs``
#:     channels of the heat-map localiser and its epochs.
#: ``flux``
#:     range of source fluxes in Crab units (log-uniform).
#: ``livetime``
#:     range of live times, s (log-uniform; the seed: 100 s).
#: ``transfer_maps``, ``transfer_multi``, ``transfer_blind``, ``transfer_fit``
#:     per condition of the transfer study (:class:`~cosmicbook.cherenkov.TransferConfig`):
#:     single-source maps, maps with 0-3 sources, blind searches per flux bin and ML fits in
#:     the brightest bin.
#: ``seed``
#:     seeds simulation and training.
#: Every published condition: both arrays at 20, 40 and 60 deg zenith.
PUBLISHED = [(site, zenith) for site in ("south", "north") for zenith in (20, 40, 60)]

PROFILES: dict[str, dict] = {
    "ci": {
        "conditions": [("south", 20), ("north", 40)],
        "n_seed_train": 96, "n_seed_val": 32, "n_loc_train": 256, "n_loc_val": 64,
        "n_test": 100, "n_multi_test": 40, "n_blind_per_bin": 2, "n_fit_per_bin": 0,
        "n_fit_crab": 1, "cleaner_epochs": 1, "cleaner_crop": 64, "regressor_dense": 64,
        "regressor_epochs": 1,
        "loc_width": 8, "loc_epochs": 1, "flux": (0.003, 1.0), "livetime": (50.0, 200.0),
        "transfer_maps": 24, "transfer_multi": 8, "transfer_blind": 1, "transfer_fit": 1,
        "seed": 5,
    },
    # minutes of training on one CPU thread; the gammapy ML fit on 4 maps per flux bin and 10
    # Crab-level maps
    "book": {
        "conditions": PUBLISHED,
        "n_seed_train": 1500, "n_seed_val": 200, "n_loc_train": 3500, "n_loc_val": 300,
        "n_test": 1000, "n_multi_test": 400, "n_blind_per_bin": 40, "n_fit_per_bin": 4,
        "n_fit_crab": 10, "cleaner_epochs": 8, "cleaner_crop": 64, "regressor_dense": 512,
        "regressor_epochs": 4,
        "loc_width": 12, "loc_epochs": 5, "flux": (0.003, 1.0), "livetime": (50.0, 200.0),
        "transfer_maps": 300, "transfer_multi": 60, "transfer_blind": 12, "transfer_fit": 4,
        "seed": 5,
    },
    # the seed's scale (8k / 2k / 2k maps, Dense(10^4), whole maps) for a GPU
    "full": {
        "conditions": PUBLISHED,
        "n_seed_train": 8000, "n_seed_val": 2000, "n_loc_train": 40000, "n_loc_val": 2000,
        "n_test": 2000, "n_multi_test": 2000, "n_blind_per_bin": 400, "n_fit_per_bin": 40,
        "n_fit_crab": 100, "cleaner_epochs": 20, "cleaner_crop": None, "regressor_dense": 10000,
        "regressor_epochs": 20, "loc_width": 24, "loc_epochs": 20, "flux": (0.003, 1.0),
        "livetime": (50.0, 200.0), "transfer_maps": 2000, "transfer_multi": 400,
        "transfer_blind": 100, "transfer_fit": 20, "seed": 5,
    },
}


def memory_estimate(cfg):
    """What a profile's training holds in memory (:class:`~cosmicbook.core.MemoryEstimate`).

    The network: the largest of the three trainings (cleaner on ``cleaner_crop`` crops or
    whole maps, regressor with ``regressor_dense`` units, localiser of ``loc_width``) at the
    batch size the notebook trains it with; they run one after the other. The data: the
    counts maps the notebook keeps (``CountsMaps``: uint16 counts and source maps, float32
    expected background for the test maps) plus the larger of two moments -- the cleaner's
    training, which adds its float32 inputs and targets (whole maps, then the crops), or
    the second localiser's, after the cleaned maps and the single-condition maps have joined
    them, which adds the localiser's inputs and heat-map targets. The bytes per map of the
    network inputs are measured on two empty maps. The gammapy templates (a few MB) and the
    transfer study's maps (simulated one condition at a time) are not counted. The global
    random states are left untouched.

    Parameters
    ----------
    cfg : Profile
        A resolved profile of :data:`PROFILES`.
    """
    import dataclasses

    import numpy as np
    import torch

    from cosmicbook.cherenkov.model import CNNCleaner, CNNRegressor, HeatmapLocaliser
    from cosmicbook.cherenkov.preprocess import (
        cleaner_inputs,
        cleaner_targets,
        heatmap_targets,
        localiser_inputs,
    )
    from cosmicbook.cherenkov.simulate import NPIX
    from cosmicbook.cherenkov.training import CleanerConfig, LocaliserConfig, RegressorConfig
    from cosmicbook.core.memory import estimate_training_memory, isolated_rng

    empty = np.zeros((2, NPIX, NPIX), np.uint16)
    nan = np.full((2, 1), np.nan)
    x_clean, y_clean = cleaner_inputs(empty), cleaner_targets(empty)
    x_loc, y_loc = localiser_inputs(empty), heatmap_targets(nan, nan, NPIX)
    crop = NPIX if cfg.cleaner_crop is None else cfg.cleaner_crop
    with isolated_rng():
        nets = [
            estimate_training_memory(CNNCleaner(), torch.zeros(2, 1, crop, crop),
                                     CleanerConfig(crop=cfg.cleaner_crop).batch_size),
            estimate_training_memory(CNNRegressor(dense=cfg.regressor_dense),
                                     torch.zeros(2, 1, NPIX, NPIX), RegressorConfig().batch_size),
            estimate_training_memory(HeatmapLocaliser(width=cfg.loc_width),
                                     torch.from_numpy(x_loc), LocaliserConfig().batch_size)]
    net = max(nets, key=lambda e: e.device)

    per_map = 2 * NPIX**2 * np.dtype(np.uint16).itemsize  # counts + source
    with_background = per_map + NPIX**2 * np.dtype(np.float32).itemsize
    cleaner_map = (x_clean.nbytes + y_clean.nbytes) / 2
    loc_map = (x_loc.nbytes + y_loc.nbytes) / 2
    cleaned_map = x_clean.nbytes / 2  # the cleaner's float32 output
    n_loc = cfg.n_loc_train + cfg.n_loc_val
    maps = (cfg.n_seed_train + cfg.n_seed_val + n_loc) * per_map + \
        (cfg.n_test + cfg.n_multi_test) * with_background
    crops = 0 if cfg.cleaner_crop is None else cfg.n_seed_train * cleaner_map * (crop / NPIX)**2
    cleaner = (cfg.n_seed_train + cfg.n_seed_val) * cleaner_map + crops
    second = ((cfg.n_seed_train + cfg.n_seed_val + cfg.n_test) * cleaned_map
              + n_loc * per_map + n_loc * loc_map)
    return dataclasses.replace(net, data=int(maps + max(cleaner, second)))
