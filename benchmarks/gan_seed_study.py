"""Seed study: do the adversarial results of chapters 5 (CRAB) and 6 (the TAN) hold across seeds?

For each of several *training* seeds (the data sets stay those of the chapter's profile; the
seed changes the initial weights, the batches, the latent vectors and the generator's noise)
this script trains

* the CRAB BCE-GAN of chapter 5 with the profile's knobs, and measures, on ``--n-eval``
  generated segments at flux 1 against as many held-out MC segments: the decade-averaged PSD
  ratio per bolometer with Welch windows of 1,024 samples (so that the lowest decade the
  1,060-sample segments resolve, from 0.18 Hz, is in) and of the chapter's 256 samples; the
  chapter's four acceptance criteria (:func:`cosmicbook.tes.compare_tod`); and the flux
  conditioning: the ratio of the detected glitch rates at flux 2 and 0.5, generated against
  MC (``--n-flux`` segments per flux);
* the TAN of chapter 6, and measures the reduction of the Wasserstein distances of pixel
  values, brightest-cluster size and charge (approximate / TAN), and the classifier two-sample
  test with ``--c2st-repeats`` classifiers (other initialisations and splits; every AUC is
  recorded).

Targets (issue 16): PSD ratio within 0.85-1.18 in every decade from the lowest resolved one;
generated rate ratio within 10 % of the MC's; TAN two-sample AUC <= 0.6 for every classifier;
size and charge reductions >= 3.5x; all for every seed. The results file is rewritten after
every seed, so an interrupted run keeps what it measured::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/gan_seed_study.py --profile book \\
        --out benchmarks/results/gan_seed_study_book_cpu2-epyc.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

#: The issue's targets.
PSD_RANGE = (0.85, 1.18)
RATE_TOLERANCE = 0.10
C2ST_MAX = 0.6
REDUCTION_MIN = 3.5


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _decades(freq, psd, psd_ref) -> list[dict]:
    from cosmicbook import tes

    table = tes.psd_ratio_by_decade(freq, psd, psd_ref)
    return [{"f_lo": float(r["f_lo"]), "f_hi": float(r["f_hi"]), "n_bins": int(r["n_bins"]),
             "ratio": [float(v) for v in r["ratio"]], "ratio_min": float(r["ratio_min"]),
             "ratio_max": float(r["ratio_max"])} for r in table]


class CrabStudy:
    """Chapter 5's data (fixed) and one BCE-GAN training per seed."""

    def __init__(self, profile: str, n_eval: int, n_flux: int):
        from cosmicbook import tes
        from cosmicbook.core.config import resolve_profile

        self.cfg = cfg = resolve_profile(tes.PROFILES, profile)
        rng = np.random.default_rng(cfg.seed)
        self.train_flux = np.exp(rng.uniform(np.log(cfg.flux_min), np.log(cfg.flux_max),
                                             cfg.n_train))
        self.train = tes.simulate_tod(cfg.n_train, self.train_flux, seed=cfg.seed,
                                      progress=False)
        self.val = tes.simulate_tod(cfg.n_val, 1.0, seed=cfg.seed + 1, progress=False)
        # held-out MC of the study, drawn apart from every set of the chapter
        self.test = tes.simulate_tod(n_eval, 1.0, seed=cfg.seed + 101, progress=False)
        self.n_eval, self.n_flux = n_eval, n_flux
        self.mc_rates = {f: self._rate(tes.simulate_tod(n_flux, f, seed=cfg.seed + 110 + k,
                                                        progress=False))
                         for k, f in enumerate((0.5, 2.0))}

    @staticmethod
    def _rate(x) -> float:
        from cosmicbook import tes

        return float(tes.glitch_rate(tes.detect_glitches(x)).mean())

    def run(self, seed: int) -> dict:
        from cosmicbook import tes

        cfg = self.cfg
        t0 = time.perf_counter()
        arch, config = tes.CRABConfig.from_profile(cfg), tes.GANConfig.from_profile(cfg)
        model = tes.build_crab(self.train, self.train_flux, arch, seed=seed)
        history = tes.train_gan(model, self.train, self.train_flux, config, monitor=self.val,
                                monitor_flux=np.ones(cfg.n_val), seed=seed, device="cpu",
                                progress=False)
        train_seconds = time.perf_counter() - t0
        gen = model.generate(self.n_eval, 1.0, seed=seed + 10)
        out = {"seed": seed, "train_seconds": round(train_seconds, 1),
               "final_psd_dev": float(history["psd_dev"][-1])}
        for nperseg in (1024, 256):
            freq, psd = tes.welch_psd(gen, model.sample_rate, nperseg)
            _, ref = tes.welch_psd(self.test, model.sample_rate, nperseg)
            decades = _decades(freq, psd, ref)
            out[f"psd_decades_{nperseg}"] = decades
            lo = min(d["ratio_min"] for d in decades)
            hi = max(d["ratio_max"] for d in decades)
            out[f"psd_range_{nperseg}"] = [lo, hi]
        comparison = tes.compare_tod(gen, self.test, self.train)
        out["criteria"] = comparison.passes()
        out["correlation_max_diff"] = comparison.correlation_max_diff
        out["amplitude_ks_p"] = float(comparison.amplitudes.ks_pvalue)
        out["amplitude_wasserstein"] = float(comparison.amplitudes.relative_wasserstein)
        out["memorisation"] = float(comparison.memorisation)
        rates = {f: self._rate(model.generate(self.n_flux, f, seed=seed + 20 + k))
                 for k, f in enumerate((0.5, 2.0))}
        out["rate_ratio"] = rates[2.0] / rates[0.5]
        out["rate_ratio_mc"] = self.mc_rates[2.0] / self.mc_rates[0.5]
        out["rate_ratio_rel"] = out["rate_ratio"] / out["rate_ratio_mc"]
        lo, hi = out["psd_range_1024"]
        out["targets"] = {
            "psd_0.85_1.18": bool(lo >= PSD_RANGE[0] and hi <= PSD_RANGE[1]),
            "rate_ratio_within_10pct": bool(abs(out["rate_ratio_rel"] - 1) <= RATE_TOLERANCE),
        }
        out["seconds"] = round(time.perf_counter() - t0, 1)
        return out


class TanStudy:
    """Chapter 6's readout sets (fixed) and one TAN training per seed."""

    def __init__(self, profile: str, repeats: int):
        from cosmicbook import crayfis
        from cosmicbook.core.config import resolve_profile

        self.cfg = cfg = resolve_profile(crayfis.PROFILES, profile)
        self.sets = crayfis.simulate_readout_sets(cfg.tan_n, cfg.eval_n, seed=cfg.seed + 30,
                                                  progress=False)
        self.repeats = repeats

    def run(self, seed: int) -> dict:
        from cosmicbook import crayfis

        cfg, sets = self.cfg, self.sets
        t0 = time.perf_counter()
        torch.manual_seed(seed)  # the initial weights follow the training seed
        gen = crayfis.Generator(hidden=cfg.tan_hidden)
        disc = crayfis.Discriminator()
        config = crayfis.TANConfig(epochs=cfg.tan_epochs, lr=cfg.tan_lr,
                                   lambda_match=cfg.tan_match)
        crayfis.train_tan(gen, disc, sets.approx_train, sets.real_train, config, seed=seed,
                          progress=False)
        train_seconds = time.perf_counter() - t0
        trk = sets.deposits.is_track
        tan_eval = crayfis.transform(gen, sets.approx, seed=seed)
        d_tan = crayfis.distribution_distances(sets.real, tan_eval, trk, trk)
        d_approx = crayfis.distribution_distances(sets.real, sets.approx, trk, trk)
        reduction = {k: float(d_approx[k] / d_tan[k]) for k in d_tan}
        tan_other = crayfis.transform(gen, sets.approx_other, seed=seed + 1)
        c2st = crayfis.classifier_two_sample_test(sets.real, tan_other,
                                                  epochs=cfg.c2st_epochs,
                                                  repeats=self.repeats, seed=seed,
                                                  progress=False)
        aucs = [float(a) for a in c2st.aucs]
        size_key = next(k for k in reduction if "size" in k)
        charge_key = next(k for k in reduction if "charge" in k)
        return {
            "seed": seed, "train_seconds": round(train_seconds, 1),
            "distances_tan": {k: float(v) for k, v in d_tan.items()},
            "distances_approx": {k: float(v) for k, v in d_approx.items()},
            "reduction": reduction, "c2st_aucs": aucs, "c2st_max": max(aucs),
            "targets": {
                "c2st_every_auc_le_0.6": bool(max(aucs) <= C2ST_MAX),
                "size_ge_3.5x": bool(reduction[size_key] >= REDUCTION_MIN),
                "charge_ge_3.5x": bool(reduction[charge_key] >= REDUCTION_MIN),
            },
            "seconds": round(time.perf_counter() - t0, 1),
        }


def summary(runs: list[dict], keys: dict[str, callable]) -> dict:
    """Min, max and mean of each named quantity over the seeds, and targets met per seed."""
    out = {}
    for name, get in keys.items():
        values = [get(r) for r in runs]
        out[name] = {"min": float(np.min(values)), "max": float(np.max(values)),
                     "mean": float(np.mean(values)), "values": [float(v) for v in values]}
    targets = sorted({t for r in runs for t in r["targets"]})
    out["targets_met"] = {t: [bool(r["targets"][t]) for r in runs] for t in targets}
    return out


CRAB_KEYS = {
    "psd_ratio_min_1024": lambda r: r["psd_range_1024"][0],
    "psd_ratio_max_1024": lambda r: r["psd_range_1024"][1],
    "psd_ratio_min_256": lambda r: r["psd_range_256"][0],
    "psd_ratio_max_256": lambda r: r["psd_range_256"][1],
    "lowest_decade_min_1024": lambda r: r["psd_decades_1024"][0]["ratio_min"],
    "rate_ratio": lambda r: r["rate_ratio"],
    "rate_ratio_rel": lambda r: r["rate_ratio_rel"],
    "correlation_max_diff": lambda r: r["correlation_max_diff"],
    "amplitude_wasserstein": lambda r: r["amplitude_wasserstein"],
}
TAN_KEYS = {
    "size_reduction": lambda r: next(v for k, v in r["reduction"].items() if "size" in k),
    "charge_reduction": lambda r: next(v for k, v in r["reduction"].items() if "charge" in k),
    "pixel_reduction": lambda r: next(v for k, v in r["reduction"].items() if "pixel" in k),
    "c2st_max": lambda r: r["c2st_max"],
}


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch "
            f"thread(s), {platform.system()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="book", choices=("ci", "book", "full"))
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="training seeds (default: the profile's seed and the next two)")
    parser.add_argument("--only", choices=("crab", "tan"), default=None)
    parser.add_argument("--n-eval", type=int, default=1024, help="segments compared (CRAB)")
    parser.add_argument("--n-flux", type=int, default=1024,
                        help="segments per flux for the rate ratio (CRAB)")
    parser.add_argument("--c2st-repeats", type=int, default=5,
                        help="two-sample classifiers per seed (TAN)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    result = {"script": "benchmarks/gan_seed_study.py", "profile": args.profile,
              "machine": machine(), "torch": torch.__version__, "started_utc": _now(),
              "n_eval": args.n_eval, "n_flux": args.n_flux, "c2st_repeats": args.c2st_repeats,
              "targets": {"psd_range": PSD_RANGE, "rate_tolerance": RATE_TOLERANCE,
                          "c2st_max": C2ST_MAX, "reduction_min": REDUCTION_MIN},
              "crab": [], "tan": []}

    def write(done: bool) -> None:
        result["written_utc"], result["complete"] = _now(), done
        for part, keys in (("crab", CRAB_KEYS), ("tan", TAN_KEYS)):
            if result[part]:
                result[f"{part}_summary"] = summary(result[part], keys)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1) + "\n")
        tmp.replace(args.out)

    if args.only in (None, "crab"):
        study = CrabStudy(args.profile, args.n_eval, args.n_flux)
        seeds = args.seeds or [study.cfg.seed + k for k in range(3)]
        for seed in seeds:
            result["crab"].append(study.run(seed))
            print("CRAB seed", seed, result["crab"][-1]["targets"], flush=True)
            write(False)
    if args.only in (None, "tan"):
        study = TanStudy(args.profile, args.c2st_repeats)
        seeds = args.seeds or [study.cfg.seed + k for k in range(3)]
        for seed in seeds:
            result["tan"].append(study.run(seed))
            print("TAN seed", seed, result["tan"][-1]["targets"], flush=True)
            write(False)
    write(True)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
