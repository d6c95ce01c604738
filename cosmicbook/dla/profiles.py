"""Run profiles of the DLA chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES", "memory_estimate"]

#: Knobs of ``notebooks/03_dla``:
#:
#: ``n_train``, ``n_val``, ``n_test``
#:     simulated sightlines for training windows, validation windows and the held-out
#:     sightline-level evaluation.
#: ``windows_per_dla``, ``windows_per_subdla``, ``windows_per_sightline``
#:     training windows centred within +-60 px of each DLA, of each sub-DLA (hard
#:     negatives), and anywhere in the forest of each sightline.
#: ``width``
#:     multiplies the filters and dense units of the Parks et al. network (1 = the paper).
#: ``epochs``, ``batch_size``, ``lr``
#:     Adam with a cosine decay of the learning rate over the epochs.
#: ``stride``
#:     pixels between window centres when searching the test sightlines (1 = the paper).
#: ``mean_dla``, ``mean_subdla``
#:     Poisson means of the absorbers injected per sightline.
#: ``fresh_noise``
#:     re-draw the noise of every training window in every epoch (from its noise-free flux
#:     and noise level), so that the network cannot memorise noise.
#: ``seed``
#:     seeds simulation, window sampling and training.
#: ``streaming``, ``chunk``
#:     simulate the training sightlines ``chunk`` at a time inside the training loop
#:     (:class:`~cosmicbook.dla.training.StreamingWindows`; new sightlines every epoch)
#:     instead of holding them all in memory.
#: ``n_independent``
#:     sightlines of the independent simulator (:mod:`cosmicbook.dla.independent`) searched.
#: ``n_gp``
#:     of those, how many the Gaussian-process finder also searches in the notebook (it takes
#:     ~15 s each; the full comparison is ``benchmarks/dla_gp_comparison.py``).
PROFILES: dict[str, dict] = {
    "ci": {
        "n_train": 150, "n_val": 20, "n_test": 24,
        "windows_per_dla": 16, "windows_per_subdla": 16, "windows_per_sightline": 16,
        "width": 0.25, "epochs": 4, "batch_size": 128, "lr": 3e-3,
        "stride": 4, "mean_dla": 1.0, "mean_subdla": 0.8, "fresh_noise": True, "seed": 2017,
        "streaming": False, "chunk": 1000, "n_independent": 40, "n_gp": 0,
    },
    # ~200k windows from 3,000 sightlines, a half-width network: ~10 minutes of training on
    # one CPU thread, 600 held-out sightlines searched every 2nd pixel.
    "book": {
        "n_train": 3000, "n_val": 300, "n_test": 600,
        "windows_per_dla": 24, "windows_per_subdla": 24, "windows_per_sightline": 24,
        "width": 0.5, "epochs": 5, "batch_size": 256, "lr": 1e-3,
        "stride": 2, "mean_dla": 1.0, "mean_subdla": 0.8, "fresh_noise": True, "seed": 2017,
        "streaming": False, "chunk": 1000, "n_independent": 600, "n_gp": 6,
    },
    # The paper's scale for a GPU: 200k sightlines per epoch (4 windows per absorber and 4 at
    # random: ~2M windows), simulated 2,000 at a time inside the training loop (measured: one
    # chunk peaks at 0.75 GB of memory and takes ~45 s of one CPU core, instead of ~25 GB for
    # all of them at once), the full-width network, every pixel. Not run for the book.
    "full": {
        "n_train": 200000, "n_val": 5000, "n_test": 10000,
        "windows_per_dla": 4, "windows_per_subdla": 4, "windows_per_sightline": 4,
        "width": 1.0, "epochs": 20, "batch_size": 700, "lr": 5e-4,
        "stride": 1, "mean_dla": 1.0, "mean_subdla": 0.8, "fresh_noise": True, "seed": 2017,
        "streaming": True, "chunk": 2000, "n_independent": 5000, "n_gp": 20,
    },
}


def memory_estimate(cfg):
    """What a profile's training holds in memory (:class:`~cosmicbook.core.MemoryEstimate`).

    The network at the profile's width and batch size, and the sightlines and windows it keeps:
    measured on 16 simulated sightlines (arrays' bytes) and scaled to the profile's counts
    (training sightlines and windows, or one streamed chunk; validation and test sightlines).
    The global random states are left untouched.

    Parameters
    ----------
    cfg : Profile
        A resolved profile of :data:`PROFILES`.
    """
    import numpy as np
    import torch

    from cosmicbook.core.memory import estimate_training_memory, isolated_rng
    from cosmicbook.dla.model import DLACNN, WINDOW
    from cosmicbook.dla.simulate import simulate_sightlines
    from cosmicbook.dla.training import make_windows

    with isolated_rng():
        lines = simulate_sightlines(16, seed=0, mean_dla=cfg.mean_dla,
                                    mean_subdla=cfg.mean_subdla, progress_bar=False)
        windows = make_windows(lines, np.random.default_rng(0), per_dla=cfg.windows_per_dla,
                               per_subdla=cfg.windows_per_subdla,
                               per_random=cfg.windows_per_sightline,
                               noise_model=cfg.fresh_noise)
        per_line = sum(a.nbytes for s in lines for a in vars(s).values()
                       if isinstance(a, np.ndarray)) / len(lines)
        per_window_set = sum(a.nbytes for a in vars(windows).values()
                             if isinstance(a, np.ndarray)) / len(lines)
        held = cfg.chunk if cfg.streaming else cfg.n_train
        data = (held + cfg.n_val) * per_window_set + \
            ((0 if cfg.streaming else cfg.n_train) + cfg.n_val + cfg.n_test) * per_line
        model = DLACNN(width=cfg.width)
        return estimate_training_memory(model, torch.zeros(2, 1, WINDOW), cfg.batch_size,
                                        data_bytes=int(data))
