"""The scorecard's trend charts as server-rendered SVG: no JavaScript, no library.

One point per period: a filled dot where the period has a figure, a hollow dot on the baseline
where it has none (no incident that week), joined by a line where consecutive periods have
figures. The SVG names itself (`<title>`, `<desc>`, `role="img"`) and each dot carries its
period and figure in its own `<title>`; the page shows the same figures in a table beside it.
Colours are presentation attributes the dashboard's stylesheet overrides (dark mode included).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Drawn about as wide as it is shown (half a desktop page, a phone's width), so the 12-unit
# text reads at about 12 px.
WIDTH, HEIGHT = 440, 230
LEFT, RIGHT, TOP, BOTTOM = 50, 26, 14, 36
# Room between the axis labels and the first point.
INSET = 10
MAX_X_LABELS = 5


@dataclass(frozen=True)
class Point:
    label: str  # the period, e.g. "Sep 8"
    value: float | None  # None: nothing to show for the period
    text: str  # the figure in words, e.g. "12 min" or "no incidents"


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times 10^n at or above value (a readable axis maximum)."""
    if value <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def number_text(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    points: Sequence[Point],
    axis_label: Callable[[float], str],
    fixed_max: float | None = None,
) -> SafeString:
    """An accessible SVG line chart of `points` (escaped; safe to put in a template)."""
    values = [p.value for p in points if p.value is not None]
    top_value = fixed_max if fixed_max is not None else _nice_ceiling(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT - INSET, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_h

    def x(index: int) -> float:
        if len(points) == 1:
            return LEFT + INSET + plot_w / 2
        return LEFT + INSET + plot_w * index / (len(points) - 1)

    def y(value: float) -> float:
        return baseline - plot_h * min(value, top_value) / top_value

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sc-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    for fraction in (0, 0.5, 1):
        value = top_value * fraction
        gy = number_text(y(value))
        parts.append(
            f'<line class="sc-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{gy}" y2="{gy}" '
            'stroke="#e5e7eb"/>'
        )
        parts.append(
            f'<text class="sc-axis" x="{LEFT - 4}" y="{gy}" dy="4" text-anchor="end" '
            f'font-size="12" fill="#4b5563">{escape(axis_label(value))}</text>'
        )
    every = max(1, math.ceil(len(points) / MAX_X_LABELS))
    for index, point in enumerate(points):
        if index % every == 0:
            parts.append(
                f'<text class="sc-axis" x="{number_text(x(index))}" y="{HEIGHT - 12}" '
                f'text-anchor="middle" font-size="12" fill="#4b5563">{escape(point.label)}</text>'
            )
    # The line, broken where a period has no figure.
    run: list[str] = []
    runs: list[list[str]] = []
    for index, point in enumerate(points):
        if point.value is None:
            runs.append(run)
            run = []
        else:
            run.append(f"{number_text(x(index))},{number_text(y(point.value))}")
    runs.append(run)
    for segment in runs:
        if len(segment) > 1:
            parts.append(
                f'<polyline class="sc-line" points="{" ".join(segment)}" fill="none" '
                'stroke="#2563eb" stroke-width="2"/>'
            )
    for index, point in enumerate(points):
        tip = f"<title>{escape(point.label)}: {escape(point.text)}</title>"
        if point.value is None:
            parts.append(
                f'<circle class="sc-point sc-point-empty" cx="{number_text(x(index))}" '
                f'cy="{number_text(baseline)}" r="3.5" fill="#ffffff" stroke="#4b5563">'
                f"{tip}</circle>"
            )
        else:
            parts.append(
                f'<circle class="sc-point" cx="{number_text(x(index))}" '
                f'cy="{number_text(y(point.value))}" r="4.5" fill="#2563eb">{tip}</circle>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308  # every text above is escaped
