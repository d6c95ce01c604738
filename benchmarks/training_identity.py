"""Check: the adversarial trainings of chapters 5 and 6 give bit-identical results.

Runs the trainings of the CRAB chapter (the two main GANs: BCE with Adam/SGD, WGAN-GP with
Adam/Adam) and of the CRAYFIS chapter (the TAN) with one profile's knobs on the chapters' own
simulated data, and records a SHA-256 of

* every history column (the wall-clock ``seconds`` excepted), value by value as float64 bytes;
* the trained weights (every tensor of the state dicts, in order);
* the outputs: 64 generated segments per GAN (flux 1, seed 0) and the TAN's transformation of
  its evaluation frames.

Run it before and after a change to the training code::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_identity.py --profile book \\
        --out benchmarks/results/training_identity_book_before.json
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_identity.py --profile book \\
        --check benchmarks/results/training_identity_book_before.json

``--check`` exits with status 1 and names every record that differs. Bitwise identity holds
on one machine with one torch build and one thread count; other machines may differ in the
last bits (different SIMD paths): compare records made on the same machine.

``results/training_identity_book_before.json`` was recorded by the training code as it was
before the adversarial loop moved into :mod:`cosmicbook.core.training` (the same records, with
``train_gan(train, flux, **33 keywords)`` and ``train_tan(approx, real, **keywords)``; in git
history before the commit that adds this paragraph), ``..._after.json`` by the code after it,
both on the same 2-vCPU machine, one thread.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _history(history) -> dict[str, str]:
    out = {}
    for key in history.keys():
        if key == "seconds":
            continue
        values = np.array([np.nan if v is None else float(v) for v in history[key]])
        out[key] = _digest(values)
    return out


def _state(*modules) -> str:
    tensors = [t for m in modules for t in m.state_dict().values()]
    return _digest(*tensors)


def crab_records(profile: str) -> dict:
    from cosmicbook import tes
    from cosmicbook.core.config import resolve_profile

    cfg = resolve_profile(tes.PROFILES, profile)
    rng = np.random.default_rng(cfg.seed)
    train_flux = np.exp(rng.uniform(np.log(cfg.flux_min), np.log(cfg.flux_max), cfg.n_train))
    train = tes.simulate_tod(cfg.n_train, train_flux, seed=cfg.seed, progress=False)
    val = tes.simulate_tod(cfg.n_val, 1.0, seed=cfg.seed + 1, progress=False)
    config, arch = tes.GANConfig.from_profile(cfg), tes.CRABConfig.from_profile(cfg)
    records = {}
    runs = {"BCE-GAN": ("bce", "sgd", 1), "WGAN-GP": ("wgan-gp", "adam", cfg.n_critic)}
    lr_d = {"sgd": cfg.lr_d_sgd, "adam": cfg.lr_d_adam}
    for name, (loss, opt, n_critic) in runs.items():
        t0 = time.perf_counter()
        run = config.replace(loss=loss, d_optimizer=opt, lr_d=lr_d[opt], n_critic=n_critic)
        model = tes.build_crab(train, train_flux, arch, seed=cfg.seed)
        history = tes.train_gan(model, train, train_flux, run, monitor=val,
                                monitor_flux=np.ones(cfg.n_val), seed=cfg.seed,
                                device="cpu", progress=False)
        records[f"crab/{name}"] = {
            "history": _history(history),
            "weights": _state(model),
            "generated": _digest(model.generate(64, 1.0, seed=0)),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        print(name, records[f"crab/{name}"]["seconds"], "s", flush=True)
    return records


def tan_records(profile: str) -> dict:
    from cosmicbook import crayfis
    from cosmicbook.core.config import resolve_profile

    cfg = resolve_profile(crayfis.PROFILES, profile)
    sets = crayfis.simulate_readout_sets(cfg.tan_n, cfg.eval_n, seed=cfg.seed + 30,
                                         progress=False)
    t0 = time.perf_counter()
    config = crayfis.TANConfig(epochs=cfg.tan_epochs, lr=cfg.tan_lr, lambda_match=cfg.tan_match)
    torch.manual_seed(cfg.seed)  # the initial weights
    gen = crayfis.tan.Generator(hidden=cfg.tan_hidden)
    disc = crayfis.tan.Discriminator()
    history = crayfis.train_tan(gen, disc, sets.approx_train, sets.real_train, config,
                                seed=cfg.seed, progress=False)
    rec = {"history": _history(history), "weights": _state(gen, disc),
           "generated": _digest(crayfis.transform(gen, sets.approx, seed=cfg.seed)),
           "seconds": round(time.perf_counter() - t0, 1)}
    print("TAN", rec["seconds"], "s", flush=True)
    return {"crayfis/TAN": rec}


def _compare(new: dict, old: dict) -> list[str]:
    bad = []
    for run, rec in old["records"].items():
        got = new["records"].get(run)
        if got is None:
            bad.append(f"{run}: missing")
            continue
        for part in ("weights", "generated"):
            if got[part] != rec[part]:
                bad.append(f"{run}: {part} differ")
        for key, digest in rec["history"].items():
            if got["history"].get(key) != digest:
                bad.append(f"{run}: history column {key!r} differs")
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="book", choices=("ci", "book", "full"))
    parser.add_argument("--only", choices=("crab", "tan"), default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the records here")
    parser.add_argument("--check", type=Path, default=None,
                        help="compare with the records of an earlier run")
    args = parser.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    records = {}
    if args.only in (None, "crab"):
        records.update(crab_records(args.profile))
    if args.only in (None, "tan"):
        records.update(tan_records(args.profile))
    result = {"profile": args.profile, "date": time.strftime("%Y-%m-%d"),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                         f"{torch.get_num_threads()} torch thread(s)",
              "torch": torch.__version__, "records": records}
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        tmp.replace(args.out)
    if args.check is not None:
        old = json.loads(args.check.read_text())
        if args.only is not None:
            old["records"] = {k: v for k, v in old["records"].items()
                              if k.startswith(args.only if args.only == "crab" else "crayfis")}
        bad = _compare(result, old)
        for line in bad:
            print("DIFFERS:", line)
        print("bit-identical" if not bad else f"{len(bad)} records differ")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
