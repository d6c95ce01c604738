"""Cherenkov telescope counts maps: the CNN-cleaner and CNN-regressor of Di Piano et al., a
multi-source heat-map localiser, and the gammapy methods they are compared with.

The chapter's workflow (``notebooks/04_cherenkov``):

1. :func:`make_prod3b_irfs` -- the response CTAO published for its Southern and Northern
   arrays at 20, 40 and 60 deg zenith (prod3b-v2, :data:`PROD3B_CREDIT`);
   :func:`make_cta_irfs` -- CTA-like IRFs built analytically; :func:`load_irfs` -- real IRF
   files; :func:`condition_irfs` picks one for an observing condition;
2. :func:`build_templates` -- expected background and source counts per observing condition,
   computed once with gammapy; :func:`simulate_maps` -- thousands of 200 x 200 counts maps per
   second from them;
3. :class:`CNNCleaner`, :class:`CNNRegressor`, :class:`HeatmapLocaliser` and their
   ``train_*`` functions, which train a network built by the caller in place (through
   :func:`cosmicbook.core.training.fit`; settings in :class:`CleanerConfig`,
   :class:`RegressorConfig`, :class:`LocaliserConfig`);
4. :func:`clean`, :func:`regress`, :func:`localize` -- on raw counts maps, with the weights
   the package ships when ``model=None``;
5. :class:`GammapyAnalysis` (blind search, maximum-likelihood fit) and
   :func:`aperture_significance` -- the classical baselines; :mod:`~.evaluate` and the
   ``plot_*`` figures.
"""

import warnings as _warnings

with _warnings.catch_warnings():
    # gammapy imports tqdm.auto, which warns (on stderr) in notebooks without ipywidgets
    _warnings.filterwarnings("ignore", message="IProgress not found")
    import tqdm.auto  # noqa: F401

from cosmicbook.cherenkov.baselines import (  # noqa: E402
    FitResult,
    GammapyAnalysis,
    aperture_significance,
    li_ma,
)
from cosmicbook.cherenkov.evaluate import (
    DetectionScore,
    binned_errors,
    crab_units,
    image_snr,
    localisation_error,
    match_detections,
    per_map_positions,
    second_peak,
)
from cosmicbook.cherenkov.inference import (
    WEIGHTS_DIR,
    clean,
    heatmaps,
    load_model,
    localize,
    refine_centroid,
    regress,
    save_model,
)
from cosmicbook.cherenkov.irf import (
    condition_irfs,
    condition_label,
    condition_zenith,
    get_irfs,
    load_irfs,
    make_cta_irfs,
    write_irfs,
)
from cosmicbook.cherenkov.model import (
    CNNCleaner,
    CNNRegressor,
    HeatmapLocaliser,
    count_parameters,
)
from cosmicbook.cherenkov.plotting import (
    plot_detections,
    plot_error_vs_flux,
    plot_failures,
    plot_maps,
    plot_significance,
)
from cosmicbook.cherenkov.preprocess import (
    cleaner_inputs,
    cleaner_targets,
    heatmap_targets,
    localiser_inputs,
)
from cosmicbook.cherenkov.prod3b import CREDIT as PROD3B_CREDIT
from cosmicbook.cherenkov.prod3b import (
    OffsetDependence,
    Prod3bCurves,
    make_prod3b_irfs,
    prod3b_curves,
    read_performance_table,
)
from cosmicbook.cherenkov.profiles import PROFILES, memory_estimate
from cosmicbook.cherenkov.simulate import (
    BINSZ,
    CRAB_AMPLITUDE,
    DEFAULT_CONDITIONS,
    NPIX,
    ChapterMaps,
    CountsMaps,
    Templates,
    as_counts,
    build_templates,
    chapter_maps,
    map_wcs,
    pixel_to_sky,
    reference_dataset,
    simulate_maps,
    source_model,
)
from cosmicbook.cherenkov.training import (
    CleanerConfig,
    LocaliserConfig,
    RegressorConfig,
    train_cleaner,
    train_localiser,
    train_regressor,
)
from cosmicbook.cherenkov.transfer import (
    TransferConfig,
    choose_threshold,
    describe_transfer,
    source_significance,
    transfer_summary,
    transfer_table,
)

__all__ = [
    "BINSZ",
    "CRAB_AMPLITUDE",
    "DEFAULT_CONDITIONS",
    "NPIX",
    "PROD3B_CREDIT",
    "PROFILES",
    "WEIGHTS_DIR",
    "CNNCleaner",
    "CNNRegressor",
    "CleanerConfig",
    "CountsMaps",
    "DetectionScore",
    "FitResult",
    "GammapyAnalysis",
    "HeatmapLocaliser",
    "LocaliserConfig",
    "OffsetDependence",
    "Prod3bCurves",
    "RegressorConfig",
    "TransferConfig",
    "Templates",
    "aperture_significance",
    "as_counts",
    "binned_errors",
    "build_templates",
    "clean",
    "cleaner_inputs",
    "cleaner_targets",
    "choose_threshold",
    "condition_irfs",
    "condition_label",
    "condition_zenith",
    "describe_transfer",
    "count_parameters",
    "crab_units",
    "get_irfs",
    "heatmap_targets",
    "heatmaps",
    "image_snr",
    "li_ma",
    "load_irfs",
    "load_model",
    "localisation_error",
    "localiser_inputs",
    "localize",
    "make_cta_irfs",
    "make_prod3b_irfs",
    "map_wcs",
    "match_detections",
    "memory_estimate",
    "per_map_positions",
    "pixel_to_sky",
    "plot_detections",
    "plot_error_vs_flux",
    "plot_failures",
    "plot_maps",
    "plot_significance",
    "prod3b_curves",
    "read_performance_table",
    "reference_dataset",
    "refine_centroid",
    "regress",
    "save_model",
    "second_peak",
    "simulate_maps",
    "ChapterMaps",
    "chapter_maps",
    "source_significance",
    "transfer_summary",
    "transfer_table",
    "source_model",
    "train_cleaner",
    "train_localiser",
    "train_regressor",
    "write_irfs",
]
