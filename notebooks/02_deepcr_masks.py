# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # deepCR-style cosmic-ray masks for DESI-like spectrograph frames
#
# Every DESI exposure is hit by about 1.4 cosmic rays per second on each 4k x 4k CCD
# {cite:p}`green2021desi`. The pipeline finds them with the "SDSS method"
# {cite:p}`lupton2001sdss,guy2023desi`: a pixel is a cosmic when it is significant and its
# neighbours are fainter than any point-spread function allows. The DESI study in the seed deck
# asked whether a small convolutional network, deepCR {cite:p}`zhang2020deepcr`, does better:
# its mask net is a two-level UNet {cite:p}`ronneberger2015unet` with ~100k parameters whose
# only knob is a probability threshold.
#
# This chapter trains that network on simulated spectrograph frames with cosmic rays from the
# chapter-1 library, and compares it, on held-out frames, with the SDSS method and with LA
# Cosmic {cite:p}`vandokkum2001lacosmic`: ROC curves, true-positive rates at fixed
# false-positive rates, which cosmics each method misses, how far the masks grow, and how long
# everything takes. It ends with the seed's open question: is a smaller network as good?

# %% [markdown]
# ## Setup
#
# On Colab, the first cell installs `cosmicbook`; elsewhere it does nothing. The `parameters`
# cell sets the run profile: `ci` (seconds), `book` (the default, about ten minutes on one CPU
# core) or `full` (the paper's data volume and 60 epochs, for a GPU). Knobs left at `None` take
# the profile's value.

# %%
import sys

if "google.colab" in sys.modules:  # install the book's package when running on Colab
    import subprocess

    repo = "git+https://github.com/cosmicbook/cosmicbook"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"cosmicbook[baselines] @ {repo}"], check=True)

# %% tags=["parameters"]
PROFILE = "book"        # "ci", "book" or "full"
SEED = None             # seeds the library, the frames, the split and the training
FRAME_SIZE = None       # side of the simulated training frames (DESI: 4096)
N_TRAIN_FRAMES = None   # frames cut into patches (75 % train, 25 % validation)
TEST_SIZE = None        # side of the held-out test frame (also used for the timings)
EPOCHS = None           # training epochs of the 2-32 net
VARIANTS = None         # model-size study: {"depth-width": training epochs}
THRESHOLD = 0.5         # probability above which a pixel is a cosmic ray
RESULTS_DIR = "results"

# %%
from functools import partial

import matplotlib.pyplot as plt
import numpy as np

import cosmicbook as cb
from cosmicbook import baselines, deepcr

cfg = cb.resolve_profile(deepcr.PROFILES, PROFILE, seed=SEED, frame_size=FRAME_SIZE,
                         n_train_frames=N_TRAIN_FRAMES, test_size=TEST_SIZE,
                         epochs=EPOCHS, variants=VARIANTS)
cb.set_style()
device = cb.get_device()
rng = cb.seed_everything(cfg.seed)
cfg

# %% [markdown]
# ## Simulated spectrograph frames
#
# `deepcr.simulate_tile` renders a DESI-like camera: 500 fibre traces (fewer on smaller frames)
# in bundles of 25 along the wavelength axis, a cross-dispersion profile with a Gaussian core
# and wings, continua, sharp sky lines in the same rows of every fibre, and the inverse
# variance of each pixel. As in the seed, the *clean* image is the median of five exposures of
# the same tile: the median removes the cosmics of the individual exposures.
#
# The cosmic rays come from chapter 1: `deepcr.default_library` runs that chapter's pipeline
# (simulated 300 s darks, seeds above 250 ADU, flood fill to 3 sigma) and keeps the footprints.

# %%
library = deepcr.default_library((cfg.library_size,) * 2, n_darks=cfg.library_darks,
                                 seed=cfg.seed, progress=False)
tile = deepcr.simulate_tile((cfg.frame_size,) * 2, seed=cfg.seed, progress=False)
print(f"{len(library)} cosmic rays in the library (gain {library.gain} e-/ADU)")
print(f"clean tile {tile.shape}: {tile.n_fibres} fibres, "
      f"noise {tile.noise_sigma:.2f} e-")
print("PSF gradients (row, column, diagonal, anti-diagonal):",
      np.round(tile.psf_gradients, 3))

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 5))
cb.imshow_zscale(tile.clean, ax=axes[0])
axes[0].set_title("clean tile: median of 5 exposures (zscale)")
zoom = (slice(0, 96), slice(0, 96))
cb.imshow_zscale(tile.clean[zoom], ax=axes[1], colorbar=True, label="e-")
axes[1].set_title("zoom: traces (vertical) and sky lines (rows)")
plt.show()

# %% [markdown]
# ## Training data
#
# Each training frame is a clean tile plus Gaussian noise of sigma `sqrt(1 / median ivar)` and
# cosmics from the library, their number drawn from Poisson(1.4 x exposure time), scaled to the
# frame area. The truth mask is the union of the injected footprints. In training we draw the
# exposure times from a long range (`exptime_range`), which packs more cosmics into every
# patch: the network sees more positives per second of CPU. The held-out test frame uses a
# DESI-like 1200 s exposure, a different tile and different cosmics.
#
# The frames are cut into overlapping 256 x 256 patches, split 75/25 into training and
# validation as in the seed.

# %%
frames = deepcr.make_frames(cfg.n_train_frames, cfg.frame_size, library,
                            seed=cfg.seed + 1, exptime_range=cfg.exptime_range,
                            progress=False)
patches = deepcr.PatchDataset.from_frames(frames, size=cfg.patch_size,
                                          stride=cfg.patch_stride)
train, val = patches.split(0.75, seed=cfg.seed)
test = deepcr.make_frames(1, cfg.test_size, library, seed=cfg.seed + 2,
                          exptime_range=(cfg.test_exptime,) * 2, progress=False)[0]
print(patches, f"-> {len(train)} training, {len(val)} validation patches")
n_cosmics = sum(len(f.cosmics) for f in frames)
print(f"{n_cosmics} cosmics in the training frames; test: {test}")

# %%
show = [train.arrays(i) for i in range(6)]
fig = cb.stamp_grid([np.arcsinh(im / 10) for im, _, _ in show], [m for _, m, _ in show],
                    ncols=6, size=2.0, stretch="linear", cmap="gray",
                    titles=[f"{int(m.sum())} cosmic px" for _, m, _ in show])
plt.show()

# %% [markdown]
# ## The network and its training
#
# `deepcr.UNet(2, 32)` is deepCR's mask net "2-32": 32 channels, one 2 x 2 max-pool down to 64
# channels, a transposed convolution back up, a skip connection and a 1 x 1 output — exactly
# deepCR's 101,473 parameters. It takes electrons: inside, every pixel becomes
# `asinh((x - median) / sigma)` with the median and robust sigma of the whole frame, which
# removes the sky level and keeps bright cosmics from dominating the batch normalisation.
#
# Training follows the seed and the deepCR package: binary cross-entropy, Adam, batch-norm
# statistics frozen after 40 % of the epochs (the seed: 24 of 60), when the learning rate is
# divided by 2.5. The checkpoint is saved every epoch, so an interrupted run resumes exactly.

# %% [markdown]
# Checkpoints are named after everything that shapes the training, so a rerun with the same
# settings resumes (or skips) it, and a changed setting starts afresh.

# %%
recipe = [cfg[k] for k in ("seed", "library_size", "library_darks", "frame_size",
                           "n_train_frames", "exptime_range", "patch_size",
                           "patch_stride", "batch_size", "lr", "freeze_fraction")]


def checkpoint(name, epochs):
    return cb.checkpoint_name(f"deepcr_{name}", *recipe, name, epochs)


# %%
model = deepcr.UNet(2, 32)
print(model.name, f"{model.n_parameters:,} parameters,",
      f"receptive radius {model.receptive_radius} px")
history = deepcr.train_mask_net(
    model, train, val, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr,
    freeze_fraction=cfg.freeze_fraction, checkpoint=checkpoint("2-32", cfg.epochs),
    seed=cfg.seed, device=device)

# %%
ax = history.plot()
frozen = deepcr.freeze_epoch(cfg.epochs, cfg.freeze_fraction)
ax.axvline(frozen + 0.5, color="gray", ls=":", label="batch norm frozen")
ax.legend()
plt.show()

# %% [markdown]
# ## The held-out test frame: three methods
#
# On the test frame we run the trained network (probabilities, tiled with a halo — see the
# timing section), the SDSS method as the DESI pipeline runs it (`baselines.sdss_cosmics`, with
# DESI's defaults nsig 6, cfudge 3, c2fudge 0.5 and the simulated camera's PSF gradients), and
# LA Cosmic through astroscrappy (`baselines.lacosmic_mask`, its default parameters, the
# frame's inverse variance as noise model).

# %%
truth = test.mask
with cb.Timer() as t_cnn:
    prob = deepcr.predict_mask(test.image, model, device=device)
with cb.Timer() as t_sdss:
    sdss = baselines.sdss_cosmics(test.image, test.ivar, tile.psf_gradients)
with cb.Timer() as t_lacos:
    lacos = baselines.lacosmic_mask(test.image, ivar=test.ivar)
masks = {"CNN 2-32": prob > THRESHOLD, "SDSS method": sdss, "LA Cosmic": lacos}
scores = {name: deepcr.score_mask(m, truth) for name, m in masks.items()}
scores

# %% [markdown]
# The classical methods give one mask each; to draw their ROC curves we rerun them with their
# main knob swept (c2fudge for the SDSS method — its false-positive rate hardly moves with
# nsig, because the 3 x 3 dilation ring dominates it — and sigclip for LA Cosmic) and join the
# operating points (`deepcr.sweep_curve`; outside the swept range of false-positive rates
# their TPR is undefined, NaN). The network's curve comes from thresholding its probability
# at every value.

# %%
curves = {"CNN 2-32": deepcr.roc_curve(prob, truth)}
sdss_method = partial(baselines.sdss_cosmics, ivar=test.ivar,
                      psf_gradients=tile.psf_gradients)
curves["SDSS method"] = deepcr.sweep_method(sdss_method, test.image, truth, "c2fudge",
                                            cfg.sdss_c2fudge)
lacosmic = partial(baselines.lacosmic_mask, ivar=test.ivar)
curves["LA Cosmic"] = deepcr.sweep_method(lacosmic, test.image, truth, "sigclip",
                                          cfg.lacosmic_sigclip)
defaults = {f"{k}, default": v for k, v in scores.items() if k != "CNN 2-32"}
ax = deepcr.plot_roc({**curves, **defaults}, xlim=(1e-6, 1e-1), ylim=(0.5, 1.005))
ax.set_title(f"held-out {cfg.test_size}^2 frame, {len(test.cosmics)} cosmics")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
fprs = [1e-4, 1e-3, 1e-2]
print(f"{'TPR (%) at FPR':22s}" + "".join(f"{f:>9.2%}" for f in fprs) + "   at default")
for name, curve in curves.items():
    s = scores[name]
    print(f"{name:22s}" + "".join(f"{100 * v:9.2f}" for v in curve.tpr_at(fprs))
          + f"   TPR {100 * s.tpr:.2f} at FPR {100 * s.fpr:.3f}")
for name in ("SDSS method", "LA Cosmic"):
    f = scores[name].fpr
    tpr = curves["CNN 2-32"].tpr_at(f)
    print(f"CNN at the {name}'s FPR ({100 * f:.3f}%): TPR {100 * tpr:.2f}")

# %% [markdown]
# The table reads across: at each false-positive rate, the fraction of cosmic-ray pixels a
# method masks. For the swept classical methods, TPRs between sweep points are interpolated.
# The last lines compare the network with each classical method at that method's own default
# operating point — the fairest single-number comparison.

# %% [markdown]
# ## Which cosmics are missed, and how far the masks grow
#
# The seed deck says the SDSS method misses dim cosmics and "can easily overestimate the
# footprint". We split the injected cosmics by their true peak charge and count, per bin, the
# fraction detected (peak pixel masked) and the fraction of their pixels masked — for the
# network both at the 0.5 threshold and at the threshold that gives the SDSS method's
# false-positive rate, since a mask's TPR always depends on how many false positives it is
# allowed. Over-growth is
# the number of masked pixels outside the true footprints per correctly masked pixel, split into
# the one-pixel ring around the truth (what a 3 x 3 dilation adds) and farther pixels.

# %%
matched = prob >= curves["CNN 2-32"].threshold_at(scores["SDSS method"].fpr)
brightness = {name: deepcr.tpr_by_brightness(m, test.labels, test.cosmics) for name, m
              in {**masks, "CNN 2-32 at SDSS's FPR": matched}.items()}
fig, ax = plt.subplots(figsize=(7, 4))
for name, table in brightness.items():
    centre = np.sqrt(np.maximum(table["lo"], 300) * np.minimum(table["hi"], 4e4))
    ax.plot(centre, 100 * table["tpr"], marker="o", label=name)
ax.set_xscale("log")
ax.set_xlabel("true peak of the cosmic (e-)")
ax.set_ylabel("pixels masked (%)")
ax.legend()
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
growth = {name: deepcr.footprint_overgrowth(m, truth) for name, m in masks.items()}
for name, g in growth.items():
    print(f"{name:12s} over-growth {g.overgrowth:.3f} (ring {g.overgrowth_ring:.3f}, "
          f"farther {g.overgrowth_far:.3f}); {g.n_flagged} px masked")
brightness["SDSS method"]["lo", "hi", "n_cosmics", "detected", "tpr"]

# %% [markdown]
# ## The hardest cases
#
# The cosmics the network covers worst, with the three masks outlined (truth in red).
# Most are faint cosmics or faint ends of tracks lying on a fibre trace or a sky line, where a
# few hundred electrons of cosmic charge hide in a few thousand of spectrum.

# %%
fig = deepcr.plot_hardest_cases(test.image, truth, test.labels, masks, by="CNN 2-32",
                                n=5, cosmics=test.cosmics)
plt.show()

# %% [markdown]
# ## Timing: whole frame, 16 quadrants, halo tiling
#
# The seed's timing slide, redone on the test frame on this machine. A whole-frame pass holds
# every activation of the frame in memory; the DESI study cut the frame into 16 quadrants,
# which is cheaper in memory but leaves seams, because pixels near a quadrant edge lose their
# context. `predict_mask` instead cuts tiles with a halo of the network's receptive radius and
# keeps only the inside: the result equals the whole-frame pass to float rounding, with memory
# set by the tile. Peak memory is the process's resident memory sampled during the call (on a
# GPU: torch's allocator), a lower bound. Timings are reported, never tested.

# %%
# NBVAL_IGNORE_OUTPUT
fast = model.fused()
image = test.image
runs = {"whole frame": lambda: deepcr.predict_mask(image, fast, tile=0, device=device),
        "16 quadrants": lambda: deepcr.predict_quadrants(image, fast, 4, device=device),
        "halo tiles": lambda: deepcr.predict_mask(image, fast, tile=cfg.tile,
                                                  device=device)}
timing = {}
for name, run in runs.items():
    with cb.Timer() as t:
        out, peak, how = deepcr.measure_peak_memory(run, device=device)
    timing[name] = (out, t.seconds, peak)
    print(f"{name:13s} {t.seconds:6.2f} s  peak +{peak / 1e6:6.0f} MB ({how})")
print(f"SDSS method   {t_sdss.seconds:6.2f} s   LA Cosmic {t_lacos.seconds:6.2f} s")
print(f"training: {np.mean(history['seconds']):.1f} s per epoch on {device}")

# %%
# NBVAL_CHECK_OUTPUT
whole = timing["whole frame"][0]
halo = deepcr.seam_difference(timing["halo tiles"][0], whole)
quads = deepcr.seam_difference(timing["16 quadrants"][0], whole,
                               tile=cfg.test_size // 4, width=model.receptive_radius)
flips = int(((timing["16 quadrants"][0] > THRESHOLD) != (whole > THRESHOLD)).sum())
print(f"halo tiling vs whole frame: max |diff| {halo['max_abs']:.1e} (goal < 1e-5)")
print(f"16 quadrants vs whole: max |diff| {quads['max_abs_seam']:.3f} within "
      f"{model.receptive_radius} px of a seam, "
      f"{quads['max_abs_interior']:.1e} elsewhere; {flips} mask pixels flip")

# %% [markdown]
# ## Is a smaller network as good?
#
# The seed's "next steps" asked for a smaller, faster network with similar performance, and a
# larger one. We train deepCR-style variants — 2 levels with 4, 8 or 16 channels, and 3 levels
# with 32 — on the same patches with the same recipe. The 2-level variants are cheap and get
# as many epochs as the 2-32 above; to keep the book affordable the 3-32 (slightly more costly
# per epoch than the 2-32) trains only briefly in `book`, so its row is a quick look, not a fair
# race. In `full` every variant gets the same 60 epochs. Times are inference on a
# 1024 x 1024 cut of the test frame.

# %%
study = {}
cut = test.image[:1024, :1024]
for name, epochs in cfg.variants.items():
    net = deepcr.UNet(*deepcr.parse_variant(name))
    deepcr.train_mask_net(net, train, val, epochs=epochs, batch_size=cfg.batch_size,
                          lr=cfg.lr, freeze_fraction=cfg.freeze_fraction, seed=cfg.seed,
                          device=device, checkpoint=checkpoint(name, epochs))
    p = deepcr.predict_mask(test.image, net, device=device)
    seconds = cb.best_time(partial(deepcr.predict_mask, cut, net.fused()), repeat=1)
    study[name] = (net.n_parameters, deepcr.tpr_at_fpr(p, truth, 1e-3), seconds)
study["2-32"] = (model.n_parameters, curves["CNN 2-32"].tpr_at(1e-3),
                 cb.best_time(partial(deepcr.predict_mask, cut, fast), repeat=1))

# %%
# NBVAL_CHECK_OUTPUT
for name, (n_par, tpr, _) in sorted(study.items(), key=lambda kv: kv[1][0]):
    epochs = cfg.variants.get(name, cfg.epochs)
    print(f"{name:5s} {n_par:8,d} parameters, {epochs} epochs: "
          f"TPR at FPR 0.1% = {100 * tpr:.2f}%")

# %%
names = sorted(study, key=lambda k: study[k][0])
ax = deepcr.plot_variant_study(names, [100 * study[n][1] for n in names],
                               [study[n][2] for n in names],
                               [study[n][0] for n in names])
ax.set_title("model-size study (inference on 1024^2, one CPU thread)")
plt.show()

# %% [markdown]
# ## The shipped weights
#
# The weights of this run go to the working directory with their training metadata and the
# test metrics; the book-profile file is shipped with the package and is what
# `deepcr.predict_mask(image)` and `cosmicbook mask IN.fits OUT.fits` use by default.

# %%
tprs = curves["CNN 2-32"].tpr_at(fprs)
meta = {"profile": cfg.name, "seed": cfg.seed, "epochs": cfg.epochs,
        "device": str(device), "train_patches": len(train), "val_patches": len(val),
        "config": dict(cfg), "history": history.state_dict()["records"],
        "test_tpr_at_fpr": dict(zip(["1e-4", "1e-3", "1e-2"], map(float, tprs))),
        "test_frame": repr(test)}
weights = deepcr.save_model(model, f"deepcr_2-32_{cfg.name}.pt", metadata=meta)
mb = weights.stat().st_size / 1e6
print(f"saved {weights.name} ({mb:.2f} MB) and {weights.stem}.json")

# %% [markdown]
# ## Results
#
# The headline numbers of this run: the network (value column) against the SDSS method
# measured on the same held-out frame (baseline column), LA Cosmic in the notes and extra rows,
# and the published deepCR numbers — HST ACS imaging, not DESI spectra, so only a rough guide
# {cite:p}`zhang2020deepcr` — plus the timing slide of the DESI deck {cite:p}`green2021desi`.
# The table is written to `RESULTS_DIR/02_deepcr_masks.json` for the {doc}`../book/scoreboard`.

# %%
results = cb.Results("02_deepcr_masks", "deepCR-style cosmic-ray masks",
                     profile=cfg.name, method="CNN 2-32", baseline_name="SDSS method",
                     device=str(device))
cnn, sd, la = curves["CNN 2-32"], curves["SDSS method"], curves["LA Cosmic"]
paper = {1e-4: 79.5, 1e-3: 92.5, 1e-2: 99.6}
zhang = "Zhang & Bloom 2020, HST ACS extragalactic field"
for f in fprs:
    results.add(f"TPR at FPR {f:.2%}", 100 * cnn.tpr_at(f), unit="%",
                baseline=100 * sd.tpr_at(f), paper=paper[f], source=zhang,
                goal=">= 95, > both baselines" if f == 1e-3 else "",
                note=f"LA Cosmic {100 * la.tpr_at(f):.2f} (swept sigclip)")
for name in ("SDSS method", "LA Cosmic"):
    s = scores[name]
    results.add(f"TPR at the {name} default's FPR ({100 * s.fpr:.3f}%)",
                100 * cnn.tpr_at(s.fpr), unit="%",
                baseline=100 * s.tpr if name == "SDSS method" else None,
                note="" if name == "SDSS method" else f"LA Cosmic {100 * s.tpr:.2f}")
c, d = scores["CNN 2-32"], scores["SDSS method"]
results.add(f"TPR at threshold {THRESHOLD}", 100 * c.tpr, unit="%",
            baseline=100 * d.tpr,
            note=f"FPR {100 * c.fpr:.3f}% vs {100 * d.fpr:.3f}% (SDSS default)")
results.add("footprint over-growth", growth["CNN 2-32"].overgrowth,
            baseline=growth["SDSS method"].overgrowth,
            note=f"LA Cosmic {growth['LA Cosmic'].overgrowth:.3f}")
results.add("halo tiling vs whole frame, max abs. difference", halo["max_abs"],
            goal="< 1e-5")
_ = results.add("16 quadrants vs whole frame, max abs. difference", quads["max_abs"])

# %%
equal = [n for n in study if cfg.variants.get(n, cfg.epochs) == cfg.epochs]
near = [n for n in equal if study[n][1] >= study["2-32"][1] - 0.01]
small = min(near, key=lambda n: study[n][0])
results.add("smallest variant within 1 point of 2-32 (TPR at 0.1%)", small,
            note=f"{study[small][0]:,} parameters; among variants trained "
                 f"{cfg.epochs} epochs: {', '.join(sorted(equal))}")
size, (_, t_halo, m_halo) = cfg.test_size, timing["halo tiles"]
results.add(f"CNN, {size}^2 frame, halo tiles", t_halo, unit="s", timing=True,
            baseline=t_sdss.seconds, paper="~45 (4k^2, laptop)", source="DESI-6095",
            note=f"LA Cosmic {t_lacos.seconds:.2f} s; peak +{m_halo / 1e6:.0f} MB")
results.add(f"CNN, {size}^2 frame, whole", timing["whole frame"][1], unit="s",
            timing=True, note=f"peak +{timing['whole frame'][2] / 1e6:.0f} MB")
results.add(f"CNN, {size}^2 frame, 16 quadrants", timing["16 quadrants"][1],
            unit="s", paper="~30 (4k^2, laptop)", source="DESI-6095", timing=True)
results.add("training time per epoch", float(np.mean(history["seconds"])), unit="s",
            timing=True, note=f"{len(train)} patches")
saved = results.save(RESULTS_DIR)

# %%
# NBVAL_CHECK_OUTPUT
results.view()

# %%
# NBVAL_IGNORE_OUTPUT
results.view(timings=True)

# %% [markdown]
# **What we learned.** On a held-out DESI-like frame, the 2-32 network trained for about four
# minutes on one CPU core masks 96.5 % of the cosmic-ray pixels at a false-positive rate of
# 0.1 % — the goal of 95 % — and 97.5 % at the SDSS method's own false-positive rate,
# where the SDSS method with DESI's defaults masks 94.4 %. The SDSS method cannot be run at
# 0.1 % at all without giving up much of its TPR (the table), because its 3 x 3 dilation puts a
# ring of false positives around every cosmic: its masks are ~44 % larger than the truth, the
# network's 6 %. LA Cosmic with its defaults stays near 67 %: it rejects cosmics lying on the
# sharp sky lines and fibre traces, which its fine-structure test takes for stars. The seed's
# claim that the SDSS method misses *dim* cosmics shows at the pixel level: it finds every
# cosmic below 1000 e- but masks only ~80 % of their pixels, where the network at the same
# false-positive rate masks ~95 %.
#
# Halo tiling reproduces the whole-frame probabilities exactly, with the memory of one tile;
# naive quadrants change probabilities by up to ~0.96 along their edges. In the model-size study
# even the 1.7k-parameter 2-4 stays within a point of the 2-32 after the same short training,
# and the 2-16 beats it — on clean simulations, a much smaller network looks good enough,
# which is the speed-up the seed hoped for; longer training (`full`) decides whether the ranking
# holds. All of this is measured on simulated frames whose cosmics come from simulated darks;
# real DESI frames would add dark trails, saturated stars and bad columns that the simulation
# lacks.
