"""Tests of cosmicbook.core.training.FitConfig, the base of the chapters' training configs."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest

from cosmicbook import cherenkov, crayfis, deepcr, dla
from cosmicbook.core.training import FitConfig

#: Every chapter config built on FitConfig, with the arguments it needs (MaskNetConfig has no
#: default number of epochs).
CHAPTER_CONFIGS = [
    (cherenkov.CleanerConfig, {}),
    (cherenkov.RegressorConfig, {}),
    (cherenkov.LocaliserConfig, {}),
    (crayfis.ClassifierConfig, {}),
    (dla.TrainingConfig, {}),
    (deepcr.MaskNetConfig, {"epochs": 3}),
]

BAD = [
    ("epochs", 0, "epochs must be a positive int, got 0"),
    ("epochs", -2, "epochs must be a positive int"),
    ("epochs", 1.5, "epochs must be a positive int"),
    ("epochs", True, "epochs must be a positive int, got True"),
    ("epochs", "3", "epochs must be a positive int"),
    ("epochs", None, "epochs must be a positive int"),
    ("batch_size", 0, "batch_size must be a positive int"),
    ("batch_size", 2.0, "batch_size must be a positive int"),
    ("batch_size", False, "batch_size must be a positive int"),
    ("lr", 0, "lr must be a positive number, got 0"),
    ("lr", -1e-3, "lr must be a positive number"),
    ("lr", float("nan"), "lr must be a positive number, got nan"),
    ("lr", float("inf"), "lr must be a positive number"),
    ("lr", True, "lr must be a positive number"),
    ("lr", "0.1", "lr must be a positive number"),
    ("lr", None, "lr must be a positive number"),
]


def test_valid_settings_are_kept_as_given():
    config = FitConfig(epochs=3, batch_size=8, lr=1e-3)
    assert (config.epochs, config.batch_size, config.lr) == (3, 8, 1e-3)
    assert FitConfig(np.int64(2), np.int32(4), np.float32(0.5)).epochs == 2  # numpy scalars
    assert FitConfig(1, 1, 1).lr == 1  # an int learning rate is a number
    assert config == FitConfig(3, 8, 1e-3)
    assert pickle.loads(pickle.dumps(config)) == config


def test_the_base_has_no_defaults_and_is_frozen():
    with pytest.raises(TypeError):
        FitConfig()  # type: ignore[call-arg]
    config = FitConfig(3, 8, 1e-3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 4  # type: ignore[misc]
    assert dataclasses.replace(config, lr=2e-3) == FitConfig(3, 8, 2e-3)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        dataclasses.replace(config, lr=-1.0)


@pytest.mark.parametrize("field, value, message", BAD,
                         ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_bad_settings_name_the_field(field, value, message):
    good = {"epochs": 3, "batch_size": 8, "lr": 1e-3}
    with pytest.raises(ValueError, match=message):
        FitConfig(**{**good, field: value})


@pytest.mark.parametrize("cls, needed", CHAPTER_CONFIGS,
                         ids=[cls.__name__ for cls, _ in CHAPTER_CONFIGS])
def test_chapter_configs_share_the_checks(cls, needed):
    """Each chapter config is a FitConfig with its own defaults, and its __post_init__ runs
    the base's checks before its own."""
    assert issubclass(cls, FitConfig)
    assert [f.name for f in dataclasses.fields(cls)][:3] == ["epochs", "batch_size", "lr"]
    config = cls(**needed)
    assert isinstance(config, FitConfig)
    assert cls.__dataclass_params__.frozen
    for field, value, message in BAD:
        with pytest.raises(ValueError, match=message):
            cls(**{**needed, field: value})


def test_chapter_defaults_are_unchanged():
    assert cherenkov.CleanerConfig() == cherenkov.CleanerConfig(5, 32, 1e-3, 96)
    assert cherenkov.RegressorConfig() == cherenkov.RegressorConfig(5, 32, 1e-3)
    assert cherenkov.LocaliserConfig() == cherenkov.LocaliserConfig(5, 64, 2e-3)
    assert crayfis.ClassifierConfig() == crayfis.ClassifierConfig(8, 128, 2e-3)
    assert dla.TrainingConfig() == dla.TrainingConfig(10, 256, 1e-3, 0.0)
    assert deepcr.MaskNetConfig(60) == deepcr.MaskNetConfig(60, 16, 0.005, 0.4, 2.5)
    # configs of different chapters never compare equal, even with the same numbers
    assert cherenkov.RegressorConfig() != FitConfig(5, 32, 1e-3)


def test_chapter_checks_of_their_own_fields_still_run():
    with pytest.raises(ValueError, match="crop"):
        cherenkov.CleanerConfig(crop=30)
    with pytest.raises(ValueError, match="weight_decay"):
        dla.TrainingConfig(weight_decay=-1.0)
    with pytest.raises(ValueError, match="lr_drop"):
        deepcr.MaskNetConfig(3, lr_drop=0.0)
    with pytest.raises(TypeError):
        deepcr.MaskNetConfig()  # type: ignore[call-arg]
