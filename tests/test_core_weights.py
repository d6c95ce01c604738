"""Shipped-weights files: save, reload, cache and the errors for missing or foreign files."""

import json

import pytest
import torch

from cosmicbook.core.weights import (
    clear_weights_cache,
    load_weights,
    read_weights_metadata,
    save_weights,
)


def _net(width: int = 3) -> torch.nn.Module:
    nn = torch.nn
    return nn.Sequential(nn.Linear(2, width), nn.Tanh(), nn.Linear(width, 1))


def _build(meta):
    return _net(**meta["model"])


def test_round_trip_restores_outputs_and_metadata(tmp_path):
    torch.manual_seed(0)
    net = _net(4)
    path = save_weights(net, tmp_path / "sub" / "net.pt", {"model": {"width": 4}, "loss": 0.5})
    assert path.is_file()
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta == {"model": {"width": 4}, "loss": 0.5}
    loaded = load_weights(path, _build, cache=False)
    x = torch.randn(5, 2)
    assert not loaded.training
    torch.testing.assert_close(loaded(x), net(x), rtol=0, atol=0)


def test_cache_returns_the_same_network_until_the_file_changes(tmp_path):
    clear_weights_cache()
    path = save_weights(_net(), tmp_path / "net.pt", {"model": {"width": 3}})
    first = load_weights(path, _build)
    assert load_weights(path, _build) is first
    assert load_weights(path, _build, cache=False) is not first
    clear_weights_cache()
    assert load_weights(path, _build) is not first


def test_missing_files_name_the_chapter(tmp_path):
    with pytest.raises(FileNotFoundError, match="notebooks/09_x"):
        load_weights(tmp_path / "absent.pt", _build, what="X net", chapter="09_x")
    path = save_weights(_net(), tmp_path / "net.pt", {"model": {"width": 3}})
    path.with_suffix(".json").unlink()
    with pytest.raises(FileNotFoundError, match=r"net\.json"):
        read_weights_metadata(path)


def test_builder_errors_propagate_and_suffix_is_checked(tmp_path):
    path = save_weights(_net(), tmp_path / "net.pt", {"model": {"width": 3}})

    def refuse(meta):
        raise ValueError("holds another network")

    with pytest.raises(ValueError, match="another network"):
        load_weights(path, refuse, cache=False)
    with pytest.raises(ValueError, match=r"\.pt"):
        save_weights(_net(), tmp_path / "net.pth", {})
    # a configuration that does not match the state dict fails loudly
    with pytest.raises(RuntimeError):
        load_weights(path, lambda meta: _net(5), cache=False)


def test_numpy_metadata_is_written_as_json(tmp_path):
    import numpy as np

    meta = {"model": {"width": 3}, "loss": np.float32(0.25), "curve": np.arange(3)}
    path = save_weights(_net(), tmp_path / "net.pt", meta)
    assert read_weights_metadata(path) == {"model": {"width": 3}, "loss": 0.25,
                                           "curve": [0, 1, 2]}


def test_reads_the_older_config_and_state_dict_layout(tmp_path):
    """deepcr's files before this module: the configuration inside the ``.pt``."""
    torch.manual_seed(1)
    net = _net(4)
    path = tmp_path / "old.pt"
    torch.save({"config": {"width": 4}, "state_dict": net.state_dict()}, path)
    path.with_suffix(".json").write_text(json.dumps({"epochs": 3}))
    seen = []

    def build(meta):
        seen.append(meta)
        return _build(meta)

    loaded = load_weights(path, build, cache=False)
    assert seen == [{"epochs": 3, "model": {"width": 4}}]
    for key, value in net.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    # a JSON "model" wins over the file's configuration
    path.with_suffix(".json").write_text(json.dumps({"model": {"width": 5}}))
    with pytest.raises(RuntimeError):
        load_weights(path, _build, cache=False)


def test_a_file_without_a_state_dict_is_refused(tmp_path):
    path = tmp_path / "x.pt"
    path.with_suffix(".json").write_text(json.dumps({"model": {"width": 3}}))
    for payload in ({"something": 1}, [1, 2], torch.zeros(3)):
        torch.save(payload, path)
        with pytest.raises(ValueError, match="does not hold X net weights"):
            load_weights(path, _build, what="X net", cache=False)
