"""Run profiles of the CRAYFIS chapter (see :func:`cosmicbook.core.config.resolve_profile`)."""

from __future__ import annotations

__all__ = ["PROFILES"]

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
