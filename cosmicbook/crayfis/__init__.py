"""CRAYFIS: particle tracks in smartphone cameras, learned from two unlabeled mixtures, and an
adversarial model of the camera readout (TAN).

The chapter's workflow:

1. the simulator, in two stages kept apart: :func:`draw_kinds` / :func:`simulate_deposits`
   (muons, electrons, photon spots, alphas or nothing in a 40 x 40 pixel grid, in electrons)
   and a readout, :class:`Readout` (pedestal, gain, noise, hot pixels, Bayer, JPEG, 8 bits) or
   the hidden "real" :class:`HiddenReadout`; :func:`simulate_mixtures` makes the datasets D1
   and D2 of one phone;
2. weak labels: :func:`train_classifier` (D1 vs D2, or the oracle on the truth),
   :func:`fit_temperature`, :func:`weak_to_posterior` (the mixture formula) and
   :func:`estimate_fractions`, chained by :func:`weak_experiment` and
   :func:`oracle_experiment`; :func:`track_probability` with the shipped weights;
3. the Transformation Adversarial Network: :class:`Generator` and :class:`Discriminator`,
   trained by :func:`train_tan` as a :class:`TANConfig` says (on the book's shared adversarial
   loop, :func:`cosmicbook.core.training.train_adversarial`), :func:`calibrate_adc`,
   :func:`transform` (its losses in :mod:`cosmicbook.crayfis.tan`);
4. metrics: :func:`roc_auc`, :func:`reliability`, :func:`expected_calibration_error`,
   :func:`distribution_distances`, :func:`classifier_two_sample_test`, and ``plot_*``.
"""

from cosmicbook.crayfis.datasets import (
    PHONE,
    Mixtures,
    ReadoutSets,
    simulate_mixtures,
    simulate_readout_sets,
)
from cosmicbook.crayfis.evaluate import (
    C2ST,
    ClusterFeatures,
    Reliability,
    classifier_two_sample_test,
    cluster_features,
    describe_tan_seed_study,
    distribution_distances,
    expected_calibration_error,
    faithfulness,
    reliability,
    roc_auc,
    roc_curve,
    tan_seed_study_table,
)
from cosmicbook.crayfis.experiment import (
    OracleResult,
    WeakResult,
    oracle_experiment,
    weak_experiment,
)
from cosmicbook.crayfis.inference import (
    WeakTrackModel,
    load_model,
    save_model,
    track_probability,
)
from cosmicbook.crayfis.interaction import (
    FRAME_SIZE,
    KINDS,
    TRACK_KINDS,
    Deposits,
    Sensor,
    draw_kinds,
    simulate_deposits,
)
from cosmicbook.crayfis.model import TrackCNN, to_input
from cosmicbook.crayfis.plotting import (
    plot_distributions,
    plot_frames,
    plot_gap_sweep,
    plot_reliability,
    plot_roc,
    plot_score_histograms,
    plot_tan_history,
)
from cosmicbook.crayfis.profiles import PROFILES, memory_estimate
from cosmicbook.crayfis.readout import HiddenReadout, Readout, jpeg_like
from cosmicbook.crayfis.tan import (
    Discriminator,
    Generator,
    TANConfig,
    calibrate_adc,
    train_tan,
    transform,
)
from cosmicbook.crayfis.training import (
    Calibration,
    ClassifierConfig,
    fit_temperature,
    predict_logits,
    sigmoid,
    train_classifier,
)
from cosmicbook.crayfis.weak import (
    UnseparatedScores,
    estimate_fractions,
    feasible_interval,
    weak_to_posterior,
)

__all__ = [
    "C2ST",
    "Calibration",
    "ClassifierConfig",
    "FRAME_SIZE",
    "KINDS",
    "PHONE",
    "PROFILES",
    "TRACK_KINDS",
    "ClusterFeatures",
    "Deposits",
    "Discriminator",
    "Generator",
    "HiddenReadout",
    "Mixtures",
    "OracleResult",
    "Readout",
    "ReadoutSets",
    "Reliability",
    "Sensor",
    "TANConfig",
    "TrackCNN",
    "UnseparatedScores",
    "WeakResult",
    "WeakTrackModel",
    "classifier_two_sample_test",
    "cluster_features",
    "distribution_distances",
    "describe_tan_seed_study",
    "tan_seed_study_table",
    "draw_kinds",
    "estimate_fractions",
    "expected_calibration_error",
    "faithfulness",
    "feasible_interval",
    "fit_temperature",
    "jpeg_like",
    "oracle_experiment",
    "load_model",
    "memory_estimate",
    "plot_distributions",
    "plot_frames",
    "plot_gap_sweep",
    "plot_reliability",
    "plot_roc",
    "plot_score_histograms",
    "plot_tan_history",
    "predict_logits",
    "reliability",
    "roc_auc",
    "roc_curve",
    "save_model",
    "sigmoid",
    "simulate_deposits",
    "simulate_mixtures",
    "simulate_readout_sets",
    "to_input",
    "track_probability",
    "train_classifier",
    "calibrate_adc",
    "train_tan",
    "transform",
    "weak_experiment",
    "weak_to_posterior",
]
