"""deepCR-style cosmic-ray masks for DESI-like spectrograph frames.

The chapter's workflow (Zhang & Bloom 2020; DESI-6095):

1. data -- :func:`simulate_tile` / :class:`SpectroCamera` (clean median frames with ivar and
   PSF gradients), :func:`default_library` (the chapter-1 cosmic-ray library),
   :func:`make_training_frame` / :func:`make_frames` (noise + injected cosmics with truth),
   :class:`PatchDataset` / :func:`make_dataset` (overlapping 256 x 256 patches, 75/25 split);
2. model -- :class:`UNet` ``(depth, width)``: deepCR's mask nets "2-32" (101,473 parameters),
   "2-4" and other variants, normalising their electron input internally;
3. training -- :func:`train_mask_net` with a :class:`MaskNetConfig` (masked BCE, Adam, batch
   norm frozen after 40 % of the epochs, through :func:`cosmicbook.core.fit`);
4. transfer -- :class:`InstrumentRanges` and :class:`CosmicAugmentation` (randomised training
   instruments, :func:`make_randomised_frames`), :func:`make_transfer_frames` and
   :func:`transfer_map` (methods on held-out grids of one instrument parameter);
5. inference -- :func:`predict_mask` (seamless halo tiling under ``torch.inference_mode``;
   ``model=None`` uses the shipped release weights, trained on randomised instruments),
   :func:`predict_quadrants`
   (naive tiling), :func:`load_model` / :func:`save_model`, :func:`measure_peak_memory`;
   the ``cosmicbook mask IN.fits OUT.fits`` command line tool (:mod:`cosmicbook.deepcr.cli`);
   adapting to another camera -- :func:`library_from_darks`, :func:`median_clean`,
   :func:`fine_tune` (bounded-time fine-tuning of the shipped weights, saved atomically),
   :func:`simulate_imager` (an undersampled imager outside the training ranges);
   peers and real data -- :func:`peer_methods` (Cosmic-CoNN, the deepCR package, when
   installed), :func:`desispec_agreement` (our SDSS method against DESI's code),
   :func:`gmos_frame` / :func:`saao_frame` / :func:`read_spectrum_frame` /
   :func:`read_raw_ccd` and :func:`named_agreement` (real frames);
6. evaluation -- :func:`roc_curve`, :func:`tpr_at_fpr`, :func:`score_mask`,
   :func:`tpr_by_brightness`, :func:`footprint_overgrowth`, :func:`seam_difference`; figures
   :func:`plot_roc`, :func:`plot_hardest_cases`, :func:`plot_variant_study`,
   :func:`plot_real_masks`, :func:`plot_transfer_map`;
7. surveys (optional extra ``survey``: Dask) -- :func:`predict_mask_dask` (chunk by chunk
   with ``dask.array.map_overlap``, margin :func:`overlap_depth`; equal to whole-frame
   inference), :func:`lazy_focal_plane` and :func:`read_fits_mosaic` (frames larger than
   memory), :func:`mask_files` (``cosmicbook mask IN... --out-dir DIR``: many files on a
   ``dask.distributed`` cluster, :mod:`cosmicbook.deepcr.survey`, :mod:`cosmicbook.core.batch`).

The classical baselines, the SDSS method as DESI runs it (:func:`sdss_cosmics`) and LA Cosmic
(:func:`lacosmic_mask`), are in :mod:`cosmicbook.deepcr.baselines`.
"""

from cosmicbook.deepcr.baselines import (
    DESI_PSF_GRADIENTS,
    SDSS_AXES,
    lacosmic_mask,
    sdss_cosmics,
)
from cosmicbook.deepcr.cli import MASK_SUFFIX, mask_file, mask_files
from cosmicbook.deepcr.data import (
    PatchDataset,
    extract_patches,
    make_dataset,
    make_frames,
    patch_positions,
    train_val_split,
)
from cosmicbook.deepcr.evaluate import (
    DEFAULT_FPRS,
    MaskScore,
    Overgrowth,
    ROCCurve,
    footprint_overgrowth,
    plot_roc,
    roc_curve,
    score_mask,
    seam_difference,
    sweep_curve,
    sweep_method,
    tpr_at_fpr,
    tpr_by_brightness,
    tpr_by_pixel_charge,
)
from cosmicbook.deepcr.finetune import (
    FineTuneConfig,
    FineTuneResult,
    fine_tune,
    frames_from_clean,
    library_from_darks,
    median_clean,
)
from cosmicbook.deepcr.imager import ImagerTile, simulate_imager
from cosmicbook.deepcr.inference import (
    DEFAULT_TILE,
    DEFAULT_WEIGHTS,
    SINGLE_INSTRUMENT_WEIGHTS,
    WEIGHTS_DIR,
    check_frame,
    load_model,
    measure_peak_memory,
    predict_mask,
    predict_quadrants,
    save_model,
    shipped_metadata,
)
from cosmicbook.deepcr.model import (
    MIN_SCALE,
    UNet,
    frame_statistics,
    normalise,
    parse_variant,
    variant_name,
)
from cosmicbook.deepcr.peers import (
    DESISPEC_PSF_GRADIENTS,
    PEERS,
    desispec_agreement,
    desispec_sdss_mask,
    peer_methods,
    peer_probability,
)
from cosmicbook.deepcr.plotting import (
    hardest_cosmics,
    plot_hardest_cases,
    plot_mask_comparison,
    plot_real_masks,
    plot_variant_study,
)
from cosmicbook.deepcr.profiles import (
    PROFILES,
    memory_estimate,
)
from cosmicbook.deepcr.randomise import (
    DESI_INSTRUMENT,
    CosmicAugmentation,
    Instrument,
    InstrumentRanges,
    augment_library,
    instrument_grid,
    make_randomised_frames,
    thin_track,
)
from cosmicbook.deepcr.real import (
    GMOS_COSMICS,
    RealFrame,
    gmos_frame,
    named_agreement,
    read_raw_ccd,
    read_spectrum_frame,
    saao_frame,
)
from cosmicbook.deepcr.simulate import (
    DESI_RATE,
    FULL_FRAME,
    GRADIENT_AXES,
    InjectedCosmics,
    SpectroCamera,
    SpectroTile,
    TrainingFrame,
    default_library,
    inject_cosmics,
    make_training_frame,
    median_variance_factor,
    psf_gradients,
    simulate_tile,
)
from cosmicbook.deepcr.survey import (
    LSST_FOCAL_PLANE,
    cached_model,
    lazy_focal_plane,
    overlap_depth,
    predict_mask_dask,
    read_fits_mosaic,
    simulate_ccd,
)
from cosmicbook.deepcr.training import (
    MaskNetConfig,
    freeze_epoch,
    make_loader,
    masked_bce,
    train_mask_net,
    training_metadata,
)
from cosmicbook.deepcr.transfer import (
    MaskMethod,
    TransferFrames,
    classical_methods,
    describe_transfer,
    make_transfer_frames,
    network_method,
    plot_transfer_map,
    transfer_map,
    transfer_pivot,
    transfer_verdict,
    worst_case,
)

__all__ = [
    "DEFAULT_FPRS",
    "DEFAULT_TILE",
    "DEFAULT_WEIGHTS",
    "SINGLE_INSTRUMENT_WEIGHTS",
    "DESISPEC_PSF_GRADIENTS",
    "DESI_PSF_GRADIENTS",
    "SDSS_AXES",
    "DESI_INSTRUMENT",
    "DESI_RATE",
    "FULL_FRAME",
    "GMOS_COSMICS",
    "GRADIENT_AXES",
    "LSST_FOCAL_PLANE",
    "MASK_SUFFIX",
    "MIN_SCALE",
    "PEERS",
    "PROFILES",
    "WEIGHTS_DIR",
    "CosmicAugmentation",
    "FineTuneConfig",
    "FineTuneResult",
    "ImagerTile",
    "InjectedCosmics",
    "Instrument",
    "InstrumentRanges",
    "MaskMethod",
    "MaskNetConfig",
    "MaskScore",
    "Overgrowth",
    "PatchDataset",
    "ROCCurve",
    "RealFrame",
    "SpectroCamera",
    "SpectroTile",
    "TrainingFrame",
    "TransferFrames",
    "UNet",
    "augment_library",
    "cached_model",
    "check_frame",
    "classical_methods",
    "default_library",
    "desispec_agreement",
    "desispec_sdss_mask",
    "extract_patches",
    "fine_tune",
    "footprint_overgrowth",
    "frame_statistics",
    "frames_from_clean",
    "freeze_epoch",
    "gmos_frame",
    "hardest_cosmics",
    "inject_cosmics",
    "lacosmic_mask",
    "instrument_grid",
    "lazy_focal_plane",
    "library_from_darks",
    "load_model",
    "make_dataset",
    "make_frames",
    "make_loader",
    "make_randomised_frames",
    "make_training_frame",
    "make_transfer_frames",
    "mask_file",
    "mask_files",
    "masked_bce",
    "measure_peak_memory",
    "memory_estimate",
    "median_clean",
    "median_variance_factor",
    "named_agreement",
    "read_raw_ccd",
    "network_method",
    "normalise",
    "overlap_depth",
    "parse_variant",
    "patch_positions",
    "peer_methods",
    "peer_probability",
    "plot_hardest_cases",
    "plot_mask_comparison",
    "plot_roc",
    "plot_transfer_map",
    "plot_real_masks",
    "plot_variant_study",
    "predict_mask",
    "predict_mask_dask",
    "predict_quadrants",
    "psf_gradients",
    "read_fits_mosaic",
    "read_spectrum_frame",
    "saao_frame",
    "roc_curve",
    "save_model",
    "score_mask",
    "sdss_cosmics",
    "seam_difference",
    "shipped_metadata",
    "simulate_ccd",
    "simulate_imager",
    "simulate_tile",
    "sweep_curve",
    "sweep_method",
    "thin_track",
    "tpr_at_fpr",
    "tpr_by_brightness",
    "tpr_by_pixel_charge",
    "train_mask_net",
    "train_val_split",
    "training_metadata",
    "describe_transfer",
    "transfer_map",
    "transfer_pivot",
    "transfer_verdict",
    "worst_case",
    "variant_name",
]
