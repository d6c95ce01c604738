"""The chapters' prose states measured numbers from the run (myst-nb glue), not by hand.

A hand-typed number goes stale the moment the code or a profile changes. This test counts the
numbers that *look measured* -- decimals, percentages and ratios such as ``1.7x`` -- in every
markdown cell after a chapter's introduction (the cells before its first ``##`` section),
outside glue and cite roles, inline code and math. What remains must be a parameter of the
method or a published value; those are declared per chapter below with the reason, and any
other number fails the test once a chapter has more than ``MAX_UNDECLARED`` of them.
"""

from __future__ import annotations

import re

import jupytext
import pytest

from cosmicbook import book

#: Undeclared measured-looking numbers a chapter's prose may hold (a handful: in practice a
#: value quoted in passing; anything measured belongs in a glue role).
MAX_UNDECLARED = 3

#: Numbers each chapter's prose may state by hand: parameters and published values.
DECLARED: dict[str, dict[str, str]] = {
    "01_dark_frames": {"1.4": "the DESI deck's cosmic-ray rate (published)"},
    "02_deepcr_masks": {
        "1.4": "DESI cosmic-ray rate per s per 4k frame (published)",
        "40%": "batch-norm freeze fraction (parameter)",
        "2.5": "learning-rate divisor at the freeze (parameter)",
        "0.5": "default probability threshold (parameter)",
        "0.8": "lower end of the randomised PSF range / REAL_PSF_SIGMA (parameter)",
        "2.2": "upper end of the randomised PSF range (parameter)",
        "0.1": "the fixed false-positive rate, 0.1 % (parameter)",
        "1.0": "a grid point of the PSF grid (parameter)",
        "0.6": "PSF sigma of the imager used for fine-tuning (parameter)",
        "0.2": "exercise threshold (parameter)",
        "0.9": "exercise threshold (parameter)",
    },
    "03_dla": {
        "20.3": "the DLA threshold, log N_HI = 20.3 (definition)",
        "22.5": "upper end of the simulated log N range (parameter)",
        "19.5": "lower end of the simulated sub-DLA range (parameter)",
        "30%": "the classical trough depth cut / 30 % continuum error of an exercise",
        "0.5": "detection threshold on p(DLA) (parameter)",
        "0.3": "exercise threshold (parameter)",
        "0.8": "exercise threshold (parameter)",
        "95%": "the chapter's completeness and purity goal",
        "123656.3": "part of a quasar's name (SDSS J220248.31+123656.3)",
    },
    "04_cherenkov": {
        "0.025": "pixel size in deg (parameter)",
        "0.1": "heat-map cell, correlation radius, aperture radius in deg; exercise flux "
               "(parameters)",
        "0.5": "position bound, ring radius, peak separation in deg; threshold (parameters)",
        "5%": "target false-detection fraction that fixes the heat-map threshold (parameter)",
        "68%": "the containment fraction of the published PSF radius (definition)",
    },
    "06_crayfis": {
        "1.5": "pixel pitch in microns (parameter)",
        "3.6": "eV per electron-hole pair in silicon (physical constant)",
        "7%": "cross-talk to each neighbour of the hidden readout (parameter)",
        "15%": "anchor quantile of estimate_fractions (parameter)",
        "50%": "charge tolerance of the TAN's constraint loss (parameter)",
        "0.5": "AUC of a two-sample classifier that cannot tell the samples apart "
               "(definition)",
    },
    "05_crab": {
        "180.37": "Planck HFI's sampling rate in Hz (published)",
        "5.9": "segment length in s, 1064 samples at 180.37 Hz (parameter)",
        "3.2": "the deglitching threshold in sigma (Planck's, parameter)",
        "0.8": "common-mode coupling / lower end of the PSD-ratio band (parameters)",
        "0.7": "common-mode coupling (parameter)",
        "0.6": "common-mode coupling / long-glitch rate per s (parameters)",
        "0.5": "common-mode coupling / flux range / loss weight (parameters)",
        "0.25": "product of the smallest couplings / exercise flux (parameters)",
        "0.56": "product of the largest couplings (parameter)",
        "0.4": "short-glitch rate per s (parameter)",
        "2.4": "long-glitch amplitude index (parameter)",
        "1.7": "short-glitch amplitude index (parameter)",
        "0.9": "tail time constant in s / label-smoothing target (parameters)",
        "0.90": "tail weight (parameter)",
        "0.06": "tail weight (parameter)",
        "0.03": "tail weight (parameter)",
        "0.01": "tail weight / KS p-value criterion (parameters)",
        "1.5": "output scale over the largest training value / exercise flux (parameters)",
        "5%": "share of local extremes in the peak loss (parameter)",
        "0.99": "weight-averaging decay of the book profile (parameter)",
        "1.25": "upper end of the PSD-ratio band (criterion)",
        "10%": "Wasserstein criterion relative to the spread (criterion)",
        "0.1": "correlation-matrix criterion (criterion)",
    },
}

ROLE = re.compile(r"\{[a-z:]+\}`[^`]*`")
CODE = re.compile(r"`[^`]*`")
MATH = re.compile(r"\$[^$]*\$")
NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?\s?%|\d+(?:\.\d+)?x(?!\w)|\d+\.\d+)")


def prose_numbers(source) -> list[str]:
    """The measured-looking numbers of a notebook's prose after its introduction."""
    notebook = jupytext.read(source)
    cells = [c.source for c in notebook.cells if c.cell_type == "markdown"]
    first = next((i for i, t in enumerate(cells) if t.lstrip().startswith("## ")), len(cells))
    found = []
    for text in cells[first:]:
        for pattern in (ROLE, CODE, MATH):
            text = pattern.sub(" ", text)
        found += [n.replace(" ", "") for n in NUMBER.findall(text)]
    return found


def test_counter_sees_typed_numbers_and_ignores_glue(tmp_path):
    src = tmp_path / "nb.py"
    src.write_text('# %% [markdown]\n# # Title 0.5\n\n# %% [markdown]\n# ## Part\n'
                   "# TPR 96.5 % at FPR {glue:text}`fpr:.3f` %, 1.7x faster, `code 2.5`,\n"
                   "# $x = 3.1$ and 12 fibres.\n")
    assert prose_numbers(src) == ["96.5%", "1.7x"]


@pytest.mark.parametrize("source", book.notebook_sources(), ids=lambda p: p.stem)
def test_prose_numbers_come_from_the_run(source):
    declared = DECLARED.get(source.stem, {})
    numbers = prose_numbers(source)
    undeclared = [n for n in numbers if n not in declared and n.rstrip("%x") not in declared]
    assert len(undeclared) <= MAX_UNDECLARED, (
        f"{source.name}: {len(undeclared)} hand-typed measured-looking numbers in the prose "
        f"{undeclared[:20]}; glue them ({{glue:text}}`key:.2f`) or declare parameters here")
