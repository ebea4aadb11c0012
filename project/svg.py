"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, nothing for the
Content-Security-Policy to allow (presentation attributes only, no <style> or <script>).

Each chart is an image to assistive technology (role="img", labelled by its <title> and <desc>),
and every bar carries its own <title>, which browsers show as a tooltip. Text is escaped by
format_html; its colour follows the page's (currentColor), so the admin's dark theme works.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 720
PRIMARY = "#417690"  # the admin's blue
DANGER = "#ba2121"  # the admin's error red
LIGHT = "#79aec8"
GRID = "#999999"
FONT = 'font-family="sans-serif" font-size="11" fill="currentColor"'


@dataclass(frozen=True)
class Column:
    value: float | None  # None: nothing to show (a gap, not a zero)
    tooltip: str
    tick: str = ""  # a label under the axis; most columns have none


@dataclass(frozen=True)
class Series:
    name: str
    color: str


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 x 10^k at or above `value` (1 for nothing): a readable axis top."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _svg(chart_id: str, title: str, description: str, height: int, body: SafeString) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%"'
        ' style="max-width: {w}px" role="img" aria-labelledby="{id}-title {id}-desc">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>{body}</svg>',
        w=WIDTH,
        h=height,
        id=chart_id,
        title=title,
        desc=description,
        body=body,
    )


def _join(parts: list[SafeString]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _n(value: float) -> str:
    """A coordinate (format_html escapes its arguments into strings, so numbers are formatted
    first)."""
    return f"{value:.1f}"


def _text(x: float, y: float, text: str, anchor: str = "start") -> SafeString:
    return format_html(
        '<text x="{}" y="{}" text-anchor="{}" ' + FONT + ">{}</text>", _n(x), _n(y), anchor, text
    )


def _gridline(x1: float, y1: float, x2: float, y2: float) -> SafeString:
    return format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="0.5"/>',
        _n(x1),
        _n(y1),
        _n(x2),
        _n(y2),
        GRID,
    )


def _rect(x: float, y: float, width: float, height: float, color: str, tooltip: str) -> SafeString:
    return format_html(
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}</title></rect>',
        _n(x),
        _n(y),
        _n(width),
        _n(height),
        color,
        tooltip,
    )


def column_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    columns: Sequence[Column],
    value_format: Callable[[float], str],
    y_max: float | None = None,
    color: str = PRIMARY,
) -> SafeString:
    """Vertical bars over a time axis, with gridlines at 0, half and the top (`y_max`, else the
    nice ceiling of the largest value)."""
    height, left, right, top, bottom = 200, 56, 8, 10, 22
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    y_max = y_max or nice_ceiling(max((c.value or 0 for c in columns), default=0))
    step = plot_w / max(len(columns), 1)
    parts = []
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(_gridline(left, y, WIDTH - right, y))
        parts.append(_text(left - 4, y + 4, value_format(y_max * fraction), "end"))
    for i, column in enumerate(columns):
        x = left + i * step
        if column.tick:
            parts.append(_gridline(x, top + plot_h, x, top + plot_h + 4))
            parts.append(_text(x, height - 6, column.tick, "middle"))
        if column.value is not None:
            bar = plot_h * min(column.value / y_max, 1)
            parts.append(
                _rect(x + step * 0.1, top + plot_h - bar, step * 0.8, bar, color, column.tooltip)
            )
    return _svg(chart_id, title, description, height, _join(parts))


def bar_chart(
    *,
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    series: Sequence[Series],
    value_format: Callable[[float], str],
) -> SafeString:
    """Horizontal bars, one group per row (a label and one value per series), with a legend."""
    left, right, top, bar_h, gap = 230, 16, 26, 9, 8
    group_h = bar_h * len(series) + gap
    height = top + group_h * max(len(rows), 1) + 22
    plot_w = WIDTH - left - right
    x_max = nice_ceiling(max((v for _, values in rows for v in values), default=0))
    legend = format_html_join(
        "",
        '<rect x="{}" y="6" width="10" height="10" fill="{}"/>'
        '<text x="{}" y="15" ' + FONT + ">{}</text>",
        ((left + 90 * i, s.color, left + 90 * i + 14, s.name) for i, s in enumerate(series)),
    )
    parts = [legend]
    axis_y = top + group_h * max(len(rows), 1)
    if not rows:
        parts.append(_text(left + 8, top + group_h / 2 + 4, "Nothing to show."))
    for fraction in (0, 0.5, 1):
        x = left + plot_w * fraction
        parts.append(_gridline(x, top, x, axis_y))
        parts.append(_text(x, axis_y + 14, value_format(x_max * fraction), "middle"))
    for i, (label, values) in enumerate(rows):
        y = top + i * group_h + gap / 2
        shown = label if len(label) <= 36 else "…" + label[-35:]
        parts.append(_text(left - 6, y + bar_h * len(series) / 2 + 4, shown, "end"))
        for j, (one, value) in enumerate(zip(series, values, strict=True)):
            tooltip = f"{label}: {one.name} {value_format(value)}"
            width = plot_w * min(value / x_max, 1)
            parts.append(_rect(left, y + j * bar_h, width, bar_h - 1, one.color, tooltip))
    return _svg(chart_id, title, description, height, _join(parts))
