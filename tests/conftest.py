"""Shared test configuration: one torch thread, a non-interactive matplotlib backend."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("COSMICBOOK_PROGRESS", "0")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

try:  # torch is optional for the parts of the suite that do not train anything
    import torch  # noqa: E402

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass
