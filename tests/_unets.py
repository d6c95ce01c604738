"""A test helper shared by the deepcr test files: untrained UNets whose batch normalisation
does not cancel by accident."""

import torch

from cosmicbook.deepcr.model import UNet


def random_unet(depth: int = 2, width: int = 8, seed: int = 0) -> UNet:
    """An untrained net with random batch-norm statistics (so nothing cancels by accident)."""
    torch.manual_seed(seed)
    net = UNet(depth, width)
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return net.eval()
