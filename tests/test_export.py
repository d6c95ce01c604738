"""Exported programs (cosmicbook.core.export) give the networks' outputs back."""

from __future__ import annotations

import pytest
import torch

from cosmicbook import cherenkov as ck
from cosmicbook.core.export import export_model, load_exported


@pytest.mark.parametrize(("net", "shape"), [
    (ck.CNNCleaner(filters=4), (1, 64, 64)),
    (ck.CNNRegressor(dense=32, size=64), (1, 64, 64)),
    (ck.HeatmapLocaliser(width=4), (2, 20, 20)),
], ids=["cleaner", "regressor", "localiser"])
def test_cherenkov_networks_survive_export(tmp_path, net, shape):
    torch.manual_seed(0)
    net.train()  # exported in eval mode whatever the mode; the mode is restored
    example = torch.rand(3, *shape)
    path = export_model(net, example, tmp_path / "net.pt2")
    assert net.training and path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["net.pt2"], "a temporary file was left"
    again = load_exported(path)
    net.eval()
    for batch in (1, 3, 7):  # the batch size stays free
        x = torch.rand(batch, *shape)
        with torch.no_grad():
            torch.testing.assert_close(again(x), net(x), rtol=1e-5, atol=1e-6)


def test_export_errors(tmp_path):
    net = ck.CNNCleaner(filters=2)
    with pytest.raises(ValueError, match="at least 2 samples"):
        export_model(net, torch.rand(1, 1, 8, 8), tmp_path / "a.pt2")
    with pytest.raises(ValueError, match="torch.Tensor"):
        export_model(net, [1, 2], tmp_path / "a.pt2")
    with pytest.raises(FileNotFoundError, match="no folder"):
        export_model(net, torch.rand(2, 1, 8, 8), tmp_path / "missing" / "a.pt2")
    with pytest.raises(FileNotFoundError):
        load_exported(tmp_path / "none.pt2")
    (tmp_path / "junk.pt2").write_bytes(b"not a program")
    with pytest.raises(ValueError, match="not a torch.export program"):
        load_exported(tmp_path / "junk.pt2")
