import pytest

from cosmicbook.core.config import PROFILES, Profile, resolve_profile

PRESETS = {
    "ci": {"size": 64, "epochs": 1, "device": None},
    "book": {"size": 512, "epochs": 10, "device": None},
    "full": {"size": 4096, "epochs": 60, "device": "cuda"},
}


def test_profiles_names():
    assert PROFILES == ("ci", "book", "full")


@pytest.mark.parametrize("name", PROFILES)
def test_presets_are_taken(name):
    cfg = resolve_profile(PRESETS, name)
    assert isinstance(cfg, Profile)
    assert cfg.name == name
    assert dict(cfg) == PRESETS[name]
    assert cfg.overridden == frozenset()


def test_none_keeps_preset_and_value_overrides():
    cfg = resolve_profile(PRESETS, "book", size=None, epochs=3)
    assert cfg.size == 512
    assert cfg.epochs == 3
    assert cfg["epochs"] == 3
    assert cfg.overridden == {"epochs"}
    assert "epochs=3*" in repr(cfg)


def test_profile_name_is_case_insensitive():
    assert resolve_profile(PRESETS, " CI ").name == "ci"


@pytest.mark.parametrize("bad", ["fast", "", None, 3])
def test_unknown_profile_raises(bad):
    with pytest.raises(ValueError, match="expected one of ci, book, full"):
        resolve_profile(PRESETS, bad)


def test_unknown_knob_raises():
    with pytest.raises(ValueError, match="unknown knob"):
        resolve_profile(PRESETS, "ci", sise=3)


def test_inconsistent_presets_raise():
    bad = {**PRESETS, "full": {"size": 1}}
    with pytest.raises(ValueError, match="disagree"):
        resolve_profile(bad, "ci")
    with pytest.raises(ValueError, match="no full"):
        resolve_profile({"ci": {}, "book": {}}, "ci")


def test_missing_attribute_message():
    cfg = resolve_profile(PRESETS, "ci")
    with pytest.raises(AttributeError, match="no knob 'lr'"):
        _ = cfg.lr
