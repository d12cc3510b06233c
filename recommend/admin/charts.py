"""Small server-rendered SVG charts for the admin reports (no script, no CDN)."""

import textwrap
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2a6f97", "#e07a5f", "#81b29a", "#f2cc8f")
_FONT = "font-family:system-ui,sans-serif;font-size:12px"
# What fits the bar chart's label column at 12px before a label wraps.
_LABEL_CHARACTERS = 26


@dataclass
class Series:
    name: str
    values: list[float | None]  # one per label; None draws nothing


def _number(value: float, percent: bool) -> str:
    return f"{value * 100:.1f}%" if percent else f"{value:.3g}"


def _legend(series: list[Series], y: float) -> list[str]:
    parts, x = [], 0.0
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{x:.0f}" y="{y:.0f}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{x + 14:.0f}" y="{y + 9:.0f}" style="{_FONT}">'
            f"{escape(one.name)}</text>"
        )
        x += 24 + 7 * len(one.name)
    return parts


def bar_chart(
    *,
    title: str,
    labels: list[str],
    series: list[Series],
    percent: bool = False,
    width: int = 640,
) -> SafeString:
    """Horizontal grouped bars: one group per label, one bar per series.

    Labels are never cut: a long one wraps onto more lines (its group grows),
    and its full text is also the group's tooltip.
    """
    label_width, bar_height, gap, line_height = 190, 14, 10, 14
    wrapped = [textwrap.wrap(label, _LABEL_CHARACTERS) or [""] for label in labels]
    group_heights = [
        max(bar_height * len(series), line_height * len(lines)) + gap
        for lines in wrapped
    ]
    plot_width = width - label_width - 60
    values = [v for one in series for v in one.values if v is not None]
    peak = max(values) if values and max(values) > 0 else 1.0
    height = 24 + sum(group_heights) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    top = 20
    for row, label in enumerate(labels):
        if row:
            top += group_heights[row - 1]
        lines = "".join(
            f'<tspan x="0" dy="{0 if number == 0 else line_height}">'
            f"{escape(line)}</tspan>"
            for number, line in enumerate(wrapped[row])
        )
        parts.append(
            f'<g data-label="{escape(label)}"><title>{escape(label)}</title>'
            f'<text x="0" y="{top + bar_height - 2:.0f}" style="{_FONT}">{lines}</text>'
        )
        for index, one in enumerate(series):
            value = one.values[row]
            if value is None:
                continue
            length = max(plot_width * value / peak, 1.0)
            y = top + index * bar_height
            text_x, text_y = label_width + length + 4, y + bar_height - 3
            parts.append(
                f'<rect x="{label_width}" y="{y:.0f}" width="{length:.1f}" '
                f'height="{bar_height - 2}" fill="{PALETTE[index % len(PALETTE)]}">'
                f"<title>{escape(one.name)}: {_number(value, percent)}</title></rect>"
                f'<text x="{text_x:.1f}" y="{text_y:.0f}" '
                f'style="{_FONT}">{_number(value, percent)}</text>'
            )
        parts.append("</g>")
    parts.extend(_legend(series, height - 14))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped


def line_chart(
    *,
    title: str,
    labels: list[str],
    series: list[Series],
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """Lines over ordered labels (e.g. model versions), y from 0 to the peak."""
    left, right, top, bottom = 48, 16, 16, 44
    plot_width, plot_height = width - left - right, height - top - bottom
    values = [v for one in series for v in one.values if v is not None]
    peak = max(values) if values and max(values) > 0 else 1.0
    peak *= 1.1
    step = plot_width / max(len(labels) - 1, 1)

    def x_of(index: int) -> float:
        return left + index * step if len(labels) > 1 else left + plot_width / 2

    def y_of(value: float) -> float:
        return top + plot_height * (1 - value / peak)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_height}" x2="{left + plot_width}" '
        f'y2="{top + plot_height}" stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_height}" '
        f'stroke="#999"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        value = peak * fraction / 1.1 if fraction else 0.0
        parts.append(
            f'<text x="{left - 6}" y="{y_of(value) + 4:.0f}" text-anchor="end" '
            f'style="{_FONT}">{value:.3f}</text>'
        )
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{x_of(index):.1f}" y="{top + plot_height + 16}" '
            f'text-anchor="middle" style="{_FONT}">{escape(label)}</text>'
        )
    for index, one in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        points = [(x_of(i), y_of(v)) for i, v in enumerate(one.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" '
                'stroke-width="2"/>'
            )
        for (x, y), value in zip(
            points, [v for v in one.values if v is not None], strict=True
        ):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}" '
                f'data-series="{escape(one.name)}">'
                f"<title>{escape(one.name)}: {value:.4f}</title></circle>"
            )
    parts.extend(_legend(series, height - 14))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
