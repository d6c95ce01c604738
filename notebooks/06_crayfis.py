# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # CRAYFIS: tracks learned from two unlabeled mixtures, and an adversarial readout model
#
# CRAYFIS — *Cosmic RAYs Found In Smartphones* — proposes to turn the world's private phones
# into one detector for ultra-high-energy cosmic rays {cite:p}`whiteson2016crayfis`: the
# camera sensor of a phone lying face down sees nothing but noise, until a secondary muon or
# electron of an air shower crosses a few of its pixels. The seed talk
# {cite:p}`borisyak2017crayfis` tells two stories about the 40 x 40-pixel cut-outs such a
# phone records, and this chapter reproduces both on simulated phones.
#
# **Tracks without labels.** Nobody labels millions of phone frames by hand. But the same
# phone can take two datasets under the same conditions, one next to a Co-60 source (D1,
# many tracks) and one next to a Ra-226 source (D2, few). If tracks and noise look the same
# in both, a classifier trained only to tell D1 from D2 learns, up to a monotone map, the
# probability that a frame holds a track — the trick Metodiev, Nachman & Thaler call
# *classification without labels* {cite:p}`metodiev2017cwola`. With the track fractions
# $a$ and $b$ of the two datasets, a formula turns its output into a calibrated
# $P(\mathrm{track}\mid X)$.
#
# **Learning the readout.** The particle-sensor interaction can be simulated from first
# principles; the readout of a particular phone (gain curve, cross-talk, noise, compression)
# cannot. A Transformation Adversarial Network {cite:p}`borisyak2017tan` takes frames of an
# *approximate* readout and learns, from unpaired real frames, to turn them into realistic
# ones, while constraints keep the track where it was — a GAN {cite:p}`goodfellow2014gan`
# whose generator transforms instead of generating.

# %% [markdown]
# ## Setup
#
# On Colab, the first cell installs `cosmicbook`; elsewhere it does nothing. The `parameters`
# cell sets the run profile: `ci` (seconds), `book` (the default: about ten minutes on one
# CPU thread) or `full` (ten times the frames, for a GPU). Any knob left at `None` takes the
# profile's value.

# %%
import sys

if "google.colab" in sys.modules:  # install the book's package when running on Colab
    import subprocess

    repo = "git+https://github.com/cosmicbook/cosmicbook"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"cosmicbook[baselines] @ {repo}"], check=True)

# %% tags=["parameters"]
PROFILE = "book"      # "ci", "book" or "full"
SEED = None           # seeds the simulation and every training
A = None              # track fraction of D1 (Co-60-like)
B = None              # track fraction of D2 (Ra-226-like)
N_PER_SET = None      # training frames per dataset
EPOCHS = None         # epochs of the weak classifier and of the oracle
TAN_N = None          # unpaired training frames per readout for the TAN
TAN_EPOCHS = None     # TAN training epochs
TAN_MATCH = None      # weight of the TAN's distribution-matching losses (0: none)
RESULTS_DIR = "results"

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import cosmicbook as cb
from cosmicbook import crayfis

cfg = cb.resolve_profile(crayfis.PROFILES, PROFILE, seed=SEED, a=A, b=B,
                         n_per_set=N_PER_SET, epochs=EPOCHS, tan_n=TAN_N,
                         tan_epochs=TAN_EPOCHS, tan_match=TAN_MATCH)
cb.set_style()
torch.set_num_threads(1)  # timings below are for one CPU thread
rng = cb.seed_everything(cfg.seed)
cfg

# %% [markdown]
# ## Stage 1: particles in the sensor
#
# `crayfis.simulate_deposits` puts one event into a 40 x 40 grid of 1.5-micron pixels over a
# 20-micron depletion layer (DECO measured 14-28 microns), in electrons (3.6 eV each):
#
# * **muons** cross the layer in a straight line. Through a flat sensor the zenith angle
#   follows $dN/d\cos\theta \propto \cos^3\theta$ ($\cos^2$ per solid angle times the
#   projected area), the track is $d\tan\theta/\mathrm{pitch}$ pixels long and carries 76
#   electrons per micron of path with a Landau-like tail;
# * **electrons** of 30-150 keV (Compton or beta) walk curly paths whose scattering grows as
#   they slow down, losing energy along silicon's range-energy relation;
# * **photon spots**: a low-energy photon converting in one point (200-1200 electrons);
# * **alphas** of the Ra-226 chain: short, dense, saturating blobs (used later, to break the
#   method);
# * **nothing**: most frames of a real phone.
#
# Everything is smeared by charge diffusion. A *track* is a charged particle crossing the
# sensor (muon, electron or alpha); photon spots and empty frames are *noise*.

# %%
kinds = ["muon", "muon", "muon", "electron", "electron", "photon", "alpha", "empty"]
demo = crayfis.simulate_deposits(kinds, np.random.default_rng(cfg.seed + 5),
                                 progress=False)
titles = [f"{k}\n{e:.0f} keV" for k, e in zip(kinds, demo.params["energy_kev"])]
fig = crayfis.plot_frames({"deposit (e-)": demo.electrons}, {"deposit (e-)": titles},
                          size=1.4, vmax=3000)
plt.show()

# %% [markdown]
# ## Stage 2: the readout
#
# `crayfis.Readout` is the textbook camera of the crayfis simulation: a pedestal of 15
# electrons, Gaussian read noise, 25 electrons per ADC step, a few hot pixels fixed per phone,
# 8 bits. Our *phone* for the weak-label experiment adds an RGGB Bayer mosaic with per-colour
# gains and JPEG-like compression at quality 95 (8 x 8 block DCT with the JPEG quantisation
# table) — `crayfis.PHONE`. `crayfis.HiddenReadout` plays the *real* phone of the second
# half: a different gain and black level, a compressive response, 7% cross-talk to each
# neighbour, blooming along columns, shot noise with an excess factor and heavy-tailed read
# noise. The same deposits through the three readouts (ADU, one colour scale):

# %%
readouts = {"textbook": crayfis.Readout(), "phone": crayfis.PHONE,
            "hidden 'real'": crayfis.HiddenReadout()}
rows = {name: ro.apply(demo.electrons, np.random.default_rng(1))
        for name, ro in readouts.items()}
fig = crayfis.plot_frames(rows, size=1.4, vmax=40)
plt.show()

# %% [markdown]
# ## Two datasets from the same phone
#
# D1 holds a fraction $a$ of frames with a track, D2 a fraction $b$. The seed deck only asks
# for $P(\mathrm{track}\mid D_1) \gg P(\mathrm{track}\mid D_2)$; we take $a = 0.8$ and
# $b = 0.2$ for the headline and sweep the gap later. In both datasets 30% of the tracks are
# muons and 70% electrons, and the noise frames are half empty, half photon spots — the
# assumptions of the method hold by construction. The truth is kept for evaluation only.
# Training, validation (calibration, estimate of $a$ and $b$) and test frames are independent
# draws.

# %%
t0 = time.perf_counter()
mix = dict(a=cfg.a, b=cfg.b, progress=False)
train = crayfis.simulate_mixtures(cfg.n_per_set, seed=cfg.seed, **mix)
val = crayfis.simulate_mixtures(cfg.n_val_per_set, seed=cfg.seed + 1, **mix)
test = crayfis.simulate_mixtures(cfg.n_test_per_set, seed=cfg.seed + 2, **mix)
sim_seconds = time.perf_counter() - t0

# %%
# NBVAL_CHECK_OUTPUT
for name, m in {"train": train, "validation": val, "test": test}.items():
    print(f"{name:10s}: {m.in_d1.sum()} + {(~m.in_d1).sum()} frames; track fraction "
          f"D1 {m.is_track[m.in_d1].mean():.3f}, D2 {m.is_track[~m.in_d1].mean():.3f}")

# %% [markdown]
# ## Weak classifier and oracle
#
# `crayfis.weak_experiment` trains a small CNN (three 3 x 3 convolutions, global max and
# mean pooling; `crayfis.TrackCNN`) with binary cross-entropy to tell D1 from D2, through the
# book's training loop `cb.fit`. The formula needs a *calibrated* $f = P(D_1\mid X)$: its
# logits are calibrated on the validation mixtures — weak labels only — by isotonic
# regression {cite:p}`zadrozny2002isotonic` (`crayfis.Calibration`), and turned into
# $g = (a+b)\,[f\,(2-a-b) - (1-a)]/(a-b)$, the posterior of a track in the pooled sample
# (`crayfis.weak_to_posterior`). The *oracle* is the same network trained on the same
# frames with the truth labels (and calibrated by temperature scaling
# {cite:p}`guo2017calibration` on the validation
# truth): the best the weak labels could hope for.

# %%
train_kw = dict(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed)
sizes = (cfg.n_per_set, cfg.n_val_per_set, cfg.a, cfg.b, cfg.seed, cfg.epochs, cfg.lr)
ckpt_weak = cb.checkpoint_name("crayfis_weak", *sizes)
ckpt_oracle = cb.checkpoint_name("crayfis_oracle", *sizes)
weak = crayfis.weak_experiment(train, val, test, checkpoint=ckpt_weak, **train_kw)
oracle = crayfis.oracle_experiment(train, val, test, checkpoint=ckpt_oracle, **train_kw)
weak_seconds = sum(weak.history["seconds"])  # epoch wall times, kept across resumes
oracle_seconds = sum(oracle.history["seconds"])

# %% [markdown]
# The fractions can also be estimated from the data: where frames are pure tracks (the top
# 15% of the validation scores), the ratio of D1 to D2 frames is $a/b$; where they are pure
# noise (the bottom 15%), it is $(1-a)/(1-b)$ — the two end slopes of the D1-vs-D2 ROC curve
# (`crayfis.estimate_fractions`, an anchor-set estimator of mixture proportions
# {cite:p}`scott2013mpe`). This needs the seed deck's fourth assumption,
# $P(\mathrm{track}\mid X) \in \{0, 1\}$, at least at the two ends.

# %%
# NBVAL_CHECK_OUTPUT
print(f"AUC against the truth: weak labels {weak.auc:.4f}, oracle {oracle.auc:.4f}, "
      f"difference {oracle.auc - weak.auc:+.4f}")
print(f"AUC of D1 vs D2 (what the weak classifier learns): {weak.auc_d1_vs_d2:.4f}")
print(f"estimated a = {weak.a_estimated:.3f}, b = {weak.b_estimated:.3f} "
      f"(true {cfg.a}, {cfg.b})")
print(f"ECE of g: a, b known {weak.ece_known:.4f}; estimated {weak.ece_estimated:.4f}; "
      f"with temperature scaling instead of isotonic {weak.ece_temperature:.4f}")
print(f"ECE of the oracle: {oracle.ece:.4f}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
crayfis.plot_roc({"weak labels": (weak.f, test.is_track),
                  "oracle": (oracle.prob, test.is_track)}, ax=ax1)
crayfis.plot_reliability({"g, a and b known": (weak.g_known, test.is_track),
                          "g, a and b estimated": (weak.g_estimated, test.is_track),
                          "oracle": (oracle.prob, test.is_track)}, ax=ax2)
fig.tight_layout()
plt.show()

# %% [markdown]
# Where does the weak classifier hesitate? The distribution of its calibrated $f$ per kind
# of event (truth): empty frames sit at the noise end $f = (1-a)/(2-a-b)$, long tracks at the
# track end $a/(a+b)$. Nearly vertical muons deposit their charge in one or two pixels and
# look like photon spots — for those, $P(\mathrm{track}\mid X)$ really is neither 0 nor 1, for
# the oracle too.

# %%
ax = crayfis.plot_score_histograms(weak.f, test.kind)
lo, hi = crayfis.feasible_interval(cfg.a, cfg.b)
for edge in (lo, hi):
    ax.axvline(edge, color="0.5", ls=":")
plt.show()

# %% [markdown]
# ## How large must the gap between the mixtures be?
#
# The weak classifier learns from the *difference* between the datasets: per frame, the
# label carries information about the track in proportion to $a - b$, so its training signal
# shrinks roughly as $(a-b)^2$ and the mixture formula divides by $a-b$, amplifying every
# error of $f$. We repeat the experiment with $a = 0.5 + \Delta/2$, $b = 0.5 - \Delta/2$ on
# smaller datasets (`sweep_n_per_set` frames each), next to an oracle trained on the same
# number of frames.

# %%
t0 = time.perf_counter()
n_sw = (cfg.sweep_n_per_set, cfg.sweep_n_per_set // 4, cfg.sweep_n_per_set // 2)
sw_kw = dict(train_kw, epochs=cfg.sweep_epochs)
sweep = []
for gap in cfg.sweep_gaps:
    ab = dict(a=0.5 + gap / 2, b=0.5 - gap / 2, progress=False)
    sets = [crayfis.simulate_mixtures(n, seed=cfg.seed + 10 + k, **ab)
            for k, n in enumerate(n_sw)]
    sweep.append(crayfis.weak_experiment(*sets, **sw_kw))
sweep_oracle = crayfis.oracle_experiment(*sets, **sw_kw)
sweep_seconds = time.perf_counter() - t0

# %%
# NBVAL_CHECK_OUTPUT
print(f"oracle with {n_sw[0]} + {n_sw[0]} frames: AUC {sweep_oracle.auc:.4f}")
for gap, r in zip(cfg.sweep_gaps, sweep):
    print(f"a - b = {gap:5.2f}: AUC {r.auc:.4f}, ECE (a, b known) {r.ece_known:.4f}, "
          f"estimated a, b = {r.a_estimated:.3f}, {r.b_estimated:.3f}")

# %%
fig = crayfis.plot_gap_sweep(cfg.sweep_gaps, [r.auc for r in sweep],
                             [r.ece_known for r in sweep], auc_oracle=sweep_oracle.auc)
plt.show()

# %% [markdown]
# ## Breaking the assumption
#
# Suppose the tracks of D2 are not the muons and electrons of D1 but alpha particles of the
# radium chain: dense blobs that never occur in D1. Now the classifier learns "alpha means
# D2" and puts alphas *below* empty frames; the formula, which trusts that tracks look alike,
# turns them into confident noise.

# %%
t0 = time.perf_counter()
bad = [crayfis.simulate_mixtures(n, seed=cfg.seed + 20 + k, violate=True, **mix)
       for k, n in enumerate(n_sw)]
broken = crayfis.weak_experiment(*bad, **sw_kw)
broken_oracle = crayfis.oracle_experiment(*bad, **sw_kw)
violation_seconds = time.perf_counter() - t0
alpha = bad[2].kind == "alpha"

# %%
# NBVAL_CHECK_OUTPUT
print(f"AUC against the truth: weak {broken.auc:.4f}, oracle {broken_oracle.auc:.4f}")
print(f"ECE of g (a, b known): {broken.ece_known:.4f}")
print(f"estimated a, b = {broken.a_estimated:.3f}, {broken.b_estimated:.3f}")
print(f"mean g on alpha frames {broken.g_known[alpha].mean():.3f} (all are tracks)")

# %%
ax = crayfis.plot_score_histograms(broken.f, bad[2].kind)
ax.set_title("assumption violated: D2's tracks are alphas")
plt.show()

# %% [markdown]
# ## A Transformation Adversarial Network for the readout
#
# Now the second story. The "real" phone is `HiddenReadout`; the TAN never sees its
# parameters, only its frames. `crayfis.simulate_readout_sets` draws the unpaired training
# data (approximate frames of one interaction draw, real frames of another) and an
# evaluation draw read out by both readouts, plus the real readout a second time with other
# noise (the floor of every distance), and approximate frames of yet another draw for the
# two-sample tests.
#
# `crayfis.train_tan` trains a residual, fully convolutional generator
# $G(x, z) = x + c(x, z)$ — one 3 x 3 convolution for cross-talk and blooming that sees only
# the signal above the noise floor, then pointwise layers for the gain curve and the noise,
# which enter with a map of Gaussian noise $z$ pixel by pixel, and an ADC to integer ADU —
# against a discriminator with a per-frame and a per-patch head. The constraint loss keeps the charge on the track's footprint within
# a tolerance of 50% of its value before the transformation (a hinge on the log of the
# charge ratio: the real gain is unknown to tens of percent, so the TAN may recalibrate a
# charge but not erase or invent one) and penalises charge created away from the track.
# The generator returned is the moving average of its weights, and its ADC is then
# calibrated (`crayfis.calibrate_adc`): the level at which the output steps from $k$ to
# $k + 1$ ADU is placed so that the pooled pixel-value histogram of the transformed training
# frames is that of the real ones — quantile mapping, the classical correction of a
# simulation's output distribution, here as a monotone map that moves no pixel past another.
#
# A discriminator that judges single frames is nearly blind to a 15% change of the charge
# scale when tracks differ by a factor five in charge (the earlier version of this chapter
# found exactly that). So, beyond the seed deck and in the spirit of feature matching, the
# generator also minimises three *distribution-matching* losses
# (`crayfis.tan.matching_losses`, weight `tan_match`): the 1-D Wasserstein distances between
# the batch's brightest-cluster sizes and charges and those of *all* the real training
# frames, and between the pixel values of the batch and of a real batch. The cluster
# features are the hard-threshold ones of the evaluation below; their gradient comes from a
# soft count on the cluster and its one-pixel rim (`crayfis.tan.frame_observables`).
# Two lessons from the earlier versions of this chapter are built in: a soft count over
# *every* pixel above threshold lets the generator grow "clusters" by widening the noise
# floor, which a two-sample test spots at once; and the pixel-value term holds the noise
# floor where it belongs while the cluster terms act. The evaluation uses the same cluster
# features on frames no part of the training saw. `TAN_MATCH = 0` gives the seed deck's TAN.
#
# Three more terms look after the noise floor, each for a reason found the hard way. The
# cluster threshold counts from each frame's *median*, and the real frames' median sits at
# 1 ADU with only 55% of the pixels at or below it: a floor 0.1 ADU too high moved the
# median of most TAN frames to 2 ADU, and every cluster shrank by a ring of faint pixels.
# `crayfis.tan.floor_loss` matches, frame by frame, the fractions of pixels below
# 0.5, 1.5, ..., 4.5 ADU. The real read noise has heavy tails: an empty real frame holds about
# ten pixels 3 ADU or more above its median, a Gaussian-noise generator about one, and a
# two-sample classifier learns to count them; `crayfis.tan.tail_loss` matches those counts
# (of *isolated* pixels, 3 to 8 ADU above the median, so that tracks do not hide the noise)
# and `crayfis.tan.histogram_loss` the logarithm of the pixel-value histogram (0-15 ADU).
# All three act on the generator's values before the rounding, through sigmoid-edged counts.
# The generator's design came from the same kind of evidence: an earlier one that let its
# 3 x 3 convolution see the noise made neighbouring pixels' noise correlated
# (correlation 0.07 sideways and -0.01 up and down in empty frames, none in real ones), and
# the two-sample classifiers found it.

# %%
t0 = time.perf_counter()
sets = crayfis.simulate_readout_sets(cfg.tan_n, cfg.eval_n, seed=cfg.seed + 30,
                                     progress=False)
tan_sim_seconds = time.perf_counter() - t0
tan_ckpt = cb.checkpoint_name("crayfis_tan", cfg.tan_n, cfg.tan_epochs, cfg.tan_lr,
                              cfg.tan_hidden, cfg.tan_match, cfg.seed,
                              sorted(crayfis.tan.MATCH_WEIGHTS.items()),
                              crayfis.tan.TAIL_LEVELS, "signal context, calibrated ADC")
gen, disc, tan_history = crayfis.train_tan(
    sets.approx_train, sets.real_train, epochs=cfg.tan_epochs, lr=cfg.tan_lr,
    hidden=cfg.tan_hidden, lambda_match=cfg.tan_match, seed=cfg.seed,
    checkpoint=tan_ckpt, progress=False)
tan_seconds = sum(tan_history["seconds"])
fig = crayfis.plot_tan_history(tan_history)
plt.show()

# %% [markdown]
# Samples: the same deposits through the real readout, through the approximate one, and
# transformed by the TAN (which never saw these frames, nor their real counterparts).

# %%
tan_eval = crayfis.transform(gen, sets.approx, seed=cfg.seed)
show = np.nonzero(sets.deposits.is_track)[0][:8]
fig = crayfis.plot_frames({"real": sets.real[show], "approximate": sets.approx[show],
                           "TAN": tan_eval[show]}, size=1.3, vmax=30)
plt.show()

# %% [markdown]
# ## Distances between the distributions
#
# Three 1-D Wasserstein distances between real and generated frames of the same deposits:
# of all pixel values, and of the size (pixels more than 3 ADU above the frame's median,
# 8-connected) and total charge of the brightest cluster of each frame with a track.

# %%
trk = sets.deposits.is_track
dist = {name: crayfis.distribution_distances(sets.real, frames, trk, trk)
        for name, frames in {"approximate": sets.approx, "TAN": tan_eval,
                             "floor (real again)": sets.real_repeat}.items()}
fig = crayfis.plot_distributions({"real": (sets.real, trk),
                                  "approximate": (sets.approx, trk),
                                  "TAN": (tan_eval, trk)})
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
for name, d in dist.items():
    print(f"{name:20s}" + "".join(f"  {k} {v:8.3f}" for k, v in d.items()))
ratios = {k: dist["approximate"][k] / dist["TAN"][k] for k in dist["TAN"]}
print("reduction by the TAN:", ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))

# %% [markdown]
# ## Faithfulness and the classifier two-sample test
#
# Did the TAN keep the tracks where they were? For each frame with a track, the centroid of
# the brightest cluster before and after the transformation, and the ratio of its charges —
# next to the same numbers for the real readout of the same deposits. Then a classifier
# two-sample test {cite:p}`lopezpaz2017c2st`: a fresh `TrackCNN` is trained to tell real
# frames from generated ones; its AUC on held-out frames is 0.5 when it cannot. The test is
# only as strong as its classifier: trained for 3 epochs, it gave an AUC of 0.57 for one
# initialisation and 0.88 for another on the same two samples (an earlier version of this
# chapter reported the 0.57). So `c2st_repeats` classifiers are trained for `c2st_epochs`
# epochs, with other initialisations and splits, and the largest AUC is the one reported.

# %%
t0 = time.perf_counter()
tan_other = crayfis.transform(gen, sets.approx_other, seed=cfg.seed + 1)
c2st_kw = dict(epochs=cfg.c2st_epochs, repeats=cfg.c2st_repeats, seed=cfg.seed,
               progress=False)
c2st = crayfis.classifier_two_sample_test
c2st_approx = c2st(sets.real, sets.approx_other, **c2st_kw)
c2st_tan = c2st(sets.real, tan_other, **c2st_kw)
c2st_seconds = time.perf_counter() - t0
faith_tan = crayfis.faithfulness(sets.approx, tan_eval, trk)
faith_real = crayfis.faithfulness(sets.approx, sets.real, trk)

# %%
# NBVAL_CHECK_OUTPUT
for name, c in {"approximate": c2st_approx, "TAN": c2st_tan}.items():
    each = ", ".join(f"{a:.3f}" for a in c.aucs)
    print(f"C2ST AUC, real vs {name}: {c.auc:.3f} (largest of {each}; "
          f"{c.n_test} + {c.n_test} frames)")
for name, f in {"TAN": faith_tan, "real readout": faith_real}.items():
    print(f"{name:12s}: centroid shift {f['centroid shift']:.2f} px, charge ratio "
          f"{f['charge ratio']:.3f} +- {f['charge ratio spread']:.3f}")

# %% [markdown]
# ## Results
#
# The weak classifier is compared with the oracle (same network and frames, truth labels);
# the TAN with the approximate readout it starts from. The seed deck shows the method's
# output as images and gives no numbers, so the `paper` column stays empty. The table is
# written to `RESULTS_DIR/06_crayfis.json` for the {doc}`../book/scoreboard`.

# %%
results = cb.Results("06_crayfis", "CRAYFIS: weak labels and an adversarial readout",
                     profile=cfg.name, method="weak labels / TAN",
                     baseline_name="oracle / approx. readout")
results.add("AUC vs truth", weak.auc, baseline=oracle.auc,
            goal="within 0.01 of the oracle", note=f"a = {cfg.a}, b = {cfg.b}")
results.add("AUC deficit to the oracle", oracle.auc - weak.auc, goal="<= 0.01")
results.add("ECE of g, a and b known", weak.ece_known, baseline=oracle.ece,
            goal="<= 0.05")
results.add("ECE of g, a and b estimated", weak.ece_estimated, baseline=oracle.ece)
results.add("ECE of g, temperature scaling", weak.ece_temperature, baseline=oracle.ece,
            note="a, b known; f calibrated by one temperature")
results.add("estimated a", weak.a_estimated, note=f"true {cfg.a}")
results.add("estimated b", weak.b_estimated, note=f"true {cfg.b}")
results.add("AUC vs truth, D2 tracks are alphas", broken.auc,
            baseline=broken_oracle.auc, note="assumption violated")
for key in ("pixel values", "cluster size", "track charge"):
    results.add(f"W1 {key}", dist["TAN"][key], baseline=dist["approximate"][key],
                unit="px" if key == "cluster size" else "ADU", goal="<= baseline / 3",
                note=f"floor {dist['floor (real again)'][key]:.3g}")
results.add("C2ST AUC vs real frames", c2st_tan.auc, baseline=c2st_approx.auc,
            goal="<= 0.6", note=f"largest of {len(c2st_tan.aucs)} classifiers")
shift = results.add("TAN centroid shift", faith_tan["centroid shift"], unit="px",
                    baseline=faith_real["centroid shift"],
                    note="baseline: real readout")

# %%
timings = {"simulation (mixtures)": sim_seconds,
           "weak classifier training": weak_seconds, "oracle training": oracle_seconds,
           "gap sweep": sweep_seconds, "assumption violation": violation_seconds,
           "simulation (TAN frames)": tan_sim_seconds, "TAN training": tan_seconds,
           "two-sample tests": c2st_seconds}
for name, seconds in timings.items():
    results.add(name, seconds, unit="s", timing=True)
frames_1k = np.concatenate([test.frames] * (1 + 1000 // len(test)))[:1000]
per_frame = cb.best_time(
    lambda: crayfis.track_probability(frames_1k, weak.model)) / 1000
results.add("track_probability per frame", per_frame, unit="s", timing=True)
saved = results.save(RESULTS_DIR)

# %% [markdown]
# The weak classifier's weights go to the working directory with a JSON of the run's knobs,
# learning curves and metrics; the copy shipped in `cosmicbook/crayfis/weights/` comes from
# the book profile and is what `crayfis.track_probability(frames)` loads.

# %%
weights = crayfis.save_model(
    weak.model, f"crayfis_weak_cnn_{cfg.name}.pt", profile=cfg.name, knobs=dict(cfg),
    history=weak.history.state_dict()["records"],
    metrics={m.name: m.value for m in results.rows(timings=None)})
print(f"weights written to {weights.name}")

# %%
# NBVAL_CHECK_OUTPUT
results.view()

# %%
# NBVAL_IGNORE_OUTPUT
results.view(timings=True)

# %% [markdown]
# ## Using it on frames of a phone
#
# `crayfis.track_probability(frames)` takes 40 x 40 8-bit frames and returns
# $P(\mathrm{track}\mid X)$ with the shipped weights; `prior=` adapts it to a sample whose
# track fraction is not the pooled one of the training data (a phone far from any source
# sees tracks in far fewer than half of its frames). The weights know only the simulated
# phone of this chapter: for a real phone, take the two datasets and run
# `crayfis.weak_experiment`.

# %%
# NBVAL_CHECK_OUTPUT
probe = test.subset(np.arange(0, len(test), max(len(test) // 8, 1))[:8])
g_pooled = crayfis.track_probability(probe.frames, weak.model)
g_rare = crayfis.track_probability(probe.frames, weak.model, prior=0.01)
for k, p, q in zip(probe.kind, g_pooled, g_rare):
    print(f"{k:8s}  P(track) = {p:.3f} (pooled prior), {q:.4f} (prior 0.01)")

# %% [markdown]
# **What we learned.** Classification without labels works on these phones. With
# $a = 0.8$, $b = 0.2$ and 8,000 frames per dataset, the classifier that only ever saw "D1"
# or "D2" ranks frames as well as the oracle trained on the truth (book profile: AUC 0.9999
# against 1.0000), and the mixture formula turns it into a calibrated
# $P(\mathrm{track}\mid X)$: expected calibration error 0.009 with $a$ and $b$ known,
# 0.010 with both estimated from the ends of the ROC curve (0.76 and 0.16 — the fractions
# of the validation sample, whose D2 happened to hold 17% tracks). One caveat: calibrating
# $f$ by a single temperature is *not* enough (ECE 0.054, just above the 0.05 goal). The
# weak classifier's ranking is right, but its confidence on the hard frames — nearly
# vertical muons against photon spots — lags behind its confidence on long tracks, and the
# formula amplifies any miscalibration by $(a+b)(2-a-b)/(a-b)$; isotonic regression
# {cite:p}`zadrozny2002isotonic` on held-out mixtures fixes what one temperature cannot.
#
# The sweep shows where the method breaks down, and it breaks in stages. The ranking is
# robust: tracks are easy to see here, and the AUC stays above 0.99 down to
# $a - b = 0.08$. The calibration is not: with 4,000 frames per dataset, the ECE exceeds
# 0.05 from $a - b = 0.3$ on, and the estimate of $a$ and $b$, right at 0.6 and 0.3, is
# off by 0.06-0.08 from 0.15 on and meaningless at 0.04. Breaking the assumption is worse than a small gap: when D2's tracks are
# alphas that never occur in D1, the classifier calls every alpha noise with full
# confidence ($g = 0$), the AUC falls to 0.80 against the oracle's 0.9999, and the estimate
# of $b$ collapses to 0 — nothing in the weak labels warns about it.
#
# The TAN meets its four targets in this run, two of them narrowly. On held-out frames it
# cuts the distances of the approximate readout 544-fold for the pixel values (0.83 to
# 0.0015 ADU; floor, the real readout against itself, 0.0007 — the calibrated ADC makes the
# pooled histogram right by construction), 3.4-fold for the cluster size (8.62 to 2.56
# pixels; floor 0.39) and 3.3-fold for the track charge (50.7 to 15.3 ADU; floor 3.3). It
# keeps the tracks in place (centroid shift 0.38 pixels; the real readout's own is 0.29) and
# changes each track's charge by 1.16 ± 0.21, as the real readout does (1.14 ± 0.16). And
# the classifiers can no longer tell its frames from real ones: two-sample AUC 0.559, the
# largest of three (0.559, 0.484, 0.543; approximate frames 1.000).
#
# Read the margins before the verdict. The two-sample test has its own spread: in a dev run
# on the same frames, a classifier with another split and initialisation reached 0.617,
# above the goal. The track charge passes by 3.3x against 3x. With training seed 7 the same
# recipe gave 5.1x for the size, 4.5x for the charge and two-sample AUCs of 0.56 and 0.53,
# so the pass is not a lucky draw of the generator, but it is not a wide one either.
#
# The road here says what a two-sample classifier sees. It counts: over 1,600 pixels a
# difference of a few percent in any bin of the per-pixel distribution, or a correlation of
# 0.02 between neighbours, adds up into a difference a CNN learns. The previous version of
# this chapter reported 0.57 from one classifier trained for 3 epochs (other initialisations
# gave 0.55-0.88 on the same frames) and, tested properly, its TAN scored 0.96. Three
# changes, each found with hand-made features on empty frames, brought it to 0.56: (1) the
# generator's 3 x 3 convolution saw its noise input and the approximate frame's noise, so
# neighbouring noise pixels were correlated (sideways, not up and down) — now the noise
# enters pixel by pixel and the convolution sees only the signal above the floor; (2) the
# per-bin counts were off by 5-7% (pixels at 0 ADU) however the losses were weighted — the
# calibrated ADC fixes the pooled histogram exactly; (3) the noise tails were too light in
# frames without a track, because the tracks' pixels met the tail counts for them — the tail
# loss now counts isolated pixels only. What is left is the extreme tail: the brightest
# pixel of an empty TAN frame is on average 8.1 ADU above its median, of a real one 9.2
# (Student-t read noise); a classifier that learns to look at it will push the AUC up.
#
# Dev runs also told what the matching losses are for: without them (`TAN_MATCH = 0`, the
# seed deck's TAN) the tracks are barely changed (size and charge 1.1x and 1.0x better than
# the approximation); with a soft size that counts every pixel above threshold, the
# generator grows clusters by widening the noise floor. The `full` profile (100,000 frames,
# 20 epochs, a GPU) is where to push the margins further.
