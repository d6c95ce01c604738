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
# # Damped Lyman-alpha systems with a multitask 1D CNN
#
# A damped Lyman-alpha system (DLA) is a cloud of neutral hydrogen with a column density of
# at least $10^{20.3}\,\mathrm{cm^{-2}}$ on the line of sight to a distant quasar. Its
# Lyman-alpha absorption is so strong that the damping wings of the line carve a broad,
# black trough into the quasar's spectrum: at $\log N_\mathrm{HI} = 20.3$ the rest
# equivalent width is already 10 Angstrom. DLAs hold most of the neutral gas of the young
# universe, and finding them used to be done by eye, with column densities fitted by hand.
#
# The seed talk {cite:p}`dong2017doma` presents the alternative of Parks et al.
# {cite:p}`parks2018dla`: *cast the spectrum snippet as a 1D image* and let a convolutional
# network answer three questions at every pixel — is this pixel within 60 pixels of a DLA
# centre (classification)? how far is the centre (localisation)? what is its column density?
# One network with a shared body and three heads, trained with the sum of three losses
# ("multi-task learning"), found about 19,000 DLAs in BOSS. Wang et al.
# {cite:p}`wang2022dla` adapted it to DESI.
#
# This chapter builds the whole chain on simulated SDSS sightlines: synthesis with exact Voigt
# profiles, per-pixel labels, the network, training, the sliding-window search, and an
# evaluation against the truth — next to a classical trough-finder with a Voigt fit run on
# the same spectra.

# %% [markdown]
# ````{admonition} In this chapter
# :class: tip
# **You will learn** how a DLA shapes a quasar spectrum (exact Voigt profiles); how to cast a
# spectrum as a 1D image with per-pixel labels; how one network with three heads classifies,
# localises and measures column densities at once; how to turn per-window outputs into a
# catalogue and score it against the truth and a classical trough search.
#
# **Prerequisites:** {doc}`02_deepcr_masks` for the training loop (optional); the basics of
# quasar absorption spectra; PyTorch at the level of a convolutional network.
#
# **Time:** this page was built with the {glue:text}`run_profile` profile in
# {glue:text}`run_minutes:.1f` minutes on {glue:text}`run_machine`. The `full` profile (the
# paper's 200,000 sightlines) wants a GPU. The last measured times:
#
# ```{glue:md} profile_times
# :format: myst
# ```
# ````

# %% [markdown]
# ## Setup
#
# On Colab, the first cell installs `cosmicbook`; elsewhere it does nothing. The `parameters`
# cell sets the run profile: `ci` (seconds), `book` (the default, one CPU thread) or `full`
# (the paper's 200,000 sightlines, for a GPU). Any knob left at `None` takes the profile's
# value.

# %%
import sys

if "google.colab" in sys.modules:  # install the book's package when running on Colab
    import subprocess

    repo = "git+https://github.com/cosmicbook/cosmicbook"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"cosmicbook[baselines] @ {repo}"], check=True)

# %% tags=["parameters"]
PROFILE = "book"      # "ci", "book" or "full"
SEED = None           # seeds simulation, window sampling and training
N_TRAIN = None        # training sightlines
N_TEST = None         # held-out sightlines searched for DLAs
WIDTH = None          # width of the network relative to Parks et al. (1: the paper)
EPOCHS = None         # training epochs
STRIDE = None         # pixels between window centres in the search (1: the paper)
SNR_MIN = 5.0         # the headline numbers use sightlines with S/N above this
RESULTS_DIR = "results"

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch

import cosmicbook as cb
from cosmicbook import dla

cfg = cb.resolve_profile(dla.PROFILES, PROFILE, seed=SEED, n_train=N_TRAIN,
                         n_test=N_TEST, width=WIDTH, epochs=EPOCHS, stride=STRIDE)
cb.set_style()
torch.set_num_threads(1)  # timings below are for one CPU thread
rng = cb.seed_everything(cfg.seed)
device = cb.get_device()  # CUDA when available, else the CPU
started = time.perf_counter()
cb.glue("profile_times", cb.profile_times("03_dla", "a GPU"))
print(f"memory needed by the {cfg.name} profile: {dla.memory_estimate(cfg)}")
cfg

# %% [markdown]
# ## The physics of the trough: exact Voigt profiles
#
# The optical depth of Lyman alpha at column density $N$ is
# $\tau(\nu) = N \frac{\pi e^2}{m_e c} f \frac{H(a,u)}{\sqrt{\pi}\Delta\nu_D}$ with the
# Voigt-Hjerting function $H(a,u) = \mathrm{Re}\,w(u+ia)$ (`scipy.special.wofz`),
# $f = 0.4164$ and $\Gamma = 6.265\times10^8\,\mathrm{s^{-1}}$. `dla.voigt_tau` evaluates
# it; `dla.equivalent_width` integrates $1-e^{-\tau}$ on a fine grid. The Doppler core is
# narrower than an SDSS pixel (69 km/s), so the simulator evaluates profiles on a grid six
# times finer than $b$, smooths with the instrument's resolution and then bins.

# %%
# NBVAL_CHECK_OUTPUT
for log_n, reference in [(20.3, 10.2), (21.0, 22.4)]:
    print(f"log NHI = {log_n}: rest EW = {dla.equivalent_width(log_n):.2f} A "
          f"(reference {reference} A)")

# %%
wave = np.linspace(1150, 1280, 4000)
fig, ax = plt.subplots(figsize=(8, 3))
for log_n in (19.5, 20.3, 21.0, 22.0):
    tau = dla.voigt_tau(wave, z_abs=0.0, log_nhi=log_n)
    ax.plot(wave, np.exp(-tau), label=f"log NHI = {log_n}")
ax.set_xlabel("rest wavelength (Angstrom)")
ax.set_ylabel("transmission")
ax.legend()
plt.show()

# %% [markdown]
# ## Simulated SDSS sightlines
#
# `dla.simulate_sightlines` builds spectra on the SDSS grid ($10^{-4}$ dex pixels) from
# 3600 Angstrom to 1420 Angstrom in the quasar's rest frame: a power-law continuum with
# broad emission lines, a Lyman-alpha forest whose mean transmission follows
# $\tau_\mathrm{eff}(z) = 0.0023(1+z)^{3.65}$ {cite:p}`kim2007taueff` (plus the Lyman-beta
# forest and a Lyman-limit cutoff), a Poisson number of DLAs ($\log N$ 20.3-22.5, from the
# Gamma-function $f(N)$ of Prochaska & Wolfe 2009) and of sub-DLAs ($\log N$ 19.5-20.3, the
# hard negatives), and noise with a per-sightline S/N drawn from a log-normal that reaches
# S/N ~ 1. Training, validation and test sightlines are independent draws.

# %%
t0 = time.perf_counter()
sim = dict(mean_dla=cfg.mean_dla, mean_subdla=cfg.mean_subdla, progress_bar=False)
train_lines = ([] if cfg.streaming else  # full: simulated per chunk while training
               dla.simulate_sightlines(cfg.n_train, seed=cfg.seed, **sim))
val_lines = dla.simulate_sightlines(cfg.n_val, seed=cfg.seed + 1, **sim)
test_lines = dla.simulate_sightlines(cfg.n_test, seed=cfg.seed + 2, **sim)
sim_seconds = time.perf_counter() - t0
n_dla = sum(len(s.dlas) for s in test_lines)
snr = np.array([s.snr for s in test_lines])
print(f"{cfg.n_train} training, {len(val_lines)} validation and "
      f"{len(test_lines)} test sightlines")
print(f"test set: {n_dla} DLAs; {np.mean(snr > SNR_MIN):.0%} of the sightlines "
      f"have S/N > {SNR_MIN:g}")

# %% [markdown]
# ## Labels: three numbers per pixel
#
# `dla.make_labels` gives every pixel the three labels of the seed's "CNN Labels and
# Learning" slide: classification 1 within ±60 pixels of a DLA centre, the offset to the
# centre (−60…+60) and the column density on those pixels. As in the paper, the band from
# 60 to 120 pixels around each DLA and the region of its Lyman-beta line are *masked*: a
# window there sees part of a DLA, and neither label would be right. Sub-DLAs are labelled
# negative. Flux is divided by the quasar's median at rest 1270-1290 Angstrom.

# %%
example = max(test_lines[:50], key=lambda s: (len(s.dlas) > 0) * s.snr * (s.snr < 15))
labels = dla.make_labels(example.flux.size, example.absorbers)
example.absorbers

# %% [markdown]
# ## Training windows and the network
#
# From each training sightline we cut 400-pixel windows centred near every DLA, near every
# sub-DLA and at random places in the forest (rest 900-1346 Angstrom); the window's label is
# that of its central pixel. We keep each window's noise-free flux and noise level too:
# training draws a fresh noise realisation for every window in every epoch, so that a few
# thousand sightlines do not let the network memorise their noise. The network is Parks et
# al.'s: three convolution + max-pool stages, one shared dense layer and three heads. For one CPU thread the book profile makes it
# narrower (`width`); `full` uses the paper's 100/96/96 filters.

# %%
wins = dict(per_dla=cfg.windows_per_dla, per_subdla=cfg.windows_per_subdla,
            per_random=cfg.windows_per_sightline, noise_model=cfg.fresh_noise)
val_windows = dla.make_windows(val_lines, rng, **wins)
if cfg.streaming:
    train_windows = dla.StreamingWindows(
        cfg.n_train, cfg.batch_size, chunk=cfg.chunk, seed=cfg.seed,
        per_dla=cfg.windows_per_dla, per_subdla=cfg.windows_per_subdla,
        per_random=cfg.windows_per_sightline, mean_dla=cfg.mean_dla,
        mean_subdla=cfg.mean_subdla)
    print(f"training windows streamed from {cfg.n_train} sightlines per epoch, "
          f"{cfg.chunk} at a time")
else:
    train_windows = dla.make_windows(train_lines, rng, **wins)
    print(f"{len(train_windows)} training windows "
          f"({np.mean(train_windows.cls == 1):.0%} positive)")
print(f"{len(val_windows)} validation windows")
print(dla.DLACNN(width=cfg.width))

# %% [markdown]
# ## Multitask training
#
# The loss is the seed's sum of three terms: binary cross-entropy for the classification,
# squared error of the offset (in units of the 60-pixel half window) and squared error of
# $\log N$ masked to positive windows, $\frac{y_c}{y_c+\epsilon}(y_h-\hat y_h)^2$.
# `dla.train_model` trains the network built here (seeded, so that its initial weights
# depend only on the profile's seed) in place through the book's training loop (`cb.fit`)
# with Adam and a cosine learning-rate decay, checkpointing every epoch; running the cell
# again resumes from the checkpoint.

# %%
torch.manual_seed(cfg.seed)
model = dla.DLACNN(width=cfg.width)
config = dla.TrainingConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr)
history = dla.train_model(model, train_windows, val_windows, config, seed=cfg.seed,
                          device=device, checkpoint=f"dla_cnn_{cfg.name}_checkpoint.pt")
train_seconds = sum(history["seconds"])  # wall time of the epochs, kept across resumes
fig = dla.plot_learning_curves(history)
plt.show()

# %% [markdown]
# The left panel is the total loss; the other three are the validation losses of the three
# tasks. Classification converges first; the offset and the column density keep improving
# as long as we train — the paper ran three million iterations.

# %% [markdown]
# ## From one spectrum to detections
#
# `dla.find_dlas` slides the window over every `stride`-th pixel of the forest. Windows with
# $p(\mathrm{DLA}) > 0.5$ vote for the pixel *they* believe is the centre (their pixel minus
# the predicted offset); the smoothed vote histogram peaks at each DLA, and the detection's
# redshift and $\log N$ are averages over its voters. The figure shows the labels (grey) and
# the network's three outputs along the example sightline; dotted lines mark the true
# absorbers, dashed lines the detections.

# %%
found, tracks = dla.find_dlas(example.wave, example.flux, example.ivar, example.z_qso,
                              model=model, stride=1, return_tracks=True)
fig = dla.plot_walk(example, labels, tracks, found)
plt.show()
found

# %% [markdown]
# ## The classical baseline
#
# `dla.find_dlas_classical` automates what a person did before: estimate the continuum as an
# upper envelope of the forest, look for troughs that stay below 30% of it over at least
# 15 pixels (a log N = 20.3 DLA is saturated over ~19 pixels, wider than any forest line at
# SDSS resolution), fit each with a Voigt profile, ignoring pixels eaten by forest lines,
# and reject fits whose saturated core lets light through (blends of forest lines).
# Both methods now search all test sightlines.

# %%
t0 = time.perf_counter()
cnn = [dla.find_dlas(s.wave, s.flux, s.ivar, s.z_qso, model=model, stride=cfg.stride)
       for s in test_lines]
cnn_seconds = (time.perf_counter() - t0) / len(test_lines)
t0 = time.perf_counter()
classical = [dla.find_dlas_classical(s.wave, s.flux, s.ivar, s.z_qso)
             for s in test_lines]
classical_seconds = (time.perf_counter() - t0) / len(test_lines)
truth, detections = dla.match_catalogue(test_lines, cnn)
truth_b, detections_b = dla.match_catalogue(test_lines, classical)

# %% [markdown]
# ## Completeness and purity
#
# A detection matches a true absorber within 30 pixels. *Completeness* is the fraction of
# true DLAs found **as DLAs** (predicted $\log N \ge 20.3$); *purity* the fraction of
# detected DLAs that are true DLAs — a sub-DLA reported as a DLA counts against it. Both are
# shown against the S/N of the sightline and against $\log N$ (true $\log N$ for
# completeness, predicted for purity).

# %%
snr_bins = [1, 2, 3, 5, 8, 12, 20, 60]
nhi_bins = [20.3, 20.5, 20.7, 21.0, 21.4, 22.5]
rates = {}
for name, (t, f) in {"CNN": (truth, detections),
                     "classical": (truth_b, detections_b)}.items():
    rates[name] = {"snr": dla.binned_rates(t, f, "snr", snr_bins),
                   "log_nhi": dla.binned_rates(t, f, "log_nhi", nhi_bins,
                                               snr_min=SNR_MIN)}
fig = dla.plot_rates(rates)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
table = rates["CNN"]["snr"]
table.round(3)  # in place
cb.mask_nan(table)

# %% [markdown]
# ## Redshifts and column densities
#
# For the true DLAs that were found (S/N > 5), the distributions of $z_\mathrm{pred} -
# z_\mathrm{true}$ and $\log N_\mathrm{pred} - \log N_\mathrm{true}$; the legend gives their
# standard deviations (no clipping).

# %%
fig = dla.plot_accuracy({"CNN": truth, "classical": truth_b}, snr_min=SNR_MIN)
plt.show()

# %% [markdown]
# ## DLAs versus sub-DLAs
#
# The hard cases are the absorbers near the DLA threshold. The matrices count, for S/N > 5,
# true DLAs, true sub-DLAs and "nothing" (spurious detections) against what each method
# reported; the scatter shows predicted against true $\log N$ of the CNN's matches.

# %%
conf = dla.confusion_matrix(truth, detections, snr_min=SNR_MIN)
conf_b = dla.confusion_matrix(truth_b, detections_b, snr_min=SNR_MIN)
fig = dla.plot_confusion({"CNN": conf, "classical": conf_b}, truth, snr_min=SNR_MIN)
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
s_cnn = dla.score(truth, detections, snr_min=SNR_MIN)
s_cls = dla.score(truth_b, detections_b, snr_min=SNR_MIN)
print(f"S/N > {SNR_MIN:g}: {s_cnn.n_dla} true DLAs in {s_cnn.n_sightlines} sightlines")
print("confusion (rows: true DLA, sub-DLA, none; columns: found DLA, sub-DLA, none)")
print(conf)

# %% [markdown]
# ## Real quasar spectra
#
# Everything so far came from our own simulator. The real test is a real spectrum. The
# `linetools` package {cite:p}`linetools2017` ships quasar spectra with its tests; `dla.real`
# reads their layouts (1-D FITS with a log-linear wavelength axis and a separate error file;
# BOSS-style image HDUs; ESO/X-shooter binary tables). The Keck/ESI and Magellan/MagE spectra
# have several times SDSS's resolving power, so `dla.degrade_resolution` convolves them with a
# Gaussian line-spread function of FWHM $c\sqrt{R_\mathrm{out}^{-2}-R_\mathrm{in}^{-2}}$ to
# $R = 2000$ and `dla.rebin_loglinear` averages them, flux-conservingly and weighted by
# inverse variance, into SDSS's $10^{-4}$ dex pixels. The CNN (shipped weights) and the trough
# search then run on each. The figure draws every absorber the CNN reports as its Voigt profile
# over the data; dotted lines mark published DLAs. The resolution degradation leaves the noise
# of neighbouring pixels correlated, and these spectra have far higher S/N than a typical
# SDSS quasar, so they test the continuum and the forest, not the noise.

# %%
if dla.linetools_available():
    real = dla.search_real_spectra({
        "CNN": lambda *a: dla.find_dlas(*a, stride=cfg.stride),
        "trough + Voigt": dla.find_dlas_classical})
    fig = dla.plot_real_spectra(real, methods=("CNN", "trough + Voigt"))
    plt.show()
else:
    real = None
    print("skipped: real spectra (linetools is not installed: pip install --no-deps "
          "linetools==0.3.2)")

# %%
# NBVAL_CHECK_OUTPUT
if real is not None:
    shown = real["key", "method", "z_abs", "log_nhi", "kind", "lit_z", "lit_log_nhi"]
    shown.round(3)
    print(dla.describe_real(real))
    cb.mask_nan(shown)

# %% [markdown]
# Published values: for PH957 the DLA of {cite:t}`prochaska1999dla`. We know of no published
# DLA towards UM184 (a Lyman-limit survey spectrum of {cite:t}`fumagalli2013lls`) or SDSS
# J220248.31+123656.3, so they are null tests; what the methods report there is discussed
# with the Gaussian-process finder below. The X-shooter file of BR J2349-3712 (XQ-100)
# holds only the near-infrared arm, which would contain the Lyman-alpha forest only for a
# quasar beyond z = 7: the reader is tested on it, but it cannot be searched.

# %% [markdown]
# ## Sightlines the simulator did not make
#
# `dla.independent_sightlines` is a second simulator written without reference to the first:
# continua built from a mean quasar spectrum plus five component spectra with random
# amplitudes (slope, line strength, Lyman-alpha/N V ratio, a blueshift of the high-ionisation
# lines, curvature), Lorentzian-cored emission lines the first simulator does not have (C III
# 977, N III 991, He II), a log-normal forest with the fluctuating Gunn-Peterson approximation
# calibrated to the mean transmission of Becker et al. {cite:p}`becker2013taueff` instead of
# Kim et al., Lyman-limit systems, random Doppler parameters, a different column-density
# distribution, a blue-rising sky noise, and an $R = 2000$ line-spread function applied with
# `dla.degrade_resolution`. The target S/N reaches down to 3. We run the **shipped** network
# (trained on the first simulator) and the trough search on them.

# %%
t0 = time.perf_counter()
ind_lines = list(dla.independent_sightlines(cfg.n_independent, seed=cfg.seed + 7))
ind_cnn = [dla.find_dlas(s.wave, s.flux, s.ivar, s.z_qso, stride=cfg.stride)
           for s in ind_lines]
ind_cls = [dla.find_dlas_classical(s.wave, s.flux, s.ivar, s.z_qso) for s in ind_lines]
ind_bins = [3, 5, 8, 12, 20, 1e9]
ind_match = {"CNN (shipped)": dla.match_catalogue(ind_lines, ind_cnn),
             "trough + Voigt": dla.match_catalogue(ind_lines, ind_cls)}
ind = {name: dla.binned_scores(*m, ind_bins) for name, m in ind_match.items()}
ind_seconds = time.perf_counter() - t0

# %%
# NBVAL_CHECK_OUTPUT
ind_table = dla.stack_scores(ind)
ind_table.round(3)
cb.mask_nan(ind_table)

# %% [markdown]
# The last row of each method (`high = inf`) is S/N > 5. Where do the false DLAs come from?
# The confusion matrix of the shipped network on these sightlines at S/N > 5 (rows: true DLA,
# sub-DLA, none; columns: reported DLA, sub-DLA, none):

# %%
# NBVAL_CHECK_OUTPUT
ind_conf = dla.confusion_matrix(*ind_match["CNN (shipped)"], snr_min=SNR_MIN)
print(ind_conf)
ind_false = ind_conf[1, 0] + ind_conf[2, 0]
print(f"{ind_false} false DLAs: {ind_conf[1, 0]} true sub-DLAs called DLAs, "
      f"{ind_conf[2, 0]} with no absorber there")
ind_found = ind_match["CNN (shipped)"][1]
ind_found = ind_found[(ind_found["snr"] > SNR_MIN) & (ind_found["kind"] == "DLA")]
near = ind_found[ind_found["kind_true"] == "subDLA"]["log_nhi_true"]
spurious_z = ind_found[ind_found["kind_true"] == "none"]["z_abs"]
cb.glue("ind_false", int(ind_false))
cb.glue("ind_dlogn", ind["CNN (shipped)"][-1]["sigma_dlogn"])
cb.glue("ind_false_sub", int(ind_conf[1, 0]))
cb.glue("ind_sub_min", float(np.min(near)) if len(near) else float("nan"))
cb.glue("ind_false_none", int(ind_conf[2, 0]))
z_med = float(np.median(spurious_z)) if len(spurious_z) else 3.0
cb.glue("ind_none_z", z_med)
_ = cb.glue("tau_ratio", float(dla.becker_tau_eff(z_med) / dla.tau_eff(z_med)))

# %% [markdown]
# Of the {glue:text}`ind_false` false DLAs at S/N > 5, {glue:text}`ind_false_sub` are true
# sub-DLAs, all with log N above {glue:text}`ind_sub_min:.2f`: a column density at the
# threshold measured with a scatter of {glue:text}`ind_dlogn:.2f` dex lands on the wrong side of 20.3 about as often
# as not. The other {glue:text}`ind_false_none` have no absorber there (median redshift
# {glue:text}`ind_none_z:.2f`): troughs of the log-normal forest, whose mean optical depth
# there (Becker et al.) is {glue:text}`tau_ratio:.2f` times that of the training simulator
# (Kim et al.).

# %% [markdown]
# ## The Gaussian-process finder side by side
#
# The DR12 and DR16 DLA catalogues of SDSS were made not by a trough search but by the
# Gaussian-process finder of Garnett et al. {cite:p}`garnett2017gp` and Ho, Bird & Garnett
# {cite:p}`ho2021gp`: a GP prior over quasar continua learned from real spectra, a forest
# model, and Bayesian model selection between "no absorber" and "one absorber" over a grid of
# redshifts and column densities. `dla.GPFinder` runs the `gp-dla-finder` package with its
# eBOSS model and BOSS line-spread function and its supported one-absorber path; a spectrum
# with $p(\mathrm{absorber}) \ge 0.5$ is a detection, with the best grid point as $z$ and
# $\log N$. The sightlines of the comparison come from the independent simulator, which
# reaches the finder's normalisation band (rest 1425-1475 Angstrom) and puts at most one DLA
# on a sightline. At ~15 s per sightline on one core the full comparison lives in
# `benchmarks/dla_gp_comparison.py`; here the three methods run on a few sightlines.

# %%
if dla.gp_available() and cfg.n_gp > 0:
    gp = dla.GPFinder()
    few = ind_lines[: cfg.n_gp]
    same_run = dla.time_finders({
        "CNN": lambda s: dla.find_dlas(s.wave, s.flux, s.ivar, s.z_qso),
        "GP finder": lambda s: gp(s.wave, s.flux, s.ivar, s.z_qso),
        "trough + Voigt": lambda s: dla.find_dlas_classical(s.wave, s.flux, s.ivar,
                                                           s.z_qso),
    }, few)
    print(gp.description)
    print(same_run)
else:
    same_run = None
    print("skipped: the same-run GP comparison ("
          + ("gp-dla-finder is not installed" if not dla.gp_available()
             else f"profile {cfg.name} runs it on no sightline") + ")")

# %% [markdown]
# The committed benchmark: all three methods on the same held-out sightlines of the
# independent simulator in one run of `benchmarks/dla_gp_comparison.py` (completeness and
# purity as fractions, seconds per sightline on one CPU thread).

# %%
# NBVAL_IGNORE_OUTPUT
try:
    gp_table, gp_meta = dla.load_gp_comparison()
except FileNotFoundError as err:
    gp_table, gp_meta = None, None
    print(f"skipped: the committed GP comparison ({err})")
else:
    print(f"{gp_meta['n_sightlines']} sightlines, {gp_meta['machine']}, "
          f"written {gp_meta['written_utc']}; GP finder: {gp_meta['gp_configuration']}")
    print(dla.describe_gp_comparison(gp_table, snr_min=SNR_MIN))
cb.mask_nan(gp_table, decimals=4)

# %% [markdown]
# The same benchmark ran the three methods on the real spectra of the previous section:

# %%
# NBVAL_IGNORE_OUTPUT
gp_real = None if gp_meta is None else dla.gp_real_spectra(gp_meta)
cb.mask_nan(gp_real, decimals=3)

# %%
if gp_table is not None:
    cb.glue("gp_verdict", dla.describe_gp_comparison(gp_table, snr_min=SNR_MIN))
    pick = {(r["key"], r["method"]): r for r in gp_real}
    cb.glue("gp_ph957", pick[("PH957", "GP finder")]["log_nhi"])
    um184 = gp_real[(gp_real["key"] == "UM184") & (gp_real["method"] == "CNN")]["z_abs"]
    z_gp = pick[("UM184", "GP finder")]["z_abs"]
    cb.glue("um184_z", z_gp)
    cb.glue("um184_z2", float(um184[np.argmax(np.abs(um184 - z_gp))]))
    cb.glue("gp_n", gp_meta["n_sightlines"])
else:
    cb.glue("gp_verdict", "The committed comparison is not in this installation.")
    cb.glue("gp_ph957", float("nan"))
    cb.glue("um184_z", float("nan"))
    cb.glue("um184_z2", float("nan"))
    _ = cb.glue("gp_n", 0)

# %% [markdown]
# {glue:text}`gp_verdict` The S/N bins are those of the {glue:text}`gp_n` sightlines of the
# benchmark run, one seed of the independent simulator.
#
# The two methods fail differently. The GP finder builds its continuum prior from thousands
# of real BOSS quasars and asks whether one absorber explains the spectrum better than none;
# it rarely invents an absorber, but it misses some DLAs and, restricted here to one absorber
# per spectrum (the path its documentation supports), it cannot report a second one. The
# CNN finds nearly every DLA and measures column densities at least as well, but it calls
# more troughs DLAs than there are: sub-DLAs at the threshold and forest troughs, as the
# confusion matrix above showed. On the real spectra the GP finder puts the published PH957
# absorber at log N = {glue:text}`gp_ph957:.2f`, a sub-DLA, where the CNN and the trough fit
# agree with the published value; we have not traced why (a spectrum of far higher S/N than
# the BOSS spectra its model was learned from is one candidate). Towards UM184 all three
# methods report a DLA near z = {glue:text}`um184_z:.2f`, which suggests a real absorber
# rather than a false detection; the CNN's second DLA there (z = {glue:text}`um184_z2:.2f`),
# also found by the trough fit, the GP finder cannot report under its one-absorber setting. A
# survey that needs a pure catalogue would take the GP finder, or the CNN with a higher
# threshold (exercise 1) and the GP finder to vet its candidates: at its speed it can afford
# to look only where the CNN points.

# %% [markdown]
# ## Results
#
# The headline numbers on held-out sightlines with S/N > 5, next to the classical baseline
# on the same spectra, Parks et al. {cite:p}`parks2018dla` (held-out injected DR5 sightlines,
# 11,403 DLAs) and Wang et al. {cite:p}`wang2022dla` (DESI mocks). The paper numbers come from
# different spectra and are a reference, not a like-for-like comparison. The table is written
# to `RESULTS_DIR/03_dla.json` for the {doc}`../book/scoreboard`.

# %%
results = cb.Results("03_dla", "Damped Lyman-alpha systems with a multitask CNN",
                     profile=cfg.name, method="multitask CNN",
                     baseline_name="trough + Voigt fit")
P, W = "Parks et al. 2018", "Wang et al. 2022"
results.add("DLA completeness (as DLA), S/N > 5", 100 * s_cnn.completeness, unit="%",
            baseline=100 * s_cls.completeness, paper=97.4, source=P, goal=">= 95",
            note=f"Wang et al.: > 99% at S/N > 5; {s_cnn.n_dla} DLAs", headline=True)
results.add("DLA completeness (any absorber), S/N > 5", 100 * s_cnn.completeness_any,
            unit="%", baseline=100 * s_cls.completeness_any, paper=99.0, source=P)
results.add("DLA purity, S/N > 5", 100 * s_cnn.purity, unit="%",
            baseline=100 * s_cls.purity, paper=98.6, source=P, goal=">= 95",
            note="paper: 1.4% spurious", headline=True)
results.add("DLA purity (sub-DLAs count as correct), S/N > 5", 100 * s_cnn.purity_any,
            unit="%", baseline=100 * s_cls.purity_any)
results.add("sigma(dz), S/N > 5", s_cnn.sigma_dz, baseline=s_cls.sigma_dz, paper=0.0022,
            source=P, goal="<= 0.003", note="Wang et al.: 0.002")
results.add("sigma(dlogN), S/N > 5", s_cnn.sigma_dlogn, unit="dex",
            baseline=s_cls.sigma_dlogn, paper=0.148, source=P, goal="<= 0.15",
            note="Wang et al.: 0.17 (S/N > 3)")
results.add("median dlogN, S/N > 5", s_cnn.median_dlogn, unit="dex",
            baseline=s_cls.median_dlogn, paper=0.034, source=P)
results.add("training time", train_seconds, unit="s", timing=True)
results.add("search time per sightline", cnn_seconds, unit="s", timing=True,
            baseline=classical_seconds, note=f"stride {cfg.stride}")
results.add("simulation time", sim_seconds, unit="s", timing=True)
dla.add_beyond_simulator_results(
    results, ind, ours="CNN (shipped)", baseline="trough + Voigt", real=real,
    gp_table=gp_table, gp_real=gp_real, snr_min=SNR_MIN,
    gp_sightlines=0 if gp_meta is None else gp_meta["n_sightlines"])
saved = results.save(RESULTS_DIR)

# %% [markdown]
# The trained weights go to the working directory with a JSON of the run's knobs, learning
# curves and metrics; the copy shipped in `cosmicbook/dla/weights/` comes from the book
# profile and is what `dla.find_dlas(..., model=None)` loads.

# %%
weights = dla.save_model(
    model, f"dla_cnn_{cfg.name}.pt", profile=cfg.name, knobs=dict(cfg),
    history=history.state_dict()["records"],
    metrics={m.name: m.value for m in results.rows(timings=None)})
print(f"weights written to {weights.name}")

# %%
# NBVAL_CHECK_OUTPUT
results.view()

# %%
# NBVAL_IGNORE_OUTPUT
results.view(timings=True)

# %% [markdown]
# ## Using it on a real spectrum
#
# `dla.read_spectrum` reads an SDSS `spec-PLATE-MJD-FIBER.fits` file (the `COADD` table's
# `flux`, `loglam` and `ivar`, and the redshift from `SPECOBJ`); `dla.find_dlas` with
# `model=None` uses the weights the package ships from this chapter's book-profile run:
#
# ```python
# spec = dla.read_spectrum("spec-4216-55477-0312.fits")
# dla.find_dlas(spec.wave, spec.flux, spec.ivar, spec.z_qso)
# ```
#
# Here we round-trip the example sightline through such a file.

# %%
path = dla.write_spectrum("example_spectrum.fits", example.wave, example.flux,
                          example.ivar, z_qso=example.z_qso, overwrite=True)
spec = dla.read_spectrum(path)
dla.find_dlas(spec.wave, spec.flux, spec.ivar, spec.z_qso, model=model)

# %%
glue = cb.glue
glue("train_minutes", train_seconds / 60)
glue("n_train", cfg.n_train)
glue("cnn_comp", 100 * s_cnn.completeness)
glue("cnn_pur", 100 * s_cnn.purity)
glue("cnn_dz", s_cnn.sigma_dz)
glue("cnn_dlogn", s_cnn.sigma_dlogn)
glue("cls_comp", 100 * s_cls.completeness)
glue("cls_pur", 100 * s_cls.purity)
glue("dlogn_ratio", s_cls.sigma_dlogn / s_cnn.sigma_dlogn)
wrong = conf[1, 0] + conf[2, 0]  # DLAs reported that are sub-DLAs or nothing
glue("impure_subdla", 100 * conf[1, 0] / max(wrong, 1))
n_sub = sum(int(np.sum(s.absorbers["kind"] == "subDLA")) for s in test_lines)
glue("subdla_per_dla", n_sub / max(n_dla, 1))
low = table[table["high"] <= SNR_MIN]
glue("low_comp", f"{100 * np.nanmin(low['completeness']):.0f}-"
     f"{100 * np.nanmax(low['completeness']):.0f}")
glue("low_pur", f"{100 * np.nanmin(low['purity']):.0f}-"
     f"{100 * np.nanmax(low['purity']):.0f}")
glue("ind_comp", 100 * ind["CNN (shipped)"][-1]["completeness"])
_ = glue("ind_pur", 100 * ind["CNN (shipped)"][-1]["purity"])

# %% [markdown]
# **What we learned.** In this run ({glue:text}`n_train` training sightlines,
# {glue:text}`train_minutes:.1f` minutes of training) the multitask CNN finds
# {glue:text}`cnn_comp:.1f` % of the DLAs of held-out sightlines with S/N > 5 *as DLAs*;
# {glue:text}`cnn_pur:.1f` % of what it calls a DLA is one; it measures redshifts to
# sigma(dz) = {glue:text}`cnn_dz:.4f` and column densities to {glue:text}`cnn_dlogn:.3f` dex.
# The classical trough-and-Voigt-fit search on the same spectra finds
# {glue:text}`cls_comp:.0f` % of the DLAs with a purity of {glue:text}`cls_pur:.0f` % --
# blends of forest lines at high redshift mimic saturated troughs once the continuum has to
# be guessed from the forest -- and its column densities scatter
# {glue:text}`dlogn_ratio:.1f` times more.
#
# Three caveats keep these numbers honest. First, the errors sit at the DLA threshold:
# {glue:text}`impure_subdla:.0f` % of the false DLAs are sub-DLAs reported as DLAs. Trained on
# positives only, as in the paper, the column-density head never answers below 20.3, so the
# classifier alone separates the two classes; the test set has {glue:text}`subdla_per_dla:.1f`
# sub-DLAs per DLA, while the real sky has several times more, so real purity would be
# lower. Second, in the S/N bins below 5 completeness is {glue:text}`low_comp` % and purity
# {glue:text}`low_pur` %. Third, the headline numbers come from sightlines of the simulator
# the network was trained on. On an independently written simulator it keeps its
# completeness ({glue:text}`ind_comp:.0f` % at S/N > 5) but its purity drops to
# {glue:text}`ind_pur:.0f` %, short of the 95 % goal, and the Gaussian-process finder is the
# purer of the two; on the real spectra it recovers the published DLA of PH957. Neither
# simulator has broad absorption lines or metal lines, which is where the referee of Parks
# et al. asked for more work. Re-drawing the noise of every window in every epoch is what
# keeps a few thousand sightlines from being memorised: with fixed noise the validation loss
# rises from the first epoch. All of this is one training seed.

# %% [markdown]
# ## Exercises
#
# Each solution is folded away below its exercise; the `ci` profile runs them all.
#
# 1. **Move the detection threshold.** `find_dlas` keeps windows with p(DLA) > 0.5. Predict
#    how completeness and purity at S/N > 5 move at 0.3 and 0.8; check on the first test
#    sightlines.

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
subset = test_lines[: min(len(test_lines), 150)]
for threshold in (0.3, 0.5, 0.8):
    found_t = [dla.find_dlas(s.wave, s.flux, s.ivar, s.z_qso, model=model,
                             stride=cfg.stride, threshold=threshold) for s in subset]
    sc = dla.score(*dla.match_catalogue(subset, found_t), snr_min=SNR_MIN)
    print(f"threshold {threshold}: completeness {100 * sc.completeness:.1f} %, "
          f"purity {100 * sc.purity:.1f} %")

# %% [markdown]
# 2. **Break an assumption: the continuum normalisation.** The network sees flux divided by
#    the quasar's median at rest 1270-1290 A. Predict what happens to the column densities if
#    a reader's spectrum has a 30 % lower continuum blueward of Lyman alpha (a flux
#    calibration error), then check on the example sightline.

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
rest = example.wave / (1 + example.z_qso)
tilted = np.where(rest < 1216.0, 0.7, 1.0) * example.flux
for label, flux in (("as simulated", example.flux), ("blue side x 0.7", tilted)):
    out = dla.find_dlas(example.wave, flux, example.ivar, example.z_qso, model=model)
    print(label, [f"z={r['z_abs']:.3f}, logN={r['log_nhi']:.2f}" for r in out])

# %% [markdown]
# 3. **Extend: a cheaper search.** The search evaluates a window at every `stride`-th pixel.
#    Time the search at strides 1, 4 and 16 on a few sightlines and see how many detections
#    survive.

# %% tags=["hide-cell"]
# NBVAL_IGNORE_OUTPUT
for stride in (1, 4, 16):
    t0 = time.perf_counter()
    n = sum(len(dla.find_dlas(s.wave, s.flux, s.ivar, s.z_qso, model=model,
                              stride=stride)) for s in test_lines[:20])
    print(f"stride {stride:2d}: {n} detections in 20 sightlines, "
          f"{(time.perf_counter() - t0) / 20:.3f} s per sightline")

# %%
_ = cb.glue_run(cfg.name, started)
