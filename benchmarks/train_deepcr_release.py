"""Release training of the shipped cosmic-ray mask weights: randomised instruments.

Not a test and not part of the book's run: it trains the weights that
:func:`cosmicbook.deepcr.predict_mask` and ``cosmicbook mask`` use by default, on frames each
seen by its own randomly drawn spectrograph (:class:`cosmicbook.deepcr.InstrumentRanges`, PSF
sigma 0.8-2.2 px in each direction, read noise 2-6 e-, ...) with augmented chapter-1 cosmics
(:class:`cosmicbook.deepcr.CosmicAugmentation`), then measures every trained variant on the
transfer grids of held-out frames (other darks, other seeds) and writes:

* ``cosmicbook/deepcr/weights/deepcr_<variant>_randomised.pt`` + ``.json`` (metadata: ranges,
  augmentation, recipe, history, machine, device, transfer metrics);
* ``benchmarks/results/deepcr_release_<machine>.json`` (the transfer metrics of every variant
  and of the single-instrument book weights).

Resumable: checkpoints go to ``--work`` (default ``_build/release``) after every epoch, and a
rerun with the same settings continues where it stopped. On the 2-vCPU development machine
with one torch thread the default recipe takes about 80 minutes (2-32: ~0.8 s per step of 8
patches of 128^2)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/train_deepcr_release.py --machine cpu2-epyc

``--quick`` runs the same code on tiny data in a minute (it writes to ``--work`` only).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results")

#: The release recipe (``--quick`` shrinks it).
RECIPE = {
    "seed": 2024,
    "library_size": 4096, "library_darks": 6, "library_seed": 2021,
    "test_library_size": 2048, "test_library_darks": 6, "test_library_seed": 7,
    "frame_size": 512, "n_train_frames": 240, "n_val_frames": 32, "exptime_factor": 2.5,
    "patch_size": 128, "patch_stride": 128, "batch_size": 8, "lr": 0.005,
    "freeze_fraction": 0.4,
    "epochs": {"2-32": 8, "2-16": 8, "2-8": 8, "2-4": 8},
    "grids": {"psf_sigma": [0.8, 1.0, 1.25, 1.5, 1.8, 2.2],
              "read_noise": [2.0, 3.0, 4.5, 6.0],
              "n_sky_lines": [15.0, 60.0, 110.0, 200.0]},
    "test_size": 1024, "test_frames": 2, "test_exptime": 1200.0,
}
QUICK = {"library_size": 1024, "library_darks": 3, "test_library_size": 1024,
         "test_library_darks": 3, "frame_size": 256, "n_train_frames": 4, "n_val_frames": 2,
         "epochs": {"2-8": 1}, "grids": {"psf_sigma": [0.8, 2.2]}, "test_size": 256,
         "test_frames": 1}


def merge_results(previous: dict, new: dict, variants: list[str]) -> dict:
    """Add the variants of a ``--variants`` run to an earlier results file.

    The earlier variants' entries and transfer rows stay; the new variants' (and the
    single-instrument reference's, recomputed on the same frames) replace theirs; ``hours``
    becomes a per-run list.
    """
    replaced = {f"{v} randomised" for v in variants} | {"2-32 single instrument"}
    merged = dict(previous)
    merged["transfer"] = [r for r in previous.get("transfer", [])
                          if r["method"] not in replaced] + new["transfer"]
    for variant in variants:
        merged[variant] = new[variant]
    runs = previous.get("runs") or [{"variants": [k for k in previous.get("recipe", {})
                                                  .get("epochs", {})],
                                     "hours": previous.get("hours")}]
    merged["runs"] = runs + [{"variants": variants, "hours": new["hours"],
                              "machine": new["machine"], "device": new["device"]}]
    merged["recipe"] = dict(previous.get("recipe", {}))
    merged["recipe"]["epochs"] = {**previous.get("recipe", {}).get("epochs", {}),
                                  **new["recipe"]["epochs"]}
    return merged


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--machine", default=platform.node() or "unknown",
                        help="name of this machine in the results file")
    parser.add_argument("--device", default=None, help="torch device (default: the best)")
    parser.add_argument("--work", default=str(ROOT / "_build" / "release"),
                        help="checkpoints and intermediate files")
    parser.add_argument("--variants", nargs="*", default=None,
                        help="train only these variants (default: all of the recipe)")
    parser.add_argument("--quick", action="store_true", help="tiny data, writes to --work only")
    args = parser.parse_args(argv)

    from cosmicbook import deepcr
    from cosmicbook.core.device import get_device
    from cosmicbook.core.training import checkpoint_name

    recipe = dict(RECIPE, **(QUICK if args.quick else {}))
    if args.variants:
        recipe["epochs"] = {v: recipe["epochs"].get(v, 8) for v in args.variants}
    device = get_device(args.device)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ranges, augmentation = deepcr.InstrumentRanges(), deepcr.CosmicAugmentation()
    t_start = time.perf_counter()

    library = deepcr.default_library((recipe["library_size"],) * 2,
                                     n_darks=recipe["library_darks"],
                                     seed=recipe["library_seed"], progress=False)
    test_library = deepcr.default_library((recipe["test_library_size"],) * 2,
                                          n_darks=recipe["test_library_darks"],
                                          seed=recipe["test_library_seed"], progress=False)
    print(f"library {library}; held-out library {test_library}", flush=True)
    n_train, n_val = recipe["n_train_frames"], recipe["n_val_frames"]
    frames = deepcr.make_randomised_frames(n_train + n_val, recipe["frame_size"], library,
                                           ranges, augmentation, seed=recipe["seed"],
                                           exptime_factor=recipe["exptime_factor"])
    size, stride = recipe["patch_size"], recipe["patch_stride"]
    train = deepcr.PatchDataset.from_frames(frames[:n_train], size=size, stride=stride)
    val = deepcr.PatchDataset.from_frames(frames[n_train:], size=size, stride=stride)
    print(f"{train} for training, {val} for validation "
          f"({time.perf_counter() - t_start:.0f} s)", flush=True)

    key = [recipe[k] for k in ("seed", "library_size", "library_darks", "library_seed",
                               "frame_size", "n_train_frames", "n_val_frames",
                               "exptime_factor", "patch_size", "patch_stride", "batch_size",
                               "lr", "freeze_fraction")] + [ranges.to_dict(),
                                                            augmentation.to_dict()]
    models, histories = {}, {}
    for variant, epochs in recipe["epochs"].items():
        model = deepcr.UNet(*deepcr.parse_variant(variant))
        ckpt = work / checkpoint_name(f"release_{variant}", *key, epochs)
        t0 = time.perf_counter()
        config = deepcr.MaskNetConfig(epochs=epochs, batch_size=recipe["batch_size"],
                                      lr=recipe["lr"], freeze_fraction=recipe["freeze_fraction"])
        histories[variant] = deepcr.train_mask_net(model, train, val, config=config,
                                                   checkpoint=ckpt, seed=recipe["seed"],
                                                   device=device)
        models[variant] = model.eval()
        print(f"{variant}: {epochs} epochs in {time.perf_counter() - t0:.0f} s, val loss "
              f"{histories[variant]['val_loss'][-1]:.5f}", flush=True)

    grids = [deepcr.make_transfer_frames(test_library, p, values, size=recipe["test_size"],
                                         n_frames=recipe["test_frames"],
                                         seed=recipe["seed"] + 1,
                                         exptime=recipe["test_exptime"], progress=False)
             for p, values in recipe["grids"].items()]
    methods = {f"{v} randomised": deepcr.network_method(m.fused(), device=device)
               for v, m in models.items()}
    single = deepcr.load_model(deepcr.WEIGHTS_DIR / deepcr.SINGLE_INSTRUMENT_WEIGHTS)
    methods["2-32 single instrument"] = deepcr.network_method(single.fused(), device=device)
    table = deepcr.transfer_map(methods, grids, progress=False)
    rows = [dict(zip(table.colnames, (r[c].item() if hasattr(r[c], "item") else r[c]
                                      for c in table.colnames), strict=True)) for r in table]
    hours = (time.perf_counter() - t_start) / 3600
    summary = {"machine": args.machine, "device": str(device),
               "torch_threads": torch.get_num_threads(), "hours": round(hours, 3),
               "quick": args.quick, "recipe": recipe, "ranges": ranges.to_dict(),
               "augmentation": augmentation.to_dict(), "transfer": rows}
    for variant, model in models.items():
        sub = table[table["method"] == f"{variant} randomised"]
        summary[variant] = {"min_tpr_at_1e-3": float(np.nanmin(sub["tpr"])),
                            "max_fpr_at_0.5": float(np.nanmax(sub["fpr_default"]))}
        if args.quick:
            continue
        meta = {"release": True, "trained_on": "randomised instruments",
                "machine": args.machine, "device": str(device), "hours": round(hours, 3),
                "epochs": recipe["epochs"][variant], "recipe": recipe,
                "ranges": ranges.to_dict(), "augmentation": augmentation.to_dict(),
                "history": histories[variant].state_dict()["records"],
                "train_patches": len(train), "val_patches": len(val),
                "transfer": [r for r in rows if r["method"] == f"{variant} randomised"],
                **summary[variant]}
        deepcr.save_model(model, deepcr.WEIGHTS_DIR / f"deepcr_{variant}_randomised.pt",
                          metadata=meta)
    out = (work if args.quick else RESULTS) / f"deepcr_release_{args.machine}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.variants and out.exists():
        summary = merge_results(json.loads(out.read_text()), summary, list(models))
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=1, allow_nan=False, default=float) + "\n")
    tmp.replace(out)
    print(f"wrote {out}", flush=True)
    for variant in models:
        print(variant, summary[variant])
    return summary


if __name__ == "__main__":
    main()
