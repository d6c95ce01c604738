"""Smoke tests of the plotting helpers (Agg backend): they draw and return Axes/Figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cosmicbook.core.plotting import (  # noqa: E402
    STYLE,
    imshow_zscale,
    outline_mask,
    set_style,
    stamp_grid,
)
from cosmicbook.darks import (  # noqa: E402
    DarkCamera,
    evaluate_extraction,
    extract_cosmics,
    fit_rate,
)
from cosmicbook.darks.plotting import (  # noqa: E402
    plot_completeness,
    plot_extraction_stamps,
    plot_histogram,
    plot_rate_fit,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def extracted():
    dark = DarkCamera(shape=(512, 512), detector_seed=1, rate=6.0).expose(1200.0, seed=3)
    labels, table = extract_cosmics(dark, mask=dark.hot_mask)
    return dark, labels, table


def test_set_style():
    params = set_style({"font.size": 11})
    assert params["font.size"] == 11 and matplotlib.rcParams["font.size"] == 11
    assert matplotlib.rcParams["image.origin"] == STYLE["image.origin"]
    set_style()
    assert matplotlib.rcParams["font.size"] == STYLE["font.size"]


def test_imshow_zscale():
    image = np.random.default_rng(0).normal(size=(50, 60))
    image[10, 10] = 1e5
    ax = imshow_zscale(image, colorbar=True, label="ADU")
    assert isinstance(ax, Axes)
    vmin, vmax = ax.images[0].get_clim()
    assert vmax < 100  # the zscale interval ignores the outlier
    _, ax2 = plt.subplots()
    assert imshow_zscale(image, ax=ax2) is ax2
    with pytest.raises(ValueError, match="2-D"):
        imshow_zscale(np.zeros(5))


def test_outline_mask_follows_pixel_edges():
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    ax = outline_mask(mask)
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    segs = np.array(lines.get_segments())
    assert len(segs) == 4
    assert segs[..., 0].min() == 1.5 and segs[..., 0].max() == 2.5
    mask[2, 3] = True
    ax = outline_mask(mask, origin=(10, 20))
    segs = np.array(ax.collections[0].get_segments())
    assert len(segs) == 6
    assert segs[..., 0].min() == 11.5 and segs[..., 1].max() == 22.5


def test_stamp_grid():
    stamps = [np.random.default_rng(i).random((8 + i, 10)) for i in range(5)]
    masks = [s > 0.5 for s in stamps]
    fig = stamp_grid(stamps, masks, ncols=3, titles=[f"s{i}" for i in range(5)])
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    assert fig.axes[0].get_title() == "s0" and not fig.axes[5].axison
    fig = stamp_grid(stamps[:1], stretch="linear", colorbar=True)
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="stretch"):
        stamp_grid(stamps, stretch="cubic")
    with pytest.raises(ValueError, match="masks"):
        stamp_grid(stamps, masks[:2])


def test_plot_histogram(extracted):
    dark, _, _ = extracted
    ax = plot_histogram(dark)
    assert isinstance(ax, Axes) and ax.get_yscale() == "log"
    labels = ax.get_legend_handles_labels()[1]
    assert "cosmic pixels (truth)" in labels and "threshold 400" in labels
    _, ax2 = plt.subplots()
    assert plot_histogram(dark.data, threshold=500, seed=300, ax=ax2) is ax2
    assert "cosmic pixels (truth)" not in ax2.get_legend_handles_labels()[1]
    ax3 = plot_histogram(dark.data, mask=dark.hot_mask)
    assert "masked (hot) pixels" in ax3.get_legend_handles_labels()[1]
    with pytest.raises(ValueError, match="mask"):
        plot_histogram(dark.data, mask=np.zeros((3, 3), bool))


def test_plot_extraction_stamps(extracted):
    dark, labels, table = extracted
    fig = plot_extraction_stamps(dark, labels, table, n=6, ncols=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    fig = plot_extraction_stamps(dark.data, labels, table, n=4, order="length",
                                 seed_level=300.0)
    assert isinstance(fig, Figure)
    with pytest.raises(ValueError, match="order"):
        plot_extraction_stamps(dark, labels, table, order="size")


def test_plot_completeness(extracted):
    dark, labels, _ = extracted
    score = evaluate_extraction(labels, dark)
    ax = plot_completeness(score, by_kind=True)
    assert isinstance(ax, Axes) and ax.get_xscale() == "log"
    _, ax2 = plt.subplots()
    assert plot_completeness(score, bins=np.geomspace(10, 1e5, 9), ax=ax2) is ax2
    ax3 = plot_completeness(score, label="method")
    assert plot_completeness(score, label="again", ax=ax3) is ax3
    labels = ax3.get_legend_handles_labels()[1]
    assert labels.count("threshold 400") == 1 and "method" in labels and "again" in labels


def test_plot_rate_fit():
    t = np.array([60.0, 300.0, 600.0, 900.0, 1200.0])
    c = np.random.default_rng(1).poisson(1.4 * t)
    fit = fit_rate(t, c)
    ax = plot_rate_fit(t, c, fit)
    assert isinstance(ax, Axes) and len(ax.lines) >= 1
