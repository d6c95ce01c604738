"""Benchmark: cosmic-ray masks of one 4k x 4k DESI-like frame, time and peak memory per method.

Not a test: run it by hand on the machine you want numbers for, e.g.::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/deepcr_timing.py --machine laptop

Methods (each measured in its own fresh Python process, so that its peak memory is its own):

``cosmicbook 2-32``
    :func:`cosmicbook.deepcr.predict_mask` with the shipped weights (halo tiling, 1024 px tiles).
``cosmicbook <variant>``
    The smallest shipped randomised variant that stays within a point of 2-32 on the release
    transfer grids (``--variant``, default 2-8; random weights for a variant not shipped, as
    the cost does not depend on the values).
``cosmicbook 2-32, bfloat16`` and ``cosmicbook <variant>, bfloat16``
    The same with ``precision="bfloat16"`` (convolutions in bfloat16 through
    ``torch.autocast``; fast on CPUs with AVX512-BF16 or AMX).
``cosmicbook 2-32, whole frame``
    One pass over the whole frame (``--whole``; needs ~10 GB on the CPU).
``SDSS method``
    :func:`cosmicbook.deepcr.sdss_cosmics` with the DESI defaults.
``LA Cosmic``
    ``astroscrappy.detect_cosmics`` with its defaults (``pip install astroscrappy``).
``deepCR package 2-32``
    ``deepCR(mask="decam").clean(image)`` from the deepCR package when it is installed
    (``pip install cosmicbook[peers]``), with its default 1024 px segments.
``Cosmic-CoNN NRES``
    ``detect_image(init_model("NRES"), image)`` from Cosmic-CoNN when installed (its three
    shipped models share one architecture and cost the same).
``desispec SDSS method``
    ``desispec.cosmics.reject_cosmic_rays_ala_sdss`` when desispec is installed (DESI's own
    implementation of the SDSS method, numba-compiled; the first call, which compiles, is
    excluded by ``--repeat`` >= 2).

Ratios (time of the other method / time of ours) are printed and stored under ``ratios``.

Time is the best of ``--repeat`` calls (wall clock, including a ~2 ms RSS sampling thread);
peak memory is what the call added to the process's resident set size, sampled every 2 ms by
:func:`cosmicbook.deepcr.measure_peak_memory` (a lower bound; on a GPU torch's allocator peak),
and ``process_max_rss_mb`` the child's all-time maximum RSS (libraries and frame included).
Results go to ``benchmarks/results/deepcr_timing_<machine>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("results")


def _rss_peak_bytes() -> int:
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def make_frame(size: int, seed: int, folder: Path) -> dict:
    """Simulate the benchmark frame once and store image, ivar and PSF gradients as .npy."""
    from cosmicbook.deepcr import default_library, make_training_frame, simulate_tile

    library = default_library(shape=(2048, 2048), n_darks=4, seed=seed, progress=False)
    tile = simulate_tile((size, size), n_exposures=5, exptime=900.0, seed=seed, progress=False)
    frame = make_training_frame(tile, library, exptime=900.0, seed=seed + 1)
    np.save(folder / "image.npy", frame.image)
    np.save(folder / "ivar.npy", frame.ivar)
    np.save(folder / "gradients.npy", np.asarray(tile.psf_gradients, dtype=np.float64))
    return {"size": size, "cosmics": len(frame.cosmics),
            "masked_fraction": float(frame.mask.mean())}


def _method(name: str, folder: Path, args: argparse.Namespace):
    """Return a zero-argument callable running ``name`` on the stored frame."""
    image = np.load(folder / "image.npy")
    if name.startswith("cosmicbook"):
        import torch

        from cosmicbook.deepcr import UNet, load_model, parse_variant, predict_mask

        torch.set_num_threads(args.threads)
        from cosmicbook.deepcr import WEIGHTS_DIR

        variant = name.split()[1].rstrip(",")
        shipped = WEIGHTS_DIR / f"deepcr_{variant}_randomised.pt"
        if variant == "2-32":
            model = load_model(device=args.device)
        elif shipped.exists():
            model = load_model(shipped, device=args.device)
        else:
            model = UNet(*parse_variant(variant)).eval()
        tile = 0 if "whole" in name else None
        precision = "bfloat16" if name.endswith("bfloat16") else "float32"
        return lambda: predict_mask(image, model, tile=tile, device=args.device,
                                    precision=precision)
    if name == "SDSS method":
        from cosmicbook.deepcr import sdss_cosmics

        ivar, grads = np.load(folder / "ivar.npy"), np.load(folder / "gradients.npy")
        return lambda: sdss_cosmics(image, ivar, grads)
    if name == "LA Cosmic":
        import astroscrappy

        return lambda: astroscrappy.detect_cosmics(image, gain=1.0, readnoise=4.0)
    if name == "deepCR package 2-32":
        import torch
        from deepCR import deepCR

        torch.set_num_threads(args.threads)
        model = deepCR(mask="decam", device="GPU" if args.device == "cuda" else "CPU")
        return lambda: model.clean(image, inpaint=False, segment=True)
    if name == "Cosmic-CoNN NRES":
        import torch

        from cosmicbook.deepcr import peer_probability

        torch.set_num_threads(args.threads)
        return lambda: peer_probability("Cosmic-CoNN NRES", image)
    if name == "desispec SDSS method":
        from cosmicbook.deepcr import desispec_sdss_mask

        ivar = np.load(folder / "ivar.npy")
        return lambda: desispec_sdss_mask(image, ivar, "r0")
    raise ValueError(f"unknown method {name!r}")


def measure_one(name: str, folder: Path, args: argparse.Namespace) -> dict:
    """Time ``name`` (best of ``args.repeat``) and its peak memory, in this process."""
    from cosmicbook.deepcr import measure_peak_memory

    func = _method(name, folder, args)
    times, peaks = [], []
    for _ in range(args.repeat):
        start = time.perf_counter()
        _, peak, how = measure_peak_memory(func, device=args.device)
        times.append(time.perf_counter() - start)
        peaks.append(peak)
    result = {"method": name, "seconds": min(times), "all_seconds": times,
              "peak_memory_mb": max(peaks) / 1e6, "memory_method": how,
              "process_max_rss_mb": _rss_peak_bytes() / 1e6}
    if args.device == "cuda" and name.startswith("cosmicbook"):
        import torch

        result["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated() / 1e6
    return result


def available_methods(args: argparse.Namespace) -> list[str]:
    import importlib.util

    names = ["cosmicbook 2-32", f"cosmicbook {args.variant}", "cosmicbook 2-32, bfloat16",
             f"cosmicbook {args.variant}, bfloat16"]
    if args.whole:
        names.append("cosmicbook 2-32, whole frame")
    if args.device == "cpu":
        names.append("SDSS method")
        if importlib.util.find_spec("astroscrappy"):
            names.append("LA Cosmic")
    if importlib.util.find_spec("deepCR"):
        names.append("deepCR package 2-32")
    if importlib.util.find_spec("cosmic_conn"):
        names.append("Cosmic-CoNN NRES")
    if args.device == "cpu" and importlib.util.find_spec("desispec"):
        names.append("desispec SDSS method")
    return names


def ratios(by_name: dict, variant: str) -> dict[str, float]:
    """Speed ratios (slower / faster) of the pairs the chapter quotes."""
    pairs = {"deepCR package 2-32 / cosmicbook 2-32": ("deepCR package 2-32", "cosmicbook 2-32"),
             "Cosmic-CoNN NRES / cosmicbook 2-32": ("Cosmic-CoNN NRES", "cosmicbook 2-32"),
             f"cosmicbook 2-32 / cosmicbook {variant}": ("cosmicbook 2-32",
                                                         f"cosmicbook {variant}"),
             "desispec SDSS method / SDSS method": ("desispec SDSS method", "SDSS method"),
             "LA Cosmic / cosmicbook 2-32": ("LA Cosmic", "cosmicbook 2-32"),
             "deepCR package 2-32 / cosmicbook 2-32, bfloat16": ("deepCR package 2-32",
                                                                "cosmicbook 2-32, bfloat16"),
             "Cosmic-CoNN NRES / cosmicbook 2-32, bfloat16": ("Cosmic-CoNN NRES",
                                                             "cosmicbook 2-32, bfloat16"),
             f"cosmicbook 2-32 / cosmicbook {variant}, bfloat16": (
                 "cosmicbook 2-32", f"cosmicbook {variant}, bfloat16")}
    return {label: by_name[a]["seconds"] / by_name[b]["seconds"]
            for label, (a, b) in pairs.items() if a in by_name and b in by_name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--machine", default=platform.node() or "unknown",
                        help="name of the machine, used in the results file name")
    parser.add_argument("--size", type=int, default=4096, help="frame side, pixels")
    parser.add_argument("--variant", default="2-8", help="the small UNet variant to time")
    parser.add_argument("--whole", action="store_true", help="also time a whole-frame pass")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--repeat", type=int, default=2, help="calls per method (best kept)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--methods", nargs="*", default=None, help="subset of the methods")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:  # child process: measure one method, print JSON
        print(json.dumps(measure_one(args.one, Path(args.folder), args)))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frame = make_frame(args.size, args.seed, folder)
        print(f"frame: {frame}", flush=True)
        rows = []
        for name in args.methods or available_methods(args):
            cmd = [sys.executable, __file__, "--one", name, "--folder", tmp,
                   "--device", args.device, "--threads", str(args.threads),
                   "--repeat", str(args.repeat), "--variant", args.variant]
            env = {**os.environ, "OMP_NUM_THREADS": str(args.threads),
                   "COSMICBOOK_PROGRESS": "0"}
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if proc.returncode:
                print(f"{name}: FAILED\n{proc.stderr[-2000:]}", flush=True)
                rows.append({"method": name, "error": proc.stderr[-500:]})
                continue
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{name:32s} {row['seconds']:8.2f} s  {row['peak_memory_mb']:8.0f} MB",
                  flush=True)

    by_name = {r["method"]: r for r in rows if "seconds" in r}
    speed = ratios(by_name, args.variant)
    for label, value in speed.items():
        print(f"{label:45s} {value:6.2f}x")
    import torch

    import cosmicbook

    out = {
        "machine": args.machine,
        "device": args.device,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
        "threads": args.threads,
        "torch": torch.__version__,
        "cosmicbook": cosmicbook.__version__,
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "frame": frame,
        "repeat": args.repeat,
        "memory_method": "RSS sampled every 2 ms during each call, minus RSS before it",
        "ratios": speed,
        "results": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if args.device == "cpu" else f"_{args.device}"
    path = RESULTS / f"deepcr_timing_{args.machine}{suffix}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
