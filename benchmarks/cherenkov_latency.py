"""Benchmark: the real-time budget of the Cherenkov networks (eager and exported).

The seed deck quotes "1000 predictions in ~70 us" for its CNNs. This script measures, for the
three networks with the weights the package ships (CNN cleaner, CNN regressor, heat-map
localiser):

``single-map latency``
    the best of ``--repeat`` forward passes on one map (batch 1), in microseconds;
``batched throughput``
    maps per second at each batch size of ``--batch`` (and the time of 1000 predictions):
    on a CPU large batches of 200 x 200 maps overflow the caches, so the best batch is
    small;
``exported``
    the same after :func:`cosmicbook.core.export.export_model` (``torch.export``) and
    :func:`~cosmicbook.core.export.load_exported`, with the largest absolute difference of
    its outputs from the eager network's on the same maps (float tolerance expected).

Inputs are preprocessed simulated counts maps (the analytic IRFs at 20 deg zenith: timings do
not depend on the counts). Not a test: run it by hand on the machine you want numbers for::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cherenkov_latency.py --machine cpu2-epyc

On a machine with CUDA the networks are also timed on the GPU (``--no-gpu`` to skip).
Results go to ``benchmarks/results/cherenkov_latency_<machine>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("results")


def _inputs(n: int):
    from cosmicbook import cherenkov as ck

    templates = ck.build_templates([(20.0, 1.0)])
    maps = ck.simulate_maps(n, templates, seed=0, flux=(0.1, 2.0), livetime=100.0)
    return {"cleaner": ck.preprocess.cleaner_inputs(maps.counts),
            "regressor": ck.preprocess.cleaner_inputs(maps.counts),
            "localiser": ck.preprocess.localiser_inputs(maps.counts)}


def _measure(net, x, batches, repeat: int, device) -> dict:
    import torch

    from cosmicbook.core.timing import best_time

    sync = device.type == "cuda"
    one = x[:1].to(device)
    out = {}
    with torch.inference_mode():
        net(one)  # warm-up (allocations, lazy initialisation)
        out["single_map_us"] = 1e6 * best_time(lambda: net(one), repeat=repeat,
                                               sync_cuda=sync)
        out["batches"] = {}
        for batch in batches:
            many = x[:batch].to(device)
            net(many)
            seconds = best_time(lambda many=many: net(many), repeat=max(3, repeat // 10),
                                sync_cuda=sync)
            per_map = seconds / len(many)
            out["batches"][str(len(many))] = {
                "batch_seconds": seconds, "maps_per_second": 1.0 / per_map,
                "seconds_per_1000_maps": 1000 * per_map}
    best = max(out["batches"], key=lambda b: out["batches"][b]["maps_per_second"])
    out["best_batch"] = int(best)
    out.update(out["batches"][best])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--machine", default=platform.node() or "this-machine",
                        help="name of this machine in the results file")
    parser.add_argument("--batch", type=int, nargs="+", default=[8, 32, 256],
                        help="maps per batched call (several: each is timed)")
    parser.add_argument("--repeat", type=int, default=50, help="timing rounds (best kept)")
    parser.add_argument("--no-gpu", action="store_true", help="skip the GPU even if present")
    args = parser.parse_args(argv)

    import torch

    from cosmicbook import cherenkov as ck
    from cosmicbook.core.export import export_model, load_exported

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    torch.set_num_threads(threads)
    inputs = _inputs(max(args.batch))
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.no_gpu:
        devices.append(torch.device("cuda"))
    report = {"machine": args.machine, "torch": torch.__version__, "threads": threads,
              "date": time.strftime("%Y-%m-%d"), "platform": platform.platform(),
              "cpu_count": os.cpu_count(),
              "gpu": torch.cuda.get_device_name(0) if len(devices) > 1 else None,
              "networks": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("cleaner", "regressor", "localiser"):
            net = ck.load_model(kind).eval()
            x = torch.from_numpy(inputs[kind])
            row = {"parameters": sum(p.numel() for p in net.parameters()),
                   "input_shape": list(x.shape[1:])}
            path = export_model(net, x[:2], Path(tmp) / f"{kind}.pt2")
            exported = load_exported(path)
            with torch.inference_mode():
                row["exported_max_abs_difference"] = float(
                    (exported(x[:16]) - net(x[:16])).abs().max())
            for device in devices:
                name = device.type
                row[name] = _measure(net.to(device), x, args.batch, args.repeat, device)
                row[f"{name}_exported"] = _measure(exported.to(device), x, args.batch,
                                                   args.repeat, device)
                net.to("cpu")
                exported.to("cpu")
            report["networks"][kind] = row
            cpu = row["cpu"]
            print(f"{kind:9s} {row['parameters']:>9,d} params: one map "
                  f"{cpu['single_map_us']:8.0f} us, {cpu['maps_per_second']:8.0f} maps/s at "
                  f"batch {cpu['best_batch']} (1000 maps in "
                  f"{cpu['seconds_per_1000_maps']:.3f} s); "
                  f"exported one map {row['cpu_exported']['single_map_us']:8.0f} us, "
                  f"max |diff| {row['exported_max_abs_difference']:.1e}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"cherenkov_latency_{args.machine}.json"
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(report, indent=1) + "\n")
    os.replace(tmp_out, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
