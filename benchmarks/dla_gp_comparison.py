"""CNN, Gaussian-process finder and trough + Voigt baseline on the same sightlines, in one run.

The sightlines come from the independent simulator (:mod:`cosmicbook.dla.independent`): none
of the three methods was built on them, they reach rest 1500 Angstrom (the GP finder's eBOSS
model normalises at rest 1425-1475 Angstrom) and carry at most one DLA each (the GP finder's
supported path models one absorber per spectrum). The real spectra of
:data:`cosmicbook.dla.REAL_SPECTRA` are searched too. Writes
``benchmarks/results/dla_gp_comparison.json`` (machine, date, per-S/N-bin completeness,
purity, sigma(dz), sigma(dlogN) and seconds per sightline per method), rewritten every
``--every`` sightlines so that a long run leaves partial results.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 nice -n 10 .venv/bin/python \
        benchmarks/dla_gp_comparison.py --n 300
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np

SNR_BINS = [3.0, 5.0, 8.0, 12.0, 20.0, 1e9]
OUT = Path(__file__).with_name("results") / "dla_gp_comparison.json"


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in out.splitlines()
                      if line.startswith("Model name")), platform.processor())
    except OSError:
        model = platform.processor()
    return f"{model}, {os.cpu_count()} vCPU, 1 thread, {platform.system()}"


def _table_rows(table) -> list[dict]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v)
             for k, v in zip(table.colnames, [float(x) if np.ndim(x) == 0 and
                                              not isinstance(x, str) else x for x in row],
                             strict=True)} for row in table]


def main(argv=None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300, help="simulated sightlines")
    parser.add_argument("--seed", type=int, default=1703)
    parser.add_argument("--preset", default="desi_y3", help="GP finder preset")
    parser.add_argument("--every", type=int, default=10, help="write results every N")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-real", action="store_true", help="skip the real spectra")
    args = parser.parse_args(argv)

    import torch

    from cosmicbook import dla
    from cosmicbook.dla.independent import independent_sightlines

    torch.set_num_threads(1)
    model = dla.load_model()
    gp = dla.GPFinder(dla.GPFinderConfig(preset=args.preset))
    methods = {
        "CNN": lambda s: dla.find_dlas(s.wave, s.flux, s.ivar, s.z_qso, model=model),
        "GP finder": lambda s: gp(s.wave, s.flux, s.ivar, s.z_qso),
        "trough + Voigt": lambda s: dla.find_dlas_classical(s.wave, s.flux, s.ivar, s.z_qso),
    }
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    real = {}
    if not args.no_real:
        for key, target in dla.REAL_SPECTRA.items():
            if target.z_qso is None:
                continue
            spec, _ = dla.load_real_spectrum(key)
            real[key] = {}
            for name, run in methods.items():
                t0 = time.perf_counter()
                found = run(_Obs(spec))
                real[key][name] = {"seconds": time.perf_counter() - t0,
                                   "absorbers": _table_rows(found[["z_abs", "log_nhi",
                                                                   "kind"]])}
    lines, found = [], {m: [] for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    for i, sl in enumerate(independent_sightlines(args.n, seed=args.seed)):
        lines.append(sl)
        for name, run in methods.items():
            t0 = time.perf_counter()
            found[name].append(run(sl))
            seconds[name] += time.perf_counter() - t0
        if (i + 1) % args.every == 0 or i + 1 == args.n:
            _write(args, started, lines, found, seconds, real, gp.description, i + 1)
    return args.out


class _Obs:
    """A real spectrum with the attributes the methods read."""

    def __init__(self, spec):
        self.wave, self.flux, self.ivar, self.z_qso = spec.wave, spec.flux, spec.ivar, spec.z_qso


def _write(args, started, lines, found, seconds, real, gp_description, n_done) -> None:
    from cosmicbook import dla

    out = {
        "script": "benchmarks/dla_gp_comparison.py",
        "machine": machine(),
        "started_utc": started,
        "written_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "complete": n_done == args.n,
        "n_sightlines": n_done,
        "n_requested": args.n,
        "seed": args.seed,
        "sightlines": "cosmicbook.dla.independent (IndependentConfig defaults): at most one "
                      "DLA per sightline, S/N 3-40",
        "gp_configuration": gp_description,
        "cnn_configuration": "shipped weights (dla_cnn_book.pt), stride 1, threshold 0.5",
        "snr_bins": SNR_BINS,
        "methods": {},
        "real_spectra": real,
    }
    for name, cats in found.items():
        truth, det = dla.match_catalogue(lines, cats)
        table = dla.binned_scores(truth, det, SNR_BINS)
        out["methods"][name] = {"seconds_per_sightline": seconds[name] / n_done,
                                "bins": _table_rows(table)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1, default=float) + "\n")
    tmp.replace(args.out)


if __name__ == "__main__":
    print(main())
