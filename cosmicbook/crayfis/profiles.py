"""Run profiles of the CRAYFIS chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES", "memory_estimate"]

#: Knobs of ``notebooks/06_crayfis``:
#:
#: ``a``, ``b``
#:     track fractions of D1 (Co-60-like) and D2 (Ra-226-like) in the headline experiment.
#: ``n_per_set``, ``n_val_per_set``, ``n_test_per_set``
#:     frames per dataset for training, validation (temperature scaling, estimate of a and b)
#:     and the held-out evaluation against the truth.
#: ``epochs``, ``batch_size``, ``lr``
#:     training of the weak classifier and of the oracle (same architecture, same frames).
#: ``sweep_gaps``, ``sweep_n_per_set``, ``sweep_epochs``
#:     the gap ``a - b`` of each run of the sweep (centred on 0.5), and its training size;
#:     the assumption-violation run uses the same size.
#: ``tan_n``, ``tan_epochs``, ``tan_lr``, ``tan_hidden``
#:     unpaired frames per readout for the TAN and its training.
#: ``tan_match``
#:     weight of the TAN's distribution-matching losses (``lambda_match`` of
#:     :func:`~cosmicbook.crayfis.tan.train_tan`; 0 = the adversarial loss alone).
#: ``eval_n``, ``c2st_epochs``, ``c2st_repeats``
#:     frames of the TAN's evaluation (distances, two-sample tests), training epochs of each
#:     two-sample classifier and how many are trained (the largest AUC is reported).
#: ``seed``
#:     seeds simulation and training.
PROFILES: dict[str, dict] = {
    "ci": {
        "a": 0.8, "b": 0.2, "n_per_set": 600, "n_val_per_set": 200, "n_test_per_set": 300,
        "epochs": 2, "batch_size": 128, "lr": 2e-3,
        "sweep_gaps": [0.6, 0.2], "sweep_n_per_set": 300, "sweep_epochs": 1,
        "tan_n": 512, "tan_epochs": 1, "tan_lr": 2e-3, "tan_hidden": 16,
        "tan_match": 1.0, "eval_n": 300, "c2st_epochs": 1, "c2st_repeats": 1,
        "seed": 2017,
    },
    # ~10 minutes on one CPU thread: 16,000 training frames for the headline pair of
    # classifiers, five sweep points, the violation, a TAN on 8,000 + 8,000 frames.
    "book": {
        "a": 0.8, "b": 0.2, "n_per_set": 8000, "n_val_per_set": 2000, "n_test_per_set": 4000,
        "epochs": 6, "batch_size": 128, "lr": 2e-3,
        "sweep_gaps": [0.6, 0.3, 0.15, 0.08, 0.04], "sweep_n_per_set": 4000, "sweep_epochs": 4,
        "tan_n": 8000, "tan_epochs": 6, "tan_lr": 2e-3, "tan_hidden": 16,
        "tan_match": 1.0, "eval_n": 3000, "c2st_epochs": 12, "c2st_repeats": 3,
        "seed": 2017,
    },
    # For a GPU: ten times the frames, longer training.
    "full": {
        "a": 0.8, "b": 0.2, "n_per_set": 100000, "n_val_per_set": 10000,
        "n_test_per_set": 20000, "epochs": 20, "batch_size": 256, "lr": 1e-3,
        "sweep_gaps": [0.6, 0.4, 0.2, 0.1, 0.05, 0.02], "sweep_n_per_set": 50000,
        "sweep_epochs": 15, "tan_n": 100000, "tan_epochs": 20, "tan_lr": 1e-3,
        "tan_hidden": 32, "tan_match": 1.0, "eval_n": 20000, "c2st_epochs": 20,
        "c2st_repeats": 3, "seed": 2017,
    },
}


def _array_bytes(obj) -> int:
    """Bytes of the numpy arrays among an object's attributes (and its ``params`` dict)."""
    import numpy as np

    arrays = [*vars(obj).values(), *getattr(obj, "params", {}).values()]
    return sum(a.nbytes for a in arrays if isinstance(a, np.ndarray))


def _peak_bytes(func) -> int:
    """Peak bytes that ``func()`` allocates through Python's allocators (numpy's arrays
    included), measured with :mod:`tracemalloc`."""
    import tracemalloc

    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        func()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        if started:
            tracemalloc.stop()


def memory_estimate(cfg):
    """What a profile's training holds in memory (:class:`~cosmicbook.core.MemoryEstimate`).

    The networks: the larger of the chapter's trainings, which run one after the other --
    the track classifier (:class:`~cosmicbook.crayfis.TrackCNN` with the filters of
    :func:`~cosmicbook.crayfis.weak_experiment`, Adam) at the profile's ``batch_size``, and
    the TAN (``Generator(hidden=tan_hidden)`` and ``Discriminator()``, Adam for both) at the
    batch size of :class:`~cosmicbook.crayfis.TANConfig`, whose discriminator update holds
    the generator's graph (kept for the generator update) and the discriminator's for a real
    and a transformed batch. The two-sample classifiers (the same network at batch 128) are
    no larger.

    The data: what the notebook keeps (it frees nothing) -- the training, validation and
    test mixtures (D1 and D2), the last gap of the sweep and the assumption violation (three
    sets each), the TAN's readout sets (its evaluation deposits included) and its two
    transformed sets -- plus the largest moment: the simulation of the largest mixtures (or
    of the readout sets), which holds the deposits (float32 electrons) and the readout's
    float64 working copies of every frame at once (~90 kB a frame, measured), or the
    training of the classifier on float32 inputs of its training and validation frames.
    The TAN's float32 copies of its approximate and real training frames, which
    :func:`~cosmicbook.crayfis.train_tan` moves to the device, are ``device_data``. Bytes
    per frame are measured on 16 simulated frames. The global random states are left
    untouched.

    Parameters
    ----------
    cfg : Profile
        A resolved profile of :data:`PROFILES`.
    """
    import dataclasses
    import inspect

    import numpy as np
    import torch

    from cosmicbook.core.memory import estimate_training_memory, isolated_rng
    from cosmicbook.crayfis.datasets import PHONE, simulate_mixtures
    from cosmicbook.crayfis.experiment import weak_experiment
    from cosmicbook.crayfis.interaction import FRAME_SIZE, draw_kinds, simulate_deposits
    from cosmicbook.crayfis.model import TrackCNN, to_input
    from cosmicbook.crayfis.readout import HiddenReadout, Readout
    from cosmicbook.crayfis.tan import Discriminator, Generator, TANConfig

    n = 16
    channels = inspect.signature(weak_experiment).parameters["channels"].default
    tan_batch = TANConfig().batch_size
    with isolated_rng():
        mixtures = simulate_mixtures(n // 2, cfg.a, cfg.b, seed=0, progress=False)
        rng = np.random.default_rng(0)
        deposits = simulate_deposits(draw_kinds(n, 0.6, rng), rng, progress=False)
        # working memory per frame; the allocator makes the peak vary by ~1 kB between
        # runs, so the smaller of two measurements is rounded to whole kB per frame
        readout = 1024 * round(max(
            min(_peak_bytes(lambda r=r: r.apply(deposits.electrons, rng)) for _ in range(2))
            for r in (PHONE, Readout(), HiddenReadout())) / n / 1024)
        frames = torch.zeros(2, 1, FRAME_SIZE, FRAME_SIZE)
        classifier = estimate_training_memory(TrackCNN(channels), frames, cfg.batch_size)
        tan = (estimate_training_memory(Generator(hidden=cfg.tan_hidden),
                                        (frames, torch.zeros(2, 1, FRAME_SIZE, FRAME_SIZE)),
                                        tan_batch)
               + estimate_training_memory(Discriminator(), frames, 2 * tan_batch))
    net = max((classifier, tan), key=lambda e: e.device)

    mixture = _array_bytes(mixtures) / n        # uint8 frame, weak label, truth, kind
    deposit = _array_bytes(deposits) / n        # float32 electrons, kind, parameters
    frame = mixtures.frames.nbytes / n          # one uint8 frame
    network_input = to_input(mixtures.frames).nbytes / n  # float32
    sweep = sum((cfg.sweep_n_per_set, cfg.sweep_n_per_set // 4, cfg.sweep_n_per_set // 2))
    kept = (2 * (cfg.n_per_set + cfg.n_val_per_set + cfg.n_test_per_set) * mixture
            + 2 * 2 * sweep * mixture
            + (2 * cfg.tan_n + 6 * cfg.eval_n) * frame + cfg.eval_n * deposit)
    simulation = max(2 * max(cfg.n_per_set, cfg.sweep_n_per_set) * (deposit + readout),
                     2 * (cfg.tan_n + cfg.eval_n) * deposit
                     + max(cfg.tan_n, cfg.eval_n) * readout)
    training = 2 * (cfg.n_per_set + cfg.n_val_per_set) * (
        network_input + np.dtype(np.float32).itemsize)
    return dataclasses.replace(net, data=int(kept + max(simulation, training)),
                               device_data=int(2 * cfg.tan_n * network_input))
