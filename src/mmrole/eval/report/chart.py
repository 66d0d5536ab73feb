"""The radar chart of the eight MMRole-Eval metrics, one polygon per run (MMRole's Figure 3).

Drawn with matplotlib's object API on the Agg/SVG canvases (never pyplot, so no GUI
backend and no global figure state); matplotlib is imported only when a chart is drawn.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrole import files
from mmrole.eval.report.data import Results
from mmrole.schema import METRICS

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Polygon colours, in run order: matplotlib's tab10, then darker tab20b shades (drawn dashed) for
#: runs 11-20, so MMRole's 11 published MRPAs stay apart. The HTML and the screenshot test use them too.
RUN_COLORS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#5254a3",
    "#8ca252",
    "#bd9e39",
    "#ad494a",
    "#a55194",
)
_LINE_STYLES = ("-", "--", ":")


def run_color(index: int) -> str:
    """The colour of the run at ``index`` (colours repeat after twenty runs)."""
    return RUN_COLORS[index % len(RUN_COLORS)]


def _line_style(index: int) -> str:
    return _LINE_STYLES[(index // 10) % len(_LINE_STYLES)]


def _as_results(value: Results | Mapping[str, Any]) -> Results:
    return value if isinstance(value, Results) else Results.model_validate(value)


def _metric_means(results: Results) -> list[float]:
    values = []
    for name in METRICS:
        stat = results.metrics.get(name)
        mean = stat.mean if stat is not None else None
        values.append(mean if mean is not None and math.isfinite(mean) else math.nan)
    return values


def _radial_limits(series: list[list[float]]) -> tuple[float, float]:
    """Radial axis limits: tight around the data (ratios sit near 1.0) but always showing 1.0."""
    # Ratios far off (a hand-edited results.json) are clipped rather than overflowing the rounding.
    values = [min(max(v, -1e6), 1e6) for values in series for v in values if math.isfinite(v)]
    if not values:
        return 0.0, 1.0
    low = max(0.0, math.floor(min(values) * 10) / 10 - 0.1)
    high = max(1.0, math.ceil(max(values) * 10) / 10)
    return low, high + 0.05


def _label(metric: str) -> str:
    return metric.replace(" ", "\n", 1)


def radar_figure(results_by_run: Mapping[str, Results | Mapping[str, Any]]) -> Any:
    """A matplotlib Figure with one closed polygon per run over the eight metrics."""
    from matplotlib.figure import Figure
    from matplotlib.projections.polar import PolarAxes

    names = list(results_by_run)
    series = [_metric_means(_as_results(results_by_run[name])) for name in names]
    angles = [2 * math.pi * i / len(METRICS) for i in range(len(METRICS))]
    closed_angles = [*angles, angles[0]]

    fig = Figure(figsize=(6.4, 6.0), dpi=100)
    ax = fig.add_subplot(projection="polar")
    assert isinstance(ax, PolarAxes)  # what projection="polar" makes; the stubs say Axes
    ax.set_theta_offset(math.pi / 2)  # first metric on top, clockwise like the paper
    ax.set_theta_direction(-1)
    ax.set_xticks(angles)
    ax.set_xticklabels([_label(m) for m in METRICS], fontsize=9)
    ax.tick_params(axis="x", pad=14)
    low, high = _radial_limits(series)
    ax.set_ylim(low, high)
    ax.tick_params(axis="y", labelsize=8, labelcolor="#555555")
    ax.grid(color="#cccccc", linewidth=0.8)
    # Fills fade as runs are added, so many overlapping polygons do not turn the middle grey.
    fill_alpha = min(0.12, 0.3 / max(len(names), 1))
    for index, (name, values) in enumerate(zip(names, series, strict=True)):
        color = run_color(index)
        closed = [*values, values[0]]
        ax.plot(
            closed_angles,
            closed,
            color=color,
            linewidth=2.2,
            linestyle=_line_style(index),
            label=name,
            marker="o",
            markersize=4,
        )
        ax.fill(closed_angles, closed, color=color, alpha=fill_alpha)
    if names:
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.08),
            ncol=min(3, len(names)),
            frameon=False,
            fontsize=9,
        )
    fig.subplots_adjust(left=0.14, right=0.86, top=0.9, bottom=0.14)
    return fig


#: Stable ids, text as paths.
_SAVE_RC: dict[RcKeyType, Any] = {"svg.hashsalt": "mmrole-report", "svg.fonttype": "path"}
_METADATA: dict[str, dict[str, Any]] = {".svg": {"Date": None}, ".pdf": {"CreationDate": None}}


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write a figure; the format follows the suffix. Dates are left out so reruns give the same file."""
    import matplotlib

    path = Path(path)
    buffer = io.BytesIO()
    with matplotlib.rc_context(_SAVE_RC):
        fig.savefig(
            buffer,
            format=path.suffix.lower().lstrip(".") or "png",
            metadata=_METADATA.get(path.suffix.lower()),
            bbox_inches="tight",
            pad_inches=0.15,
        )
    files.write_bytes(path, buffer.getvalue())  # atomically: a crash never leaves half an image
    return path


def figure_svg(fig: Any) -> str:
    """A figure as an ``<svg>`` element to inline into HTML.

    Text is drawn as paths (no font files needed) and the XML prologue and metadata
    are dropped, so the element references nothing outside the page.
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_SAVE_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight", pad_inches=0.15)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)


def render_radar(results_by_run: Mapping[str, Results | Mapping[str, Any]], path: str | Path) -> Path:
    """Draw the radar chart of the eight metrics, one polygon per run, to a file.

    Args:
        results_by_run: Run name -> that run's results (a :class:`Results` or a
            ``results.json`` dict), in legend order.
        path: Where to write; the format follows the suffix (``.png``, ``.svg``, ``.pdf``).

    Returns:
        The path written.
    """
    return save_figure(radar_figure(results_by_run), path)
