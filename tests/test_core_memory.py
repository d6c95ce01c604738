"""Memory estimates of a training (core.memory)."""

import numpy as np
import pytest
import torch

from cosmicbook.core.memory import (
    MemoryEstimate,
    activation_bytes,
    estimate_training_memory,
    format_bytes,
    isolated_rng,
)


def test_format_bytes():
    assert format_bytes(512) == "512 B"
    assert format_bytes(12e6) == "12 MB"
    assert format_bytes(1.44e9) == "1.4 GB"


def test_known_answer_for_a_linear_stack():
    model = torch.nn.Sequential(torch.nn.Linear(10, 20), torch.nn.ReLU(),
                                torch.nn.Linear(20, 5))
    # outputs per sample: 20 + 20 + 5 floats of 4 bytes
    assert activation_bytes(model, torch.zeros(3, 10)) == 3 * 45 * 4
    est = estimate_training_memory(model, torch.zeros(1, 10), 100, data_bytes=1000)
    n_params = 10 * 20 + 20 + 20 * 5 + 5
    assert est.weights == est.gradients == 4 * n_params
    assert est.optimizer == 2 * 4 * n_params  # Adam
    assert est.activations == 100 * 45 * 4 and est.data == 1000
    assert est.total == 4 * 4 * n_params + 100 * 45 * 4 + 1000
    assert est.device == est.total - 1000
    assert "batch 100" in str(est) and "data 1.0 kB" in str(est)
    both = est + est
    assert both.total == 2 * est.total


def test_estimate_leaves_model_and_random_states_alone():
    model = torch.nn.Sequential(torch.nn.Conv1d(1, 4, 3), torch.nn.BatchNorm1d(4),
                                torch.nn.Dropout(0.5))
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(1)
    np.random.seed(1)  # noqa: NPY002 (the legacy global state is what is protected)
    expected_t, expected_n = torch.rand(1), np.random.rand()  # noqa: NPY002
    torch.manual_seed(1)
    np.random.seed(1)  # noqa: NPY002 (the legacy global state is what is protected)
    estimate_training_memory(model, torch.randn(2, 1, 50, generator=torch.Generator()), 8)
    assert torch.rand(1) == expected_t and np.random.rand() == expected_n  # noqa: NPY002
    assert not model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with isolated_rng():
        torch.rand(10)
    # bad input
    with pytest.raises(ValueError, match="batch_size"):
        estimate_training_memory(model, torch.zeros(1, 1, 50), 0)
    with pytest.raises(ValueError, match="non-negative"):
        estimate_training_memory(model, torch.zeros(1, 1, 50), 4, data_bytes=-1)
    assert isinstance(MemoryEstimate(1, 1, 2, 3), MemoryEstimate)
    assert str(MemoryEstimate(0, 0, 0, 0, data=5)) == "about 5 B of data (no network to train)"


def test_parametrized_modules_count_as_leaves():
    # a spectrally normalised layer has a child (its parametrization): its output still counts,
    # the weight its parametrization computes does not
    sn = torch.nn.utils.parametrizations.spectral_norm
    model = torch.nn.Sequential(sn(torch.nn.Linear(10, 20)), torch.nn.ReLU(),
                                sn(torch.nn.Linear(20, 5)))
    assert activation_bytes(model, torch.zeros(3, 10)) == 3 * 45 * 4


def test_device_data_is_on_the_device_and_in_the_total():
    est = MemoryEstimate(4, 4, 8, 16, data=100, batch_size=2, device_data=1000)
    assert est.total == 1132 and est.device == 1032
    assert (est + est).device_data == 2000
    assert "1.0 kB copied to the GPU" in str(est)
    assert "copied" not in str(MemoryEstimate(4, 4, 8, 16, data=100))
