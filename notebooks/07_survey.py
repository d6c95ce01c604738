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
# # From notebook to survey
#
# Every chapter so far ran its model on one frame or one spectrum at a time. Surveys do not
# come that way. The seed deck on survey data opens with the volumes: SDSS took 200 GB a
# night, LSST will take 15 TB a night — a 3.2-gigapixel, 6 GB image every 20 seconds — and
# SKA will produce an exabyte a day. A single DESI night is about 30 exposures of 30 CCDs of
# 4k x 4k pixels; on one CPU thread the cosmic-ray masks of chapter 2 would take hours, and
# DESI's quasar catalogues hold hundreds of thousands of spectra for chapter 3's DLA finder.
#
# The tools to spread such work over many cores and many machines exist, and astronomers at
# NERSC already use them: Dask {cite:p}`rocklin2015dask`, with `dask.distributed` for the
# scheduling and dask-jobqueue to start workers as Slurm jobs. This chapter uses them rather
# than a process pool of our own, and adds what a pipeline needs around them: inputs from
# globs, directories and list files, atomic outputs, re-runs that skip finished work, bad files
# reported without stopping the night, and frames larger than memory masked chunk by chunk
# with the same result as the whole frame.

# %% [markdown]
# ````{admonition} In this chapter
# :class: tip
# **You will learn** how to run a chapter's model over a night of files on a local Dask
# cluster and then on any cluster by changing one argument; how to make a batch job safe to
# interrupt and re-run; why chunked inference of a convolutional network needs an overlap as
# wide as its receptive field and chunks on its pooling grid, and how to check that it equals
# whole-frame inference; how to measure throughput against the number of workers honestly.
#
# **Prerequisites:** {doc}`02_deepcr_masks` (the mask network) and {doc}`03_dla` (the DLA
# finder) for what the models do; no Dask knowledge is assumed. Needs the package's optional
# extra `survey` (`pip install "cosmicbook[survey]"`).
#
# **Time:** this page was built with the {glue:text}`run_profile` profile in
# {glue:text}`run_minutes:.1f` minutes on {glue:text}`run_machine`. The `full` profile (two
# DESI exposures of 4k x 4k frames) wants a node with many cores. The last measured times:
#
# ```{glue:md} profile_times
# :format: myst
# ```
# ````

# %% [markdown]
# ## Setup
#
# On Colab, the first cell installs `cosmicbook` with its `survey` extra (Dask); elsewhere it
# does nothing. The `parameters` cell sets the run profile: `ci` (seconds), `book` (the
# default, a few minutes on one CPU core) or `full`. Any knob left at `None` takes the
# profile's value.

# %%
import sys

if "google.colab" in sys.modules:  # install the book's package when running on Colab
    import subprocess

    repo = "git+https://github.com/cosmicbook/cosmicbook"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    f"cosmicbook[survey] @ {repo}"], check=True)

# %% tags=["parameters"]
PROFILE = "book"      # "ci", "book" or "full"
SEED = None           # seeds the frames, the spectra and the focal plane
N_FRAMES = None       # frames of the simulated night
FRAME_SIZE = None     # pixels per side of each frame (DESI: 4096)
N_SPECTRA = None      # quasar spectra of the simulated catalogue
WORKERS = None        # worker counts of the throughput measurement, e.g. [1, 2]
CHECK_SIZE = None     # side of the frame where chunked and whole-frame are compared
CHUNK = None          # chunk side of that check (even: the pooling grid)
PLANE_CCD = None      # CCD side of the lazily simulated focal plane (LSST: 4096)
RESULTS_DIR = "results"

# %%
import os
import shutil
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import cosmicbook as cb
from cosmicbook import deepcr, dla
from cosmicbook.core import batch
from cosmicbook.core.survey import PROFILES

batch.require("distributed")  # without Dask: an error naming the extra to install
import dask
import dask.array as da

cfg = cb.resolve_profile(PROFILES, PROFILE, seed=SEED, n_frames=N_FRAMES,
                         frame_size=FRAME_SIZE, n_spectra=N_SPECTRA, workers=WORKERS,
                         check_size=CHECK_SIZE, chunk=CHUNK, plane_ccd=PLANE_CCD)
cb.set_style()
started = time.perf_counter()
cb.glue("profile_times", cb.profile_times("07_survey", "a node with many cores"))
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
    else os.cpu_count()
cb.glue("cores", cores)
work = Path(f"survey_{cfg.name}")
shutil.rmtree(work, ignore_errors=True)  # a fresh night at every run
cfg

# %% [markdown]
# ## A night of frames on disk
#
# A pipeline starts from files. We simulate a night of preprocessed spectrograph frames with
# the chapter-2 simulator (`deepcr.simulate_ccd`: a DESI-like camera, noise and cosmic rays
# from the chapter-1 library) and write each to a FITS file, as DESI's `preproc` step would.
# One frame of the night went wrong: a block of its pixels is NaN, as after a readout glitch.
# The masks must be made for every other frame, and that one must be reported, not skipped in
# silence.

# %%
night = work / "night"
night.mkdir(parents=True)
for i in range(cfg.n_frames):
    frame = deepcr.simulate_ccd(cfg.frame_size, seed=(cfg.seed, i))
    cb.write_image(night / f"frame-{i:03d}.fits", frame, {"EXPNUM": i})
broken = deepcr.simulate_ccd(cfg.frame_size, seed=(cfg.seed, 999))
broken[10:20, 10:20] = np.nan  # a readout gone wrong
cb.write_image(night / "frame-zz-bad.fits", broken, {"EXPNUM": 999})
inputs = batch.expand_inputs(night)  # a directory, a glob or "@list.txt"
good = [p for p in inputs if "bad" not in p.name]
print(f"{len(inputs)} frames of {cfg.frame_size} x {cfg.frame_size} pixels in {night}/")

# %% [markdown]
# ## The same function on a local cluster
#
# `deepcr.mask_files` maps the one-frame function of the `cosmicbook mask` command over the
# inputs on a `dask.distributed` client. `batch.connect(workers=N)` starts a `LocalCluster` of
# N worker processes on this machine; each worker loads the network once and keeps it for all
# the frames it is given. Each mask is written to a hidden temporary file and renamed into
# place only when it is complete, so an interrupted night leaves no half-written FITS file,
# and a second run skips every mask that exists. From the shell the same is
# `cosmicbook mask night/ --out-dir masks --workers 2`.

# %%
masks = work / "masks"
client = batch.connect(workers=min(cfg.workers))  # kept for the throughput section
first = deepcr.mask_files(night, masks, client=client)
again = deepcr.mask_files(night, masks, client=client)

# %%
# NBVAL_CHECK_OUTPUT
for row in first.summary:
    name, error = Path(row["input"]).name, row["error"]
    print(f"{name:18s} {row['status']:7s} {row['n_masked']:6d} pixels masked  "
          f"{error[:52] + '...' if len(error) > 52 else error}")
counts = {status: again.count(status) for status in batch.STATUSES}
print(f"second run: {counts}")
print("files in the output folder:", sorted(p.name for p in masks.iterdir())[:3], "...")

# %%
n_ok = cb.glue("n_ok", first.count("ok"))
n_failed = cb.glue("n_failed", first.count("failed"))
n_skipped = cb.glue("n_skipped", again.count("skipped"))
cb.glue("bad_error", first.failed["error"][0].split(";")[0])
first.summary["status", "seconds", "error"][:3]

# %% [markdown]
# The summary is an astropy table with one row per input: its status (`ok`, `skipped` or
# `failed`), the seconds it took in the worker and the error. {glue:text}`n_ok` frames were
# masked and {glue:text}`n_failed` reported — "{glue:text}`bad_error`" — while the rest of the
# night went on; the second run skipped {glue:text}`n_skipped` finished masks and tried the
# broken frame again. The output folder holds only complete masks.

# %% [markdown]
# ## Throughput against the number of workers
#
# How much faster do more workers make the night? We scale the local cluster up from one
# worker process to the next count (one thread each, one torch thread each), mask the good
# frames again at each size and time the run from the first task to the last result;
# starting the workers and loading the networks in each of them are done before the clock
# starts. The same function searches the catalogue of spectra of the next section, so both
# tools are measured on the same clusters.

# %%
catalogue = work / "spectra"
catalogue.mkdir()
lines = dla.simulate_sightlines(cfg.n_spectra, seed=cfg.seed, progress_bar=False)
for i, line in enumerate(lines):
    dla.write_spectrum(catalogue / f"spec-{i:04d}.fits", line.wave, line.flux,
                       line.ivar, line.z_qso)
line = lines[0]  # a spectrum whose file lost its redshift
dla.write_spectrum(catalogue / "spec-zz-noz.fits", line.wave, line.flux, line.ivar,
                   None)
spectra = batch.expand_inputs(catalogue)
print(f"{len(spectra)} spectra in {catalogue}/")

# %%
# NBVAL_IGNORE_OUTPUT
def throughput(pool, tag):
    """Frames and spectra per second on the cluster of ``pool`` (a Client)."""
    pool.run(deepcr.cached_model)  # every worker loads the networks before the clock
    pool.run(dla.cached_model)
    t0 = time.perf_counter()
    deepcr.mask_files(good, work / f"masks-{tag}", client=pool)
    t1 = time.perf_counter()
    found = dla.find_dlas_catalogue(catalogue, work / "dlas.ecsv", client=pool,
                                    overwrite=True)
    return len(good) / (t1 - t0), len(spectra) / (time.perf_counter() - t1), found


most = max(cfg.workers)
rates = {"frames": {}, "spectra": {}}
for n_workers in sorted(cfg.workers):
    client.cluster.scale(n_workers)  # the cluster of the night, grown
    client.wait_for_workers(n_workers)
    frame_rate, spectrum_rate, found = throughput(client, n_workers)
    rates["frames"][n_workers], rates["spectra"][n_workers] = frame_rate, spectrum_rate
    print(f"{n_workers} worker(s): {frame_rate:.2f} frames/s, "
          f"{spectrum_rate:.2f} spectra/s")
client.close()
speedup = cb.glue("speedup", rates["frames"][most] / rates["frames"][1])
cb.glue("speedup_spectra", rates["spectra"][most] / rates["spectra"][1])
cb.glue("most_workers", most)
cb.glue("frame_rate_1", rates["frames"][1])
cb.glue("mpix_rate_1", rates["frames"][1] * cfg.frame_size**2 / 1e6)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (what, rate) in zip(axes, rates.items()):
    n = np.array(sorted(rate))
    ax.plot(n, [rate[k] for k in n], "o-", label="measured")
    ax.plot(n, n * rate[1], "k--", lw=1, label="ideal (linear)")
    ax.set_xlabel("worker processes")
    ax.set_ylabel(f"{what} per second")
    ax.set_xticks(n)
    ax.set_title(f"{what}: {rate[n[-1]] / rate[1]:.2f}x with {n[-1]} workers")
    ax.legend()
plt.show()

# %% [markdown]
# With {glue:text}`most_workers` workers the masks came {glue:text}`speedup:.2f` times as
# fast as with one ({glue:text}`frame_rate_1:.2f` frames, {glue:text}`mpix_rate_1:.2f`
# megapixels per second for one worker), the spectra {glue:text}`speedup_spectra:.2f` times.
# Read these numbers for what they are: this machine gives the book {glue:text}`cores` CPU
# cores, shared with whatever else runs on it, and the client, the scheduler and the
# workers all compete for them. Two cores are not a cluster. What the measurement does show
# is that the work splits into independent tasks with little overhead; the scaling that
# matters is measured where the workers have cores of their own, on a node or a cluster.

# %% [markdown]
# ## A catalogue of spectra
#
# The DLA finder of chapter 3 runs the same way: `dla.find_dlas_catalogue` reads every
# spectrum file with `dla.read_spectrum`, searches it with `dla.find_dlas` in a worker that
# loaded the network once, and gathers the absorbers of all spectra into one table, written
# atomically to `dlas.ecsv`. The catalogue has one file whose redshift is missing.

# %%
# NBVAL_CHECK_OUTPUT
print(found.describe().split(" (")[0])
for row in found.summary[found.summary["status"] == "failed"]:
    print(f"failed: {Path(row['input']).name}: {row['error']}")
per_line = [found.dlas[found.dlas["file"] == f"spec-{i:04d}.fits"]
            for i in range(len(lines))]
truth, _ = dla.match_catalogue(lines, per_line)
true_dlas = truth[truth["kind"] == "DLA"]
recovered = cb.glue("dla_recovered", 100 * np.mean(true_dlas["matched"]))
cb.glue("n_true_dlas", len(true_dlas))
print(f"true DLAs recovered: {int(np.sum(true_dlas['matched']))} of {len(true_dlas)}")
found.dlas["file", "z_qso", "z_abs", "log_nhi", "confidence", "kind"][:5]

# %% [markdown]
# The catalogue run recovers {glue:text}`dla_recovered:.0f` % of the
# {glue:text}`n_true_dlas` simulated DLAs, the same search as chapter 3 spectrum by spectrum;
# only the bookkeeping is new.

# %% [markdown]
# ## One frame larger than memory: `map_overlap`
#
# Files are one axis of a survey; the size of a frame is the other. An LSST focal plane is
# 189 CCDs of 4k x 4k pixels, and a mosaic of FITS files can be larger than a worker's
# memory. `deepcr.predict_mask_dask` masks a `dask.array` chunk by chunk with
# `dask.array.map_overlap`: each chunk reaches the network with a margin of its neighbours'
# pixels, which is cut off again afterwards. Three things make the result equal to the
# whole-frame `deepcr.predict_mask`:
#
# 1. **The margin covers the receptive field.** An output pixel of the UNet depends only on
#    input pixels within its receptive radius: two 3 x 3 convolutions per level reach
#    `2**level` pixels each on the way down and again on the way up, and the pooling and
#    up-sampling between levels add up to `2**level`.
# 2. **The chunks keep the pooling grid.** The network max-pools 2 x 2; a cut-out that starts
#    at an odd pixel pairs different pixels in every pooling window than the whole frame
#    does, and the output changes everywhere. Chunk boundaries and the margin are therefore
#    multiples of the grid, and the margin is the receptive radius rounded up to it:
#    `deepcr.overlap_depth(model)`.
# 3. **The normalisation is the whole frame's.** The model subtracts the frame's median and
#    divides by its robust sigma; every chunk is given the whole frame's values, computed once
#    in the same task graph.
#
# At the edges of the frame the chunks get no margin (`boundary="none"`), as the whole frame
# has none. The cluster is closed by now, so the chunks run on Dask's default scheduler, the
# threads of this process; with a client open they would run on its workers.

# %%
weights = deepcr.WEIGHTS_DIR / deepcr.DEFAULT_WEIGHTS  # the shipped 2-32 network
net = deepcr.load_model(weights)
depth = deepcr.overlap_depth(weights)
cb.glue("radius", net.receptive_radius)
cb.glue("grid", net.multiple)
cb.glue("depth", depth)
image = deepcr.simulate_ccd(cfg.check_size, seed=(cfg.seed, 1000))
whole = deepcr.predict_mask(image, net, tile=0)  # the whole frame in one pass
lazy = da.from_array(image, chunks=cfg.chunk)
chunked, short, naive = dask.compute(
    deepcr.predict_mask_dask(lazy, weights),
    deepcr.predict_mask_dask(lazy, weights, depth=depth - 2 * net.multiple),
    deepcr.predict_mask_dask(lazy, weights, depth=0))
diffs = {name: np.abs(p - whole) for name, p in
         (("chunked", chunked), ("short", short), ("naive", naive))}
flips = {name: int(np.sum((p > 0.5) != (whole > 0.5))) for name, p in
         (("chunked", chunked), ("short", short), ("naive", naive))}

# %%
# NBVAL_CHECK_OUTPUT
print(f"receptive radius {net.receptive_radius} px, pooling grid {net.multiple} px "
      f"-> overlap depth {depth} px")
print(f"{cfg.check_size} x {cfg.check_size} frame in {lazy.npartitions} chunks of "
      f"{cfg.chunk} x {cfg.chunk}")
labels = {"chunked": f"depth {depth}", "short": f"depth {depth - 2 * net.multiple}",
          "naive": "depth 0"}
for name, label in labels.items():
    ok = "equal to float rounding" if diffs[name].max() < 1e-5 else "DIFFERENT"
    print(f"{label:9s}: {ok:23s} (mask pixels flipped: {flips[name]})")
max_diff = cb.glue("max_diff", float(diffs["chunked"].max()))
cb.glue("short_depth", depth - 2 * net.multiple)
cb.glue("short_diff", float(diffs["short"].max()))
cb.glue("naive_diff", float(diffs["naive"].max()))

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
for ax, name, title in zip(axes, ("chunked", "short", "naive"),
                           (f"depth {depth}", f"depth {depth - 2 * net.multiple}",
                            "depth 0")):
    shown = ax.imshow(np.log10(diffs[name] + 1e-9), vmin=-9, vmax=0, cmap="magma",
                      origin="lower")
    for edge in range(cfg.chunk, cfg.check_size, cfg.chunk):
        ax.axhline(edge, color="w", lw=0.3)
        ax.axvline(edge, color="w", lw=0.3)
    ax.set_title(f"{title}: max {diffs[name].max():.1e}")
fig.colorbar(shown, ax=axes, label="log10 |p chunked - p whole frame|", shrink=0.8)
plt.show()

# %% [markdown]
# With the margin of {glue:text}`depth` pixels — the receptive radius of
# {glue:text}`radius` pixels on the {glue:text}`grid`-pixel pooling grid — the chunked
# probabilities differ from the whole frame's by at most {glue:text}`max_diff:.1e`, float
# rounding. With {glue:text}`short_depth` pixels the differences reach
# {glue:text}`short_diff:.1e` and line the chunk boundaries (white), exactly where the margin
# was too thin; without a margin, {glue:text}`naive_diff:.1e`. The receptive radius is an
# upper bound: for the pixels next to a chunk boundary on the pooling grid the reach is one
# grid step less, so a margin one step thinner than the default happens to match as well
# (an exercise below); the default keeps the bound.

# %% [markdown]
# ### A focal plane that is never in memory
#
# `deepcr.lazy_focal_plane` builds a focal plane as a Dask array of simulated CCDs, each one a
# `dask.delayed` call of the simulator, and nothing is simulated until a piece of it is
# computed. Its mask is another lazy array; computing one chunk simulates one CCD, computes
# that CCD's statistics and runs the network on one chunk with its margin.
# `deepcr.read_fits_mosaic` gives the same kind of array for a stack of FITS files, read
# with `astropy.io.fits` when needed.

# %%
n_ccds = deepcr.LSST_FOCAL_PLANE[0]
side = min(1024, cfg.plane_ccd // 2)
plane = deepcr.lazy_focal_plane(n_ccds, cfg.plane_ccd, seed=cfg.seed, chunks=side)
plane_mask = deepcr.predict_mask_dask(plane, weights, threshold=0.5)
cb.glue("plane_gpix", plane.size / 1e9)
cb.glue("plane_gb", plane.nbytes / 1e9)
cb.glue("plane_chunks", plane_mask.npartitions)
cb.glue("plane_ccd", cfg.plane_ccd)
cb.glue("plane_side", side)
t0 = time.perf_counter()
corner, corner_mask = dask.compute(plane[0, :side, :side], plane_mask[0, :side, :side])
plane_seconds = time.perf_counter() - t0
plane_mask

# %%
# NBVAL_IGNORE_OUTPUT
print(f"one {side} x {side} chunk of CCD 0 (its CCD simulated, masked): "
      f"{plane_seconds:.1f} s")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 5))
cb.imshow_zscale(corner, ax=axes[0])
axes[0].set_title(f"CCD 0, first {side} x {side} chunk")
cb.imshow_zscale(corner, ax=axes[1])
axes[1].contour(corner_mask, levels=[0.5], colors="r", linewidths=0.6)
axes[1].set_title(f"its cosmic-ray mask: {int(corner_mask.sum())} pixels")
plt.show()

# %% [markdown]
# The focal plane of {glue:text}`plane_ccd`-pixel CCDs holds {glue:text}`plane_gpix:.2f`
# gigapixels, {glue:text}`plane_gb:.1f` GB as float32, in {glue:text}`plane_chunks` chunks of
# at most {glue:text}`plane_side` pixels a side. Only one CCD was ever simulated here. (The
# `ci` profile uses smaller CCDs; the `book` and `full` profiles the 4k x 4k CCDs of LSST.)

# %% [markdown]
# ## The same code on a cluster
#
# Nothing above depends on where the workers run. To use a cluster that is already running —
# at NERSC, workers started by `dask-mpi` or by `dask worker` inside a Slurm allocation — pass
# its address or the scheduler file it wrote, and the same call runs there:
#
# ```python
# client = batch.connect("tcp://nid001234:8786")        # or "scheduler.json"
# deepcr.mask_files("/pscratch/sd/u/user/night/*.fits", "masks", client=client)
# dla.find_dlas_catalogue("@quasars.txt", "dlas.ecsv", scheduler="scheduler.json")
# ```
#
# or from the shell,
# `cosmicbook mask "night/*.fits" --out-dir masks --scheduler scheduler.json`. dask-jobqueue
# starts the workers as Slurm jobs itself; the package ships an example configuration for
# Perlmutter's CPU nodes, `cosmicbook.core.batch.NERSC_CONFIG`:
#
# ```python
# import dask.config, yaml
# from dask_jobqueue import SLURMCluster
#
# with open(batch.NERSC_CONFIG) as f:
#     dask.config.update(dask.config.config, yaml.safe_load(f))
# cluster = SLURMCluster(account="m1234")   # your NERSC project
# cluster.scale(jobs=4)                     # four nodes
# result = deepcr.mask_files(paths, "masks", client=Client(cluster))
# ```

# %%
# NBVAL_CHECK_OUTPUT
config = batch.NERSC_CONFIG.read_text()
print(config[config.index("\njobqueue:") + 1:])

# %% [markdown]
# A scheduler that cannot be reached is reported before any work starts, after a short
# timeout — as are a glob that matches nothing and an output folder that cannot be written:

# %%
# NBVAL_CHECK_OUTPUT
for attempt in (dict(scheduler="tcp://127.0.0.1:1", timeout=1),
                dict(inputs=str(night / "*.fits.fz")),
                dict(out_dir=night / "frame-000.fits" / "masks")):
    try:
        deepcr.mask_files(attempt.pop("inputs", night),
                          attempt.pop("out_dir", work / "remote"), **attempt)
    except (OSError, ValueError) as err:
        print(f"{type(err).__name__}: {str(err).split(' (')[0]}")
print("outputs written:", len(list(work.glob("remote/*"))))

# %% [markdown]
# ## Results
#
# The headline numbers of this run. The baseline of the chunked inference is the naive one
# (chunks without a margin); the timings are those of this machine. The same table is written
# to `RESULTS_DIR/07_survey.json` for the {doc}`../book/scoreboard`.

# %%
results = cb.Results("07_survey", "From notebook to survey", profile=cfg.name,
                     method="Dask: map_overlap, LocalCluster",
                     baseline_name="chunks without margin")
results.add("max |p chunked - p whole frame|", max_diff, baseline=diffs["naive"].max(),
            goal="< 1e-5", headline=True, note=f"{cfg.check_size}^2 frame, 2-32")
results.add("mask pixels that differ from the whole frame", flips["chunked"],
            baseline=flips["naive"], goal="0")
results.add("overlap depth", depth, unit="px",
            note="receptive radius on the pooling grid")
results.add("frames masked", n_ok, goal=f"{len(good)}")
results.add("bad frames reported", n_failed, goal="1")
results.add("finished masks skipped by a re-run", n_skipped, goal=f"{len(good)}")
results.add("simulated DLAs recovered", recovered, unit="%",
            note=f"{len(true_dlas)} DLAs in {cfg.n_spectra} spectra")
for n_workers in cfg.workers:
    results.add(f"frames per s, {n_workers} worker(s)", rates["frames"][n_workers],
                unit="1/s", timing=True, note=f"{cfg.frame_size}^2, {cores} cores")
    results.add(f"spectra per s, {n_workers} worker(s)", rates["spectra"][n_workers],
                unit="1/s", timing=True)
saved = results.save(RESULTS_DIR)

# %%
# NBVAL_CHECK_OUTPUT
results.view()

# %%
# NBVAL_IGNORE_OUTPUT
results.view(timings=True)

# %% [markdown]
# **What we learned.** A chapter's one-file function becomes a survey tool by mapping it over
# files on a Dask client: the bookkeeping around it — inputs, atomic outputs, skipping what is
# done, reporting what failed — is what makes a night safe to run and to re-run. Frames too
# large for memory are masked chunk by chunk, and the result is the whole frame's once the
# chunks overlap by the network's receptive field, sit on its pooling grid and share the
# frame's normalisation; a margin that is too thin leaves seams exactly along the chunk
# boundaries. The same code runs on a laptop, a node or a NERSC allocation; what changes is
# one address. Throughput measured on a shared machine of {glue:text}`cores` cores only
# says how well the work splits; scaling is measured where workers have cores of their own.

# %% [markdown]
# ## Exercises
#
# Each solution is folded away below its exercise; the `ci` profile runs them all.
#
# 1. **Threads or processes?** A worker can run several tasks at once in threads, and torch
#    releases Python's global lock while it convolves. Predict whether one worker with two
#    threads, running inside this process, masks the night as fast as two worker processes
#    with one thread each; then time it.

# %% tags=["hide-cell"]
# NBVAL_IGNORE_OUTPUT
with batch.connect(workers=1, threads_per_worker=2, processes=False) as pool:
    pool.run(deepcr.cached_model)
    t0 = time.perf_counter()
    deepcr.mask_files(good, work / "masks-threads", client=pool)
    threaded = len(good) / (time.perf_counter() - t0)
print(f"1 worker x 2 threads: {threaded:.2f} frames/s; "
      f"{most} workers x 1 thread: {rates['frames'][most]:.2f} frames/s")

# %% [markdown]
# 2. **Break an assumption: every chunk its own statistics.** Run `deepcr.predict_mask` on
#    each chunk with its margin but let it normalise the chunk by the chunk's own median and
#    sigma. Predict where the result differs from the whole frame; then check.

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
own = da.map_overlap(lambda block: deepcr.predict_mask(block, net), lazy, depth=depth,
                     boundary="none", dtype=np.float32,
                     meta=np.empty((0, 0), np.float32)).compute()
own_diff = np.abs(own - whole)
edge = np.arange(cfg.check_size) % cfg.chunk
inner = np.minimum(edge, cfg.chunk - 1 - edge) >= depth  # rows, columns inside chunks
interior = np.logical_and.outer(inner, inner)
print(f"chunk statistics: max difference {own_diff.max():.1e}, "
      f"{own_diff[interior].max():.1e} inside the chunks (>= {depth} px from an edge)")
print("frame statistics: inside the chunks " +
      ("equal to float rounding" if diffs["chunked"][interior].max() < 1e-5 else "?"))
for d in (depth - net.multiple, depth - 2 * net.multiple):
    gap = np.abs(deepcr.predict_mask_dask(lazy, weights, depth=d).compute() - whole)
    print(f"margin {d} px: " + ("equal to float rounding" if gap.max() < 1e-5
                                else f"differs by up to {gap.max():.1e}"))

# %% [markdown]
# 3. **Extend: a list file.** Observers keep lists of the exposures to reduce. Write a list
#    file naming every other frame of the night, and mask only those into a new folder with
#    a cluster that runs inside this process (`processes=False`, no start-up cost).

# %% tags=["hide-cell"]
# NBVAL_CHECK_OUTPUT
listing = work / "tonight.txt"
listing.write_text("# every other frame\n" +
                   "\n".join(f"night/{p.name}" for p in inputs[::2]) + "\n")
with batch.connect(processes=False) as pool:
    chosen = deepcr.mask_files(f"@{listing}", work / "masks-list", client=pool,
                               progress=False)
for row in chosen.summary:
    print(f"{Path(row['input']).name:18s} {row['status']}")

# %%
_ = cb.glue_run(cfg.name, started)
