"""Run profiles: one set of knobs per chapter, resolved the same way everywhere.

Every notebook has a papermill ``parameters`` cell with ``PROFILE`` and the knobs it controls.
A knob left at ``None`` takes the profile's preset; any other value overrides it, so papermill
(``-p EPOCHS 3``) or a reader can change one knob without touching the rest.

The three profiles are

``ci``
    seconds: what the test suite executes.
``book``
    the default: what the rendered book shows; minutes on one CPU core, and results that are
    scientifically meaningful.
``full``
    the papers' scale, meant for a GPU.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["PROFILES", "Profile", "resolve_profile"]

PROFILES: tuple[str, ...] = ("ci", "book", "full")


class Profile(Mapping[str, Any]):
    """The resolved knobs of one run, readable as attributes or as a mapping.

    Parameters
    ----------
    name : str
        The profile name (``"ci"``, ``"book"`` or ``"full"``).
    values : mapping
        Knob name -> value, after overrides.
    overridden : iterable of str
        The knobs that were set explicitly rather than taken from the preset.
    """

    def __init__(self, name: str, values: Mapping[str, Any], overridden: Iterator[str] = ()):
        self._name = name
        self._values = dict(values)
        self._overridden = frozenset(overridden)

    @property
    def name(self) -> str:
        """The profile name."""
        return self._name

    @property
    def overridden(self) -> frozenset[str]:
        """Knobs that differ from the profile's preset because they were set explicitly."""
        return self._overridden

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(
                f"profile {self._name!r} has no knob {key!r}; it has {sorted(self._values)}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        knobs = ", ".join(
            f"{k}={v!r}" + ("*" if k in self._overridden else "") for k, v in self._values.items()
        )
        return f"Profile({self._name!r}: {knobs})"


def resolve_profile(
    presets: Mapping[str, Mapping[str, Any]], profile: str, **overrides: Any
) -> Profile:
    """Resolve a chapter's knobs for ``profile``, applying explicit overrides.

    Parameters
    ----------
    presets : mapping
        ``{"ci": {...}, "book": {...}, "full": {...}}``: each profile's knob values. Every
        profile must define the same knobs.
    profile : str
        One of ``"ci"``, ``"book"``, ``"full"`` (case-insensitive).
    **overrides
        Knob values that replace the preset; ``None`` means "keep the preset".

    Returns
    -------
    Profile
        Attribute- and mapping-style access to the resolved knobs.

    Raises
    ------
    ValueError
        For an unknown profile name, a preset table missing a profile or with profiles that
        disagree on their knobs, or an override naming a knob the chapter does not have.

    Examples
    --------
    >>> presets = {"ci": {"size": 64}, "book": {"size": 512}, "full": {"size": 4096}}
    >>> cfg = resolve_profile(presets, "book", size=None)
    >>> cfg.size
    512
    >>> resolve_profile(presets, "ci", size=128).size
    128
    """
    if not isinstance(profile, str) or profile.strip().lower() not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: expected one of {', '.join(PROFILES)}")
    name = profile.strip().lower()
    missing = [p for p in PROFILES if p not in presets]
    if missing:
        raise ValueError(f"the presets define no {', '.join(missing)} profile(s)")
    knobs = set(presets[name])
    for other in PROFILES:
        if set(presets[other]) != knobs:
            diff = sorted(set(presets[other]) ^ knobs)
            raise ValueError(f"profiles {name!r} and {other!r} disagree on knobs {diff}")
    unknown = sorted(set(overrides) - knobs)
    if unknown:
        raise ValueError(
            f"unknown knob(s) {unknown} for this chapter; expected some of {sorted(knobs)}"
        )
    values = dict(presets[name])
    changed = []
    for key, value in overrides.items():
        if value is not None:
            values[key] = value
            if value != presets[name][key]:
                changed.append(key)
    return Profile(name, values, changed)
