"""CRAB: a GAN that generates cosmic-ray glitch time streams for TES bolometers.

The chapter's workflow (``notebooks/05_crab``):

1. :func:`simulate_tod` / :func:`simulate_glitches` -- Monte-Carlo time-ordered data of a wafer
   of bolometers: white + 1/f noise with a common mode, Poisson direct hits with power-law
   amplitudes and the Planck glitch families' pulse shapes, wafer-wide showers, decimated from
   a fine time grid (:class:`TODConfig` holds every parameter);
2. :class:`Generator`, :class:`Discriminator` -- the seed deck's layer tables, for several
   bolometers jointly, optionally conditional on the cosmic-ray flux (:class:`FiLM` at every
   upsampling stage) and ending in learned Gaussian noise (:class:`WhiteNoise`,
   :class:`RedNoise`);
3. :func:`build_crab` builds a :class:`CRAB` (generator and discriminator, architecture in a
   :class:`CRABConfig`) sized for its training data; :func:`train_gan` trains it as a
   :class:`GANConfig` says -- discriminator pre-training then joint training, with the BCE
   loss (label smoothing, synthetic weighting) or WGAN-GP, SGD or Adam for the
   discriminator, a mode-collapse diagnostic and exact resumes (on the book's shared
   adversarial loop, :func:`cosmicbook.core.training.train_adversarial`);
4. :func:`generate` -- TOD from the GAN (shipped weights when ``model=None``);
5. the metrics of :mod:`cosmicbook.tes.metrics`, :func:`compare_tod` (all of them at once, the
   issue's acceptance criteria) and :func:`seed_table`, and the ``plot_*`` figures.

All TOD are arrays of shape ``(n_segments, n_bolometers, 1060)`` in units of the white-noise
rms per sample (sigma units).
"""

from cosmicbook.tes.evaluate import (
    CRITERIA,
    TODComparison,
    compare_tod,
    describe_comparison,
    describe_seed_study,
    seed_study_table,
    seed_table,
)
from cosmicbook.tes.inference import generate, load_model, save_model
from cosmicbook.tes.metrics import (
    DETECTION_THRESHOLD,
    AmplitudeComparison,
    check_tod,
    compare_amplitudes,
    correlation_matrix,
    decade_edges,
    detect_glitches,
    fit_power_law,
    glitch_rate,
    inter_arrival_times,
    memorisation_ratio,
    nearest_neighbour_distances,
    pairwise_diversity,
    psd_ratio_by_decade,
    robust_sigma,
    welch_psd,
    white_noise_covariance,
)
from cosmicbook.tes.model import (
    CRAB,
    SEED_PARAMETERS,
    ChannelLayerNorm,
    CRABConfig,
    Discriminator,
    FiLM,
    Generator,
    RedNoise,
    WhiteNoise,
    build_crab,
    compress,
    count_parameters,
    expand,
)
from cosmicbook.tes.plotting import (
    plot_amplitudes,
    plot_correlations,
    plot_flux_response,
    plot_history,
    plot_psd,
    plot_rates,
    plot_segments,
)
from cosmicbook.tes.profiles import PROFILES, memory_estimate
from cosmicbook.tes.simulate import (
    FAMILIES,
    TODConfig,
    long_template,
    noise_psd,
    sample_power_law,
    segment_seconds,
    simulate_glitches,
    simulate_tod,
)
from cosmicbook.tes.training import (
    LOSSES,
    OPTIMIZERS,
    STAT_LOSSES,
    GANConfig,
    stat_losses,
    train_gan,
)

__all__ = [
    "CRAB",
    "CRITERIA",
    "DETECTION_THRESHOLD",
    "FAMILIES",
    "LOSSES",
    "OPTIMIZERS",
    "PROFILES",
    "SEED_PARAMETERS",
    "STAT_LOSSES",
    "AmplitudeComparison",
    "CRABConfig",
    "ChannelLayerNorm",
    "Discriminator",
    "FiLM",
    "GANConfig",
    "Generator",
    "RedNoise",
    "TODComparison",
    "TODConfig",
    "WhiteNoise",
    "build_crab",
    "check_tod",
    "compare_amplitudes",
    "compare_tod",
    "describe_comparison",
    "compress",
    "correlation_matrix",
    "count_parameters",
    "decade_edges",
    "detect_glitches",
    "expand",
    "fit_power_law",
    "generate",
    "glitch_rate",
    "inter_arrival_times",
    "load_model",
    "long_template",
    "memorisation_ratio",
    "memory_estimate",
    "nearest_neighbour_distances",
    "noise_psd",
    "pairwise_diversity",
    "plot_amplitudes",
    "plot_correlations",
    "plot_flux_response",
    "plot_history",
    "plot_psd",
    "plot_rates",
    "plot_segments",
    "psd_ratio_by_decade",
    "robust_sigma",
    "sample_power_law",
    "save_model",
    "seed_table",
    "describe_seed_study",
    "seed_study_table",
    "segment_seconds",
    "simulate_glitches",
    "simulate_tod",
    "stat_losses",
    "train_gan",
    "welch_psd",
    "white_noise_covariance",
]
