"""Two small chart kinds as inline SVG text: grouped bars and overlaid histograms.

Why our own: the report must render offline, from one self-contained file
(no CDN, no script), and it needs only two chart kinds; a plotting library
would be a heavy dependency for about a hundred lines of SVG.

>>> svg = grouped_bars("Rates", ["approve", "reject"], {"current": [0.5, 0.1], "new": [0.4, 0.2]}, percent=True)
>>> svg.startswith("<svg") and svg.count("<rect class=\\"bar") == 4 and "50.0%" in svg
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["grouped_bars", "histogram", "COLOURS"]

#: One colour per series (current, new), readable for the common colour-vision deficiencies.
COLOURS = ("#4477aa", "#ee7733", "#228833", "#aa3377")
_W, _H = 460, 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 48, 12, 28, 44


def _label(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.1f}%"
    return f"{value:.4g}" if isinstance(value, float) and not value.is_integer() else f"{int(value)}"


def _frame(title: str, top: float, percent: bool, legend: Sequence[str]) -> list[str]:
    plot_h = _H - _TOP - _BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
        f'aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{_LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(5):  # four grid lines and the axis
        value = top * i / 4
        y = _TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{_LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{_label(value, percent)}</text>'
        )
    for i, name in enumerate(legend):  # under the axis labels, so a long title never runs into it
        x = _LEFT + 110 * i
        parts.append(f'<rect x="{x}" y="{_H - 16}" width="10" height="10" fill="{COLOURS[i % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{_H - 7}">{escape(name)}</text>')
    return parts


def _top(values: Sequence[float], percent: bool) -> float:
    """A round axis maximum above the largest value, so the four grid lines fall on round numbers.

    >>> _top([17], False), _top([0.499], True), _top([0.33], False), _top([], False)
    (20.0, 0.8, 0.4, 1.0)
    """
    peak = max([v for v in values if v is not None] or [0.0]) * 1.1
    if peak <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(peak))
    top = next(m * scale for m in (1, 2, 4, 5, 8, 10) if m * scale >= peak)
    return min(1.0, top) if percent else top


def grouped_bars(
    title: str, categories: Sequence[str], series: Mapping[str, Sequence[float | None]], *, percent: bool = False
) -> str:
    """Bars per category, one per series, each labelled with its value (None: no bar)."""
    names = list(series)
    top = _top([v for vals in series.values() for v in vals if v is not None], percent)
    parts = _frame(title, top, percent, names)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    slot = plot_w / max(1, len(categories))
    bar = slot * 0.8 / max(1, len(names))
    for c, category in enumerate(categories):
        x0 = _LEFT + c * slot + slot * 0.1
        for s, name in enumerate(names):
            value = series[name][c]
            if value is None:
                continue
            h = plot_h * value / top
            x, y = x0 + s * bar, _TOP + plot_h - h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[s % len(COLOURS)]}"><title>{escape(name)}: {_label(value, percent)}</title></rect>'
            )
            parts.append(
                f'<text x="{x + bar / 2 - 1:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="9">'
                f"{_label(value, percent)}</text>"
            )
        parts.append(
            f'<text x="{x0 + slot * 0.4:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle">{escape(category)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def histogram(
    title: str, series: Mapping[str, Sequence[float]], *, bins: int = 20, lo: float = 0.0, hi: float = 1.0
) -> str:
    """Overlaid step outlines of each series' share of values per bin on ``[lo, hi]``.

    >>> "polyline" in histogram("PD", {"current": [0.1, 0.2, 0.2]}, bins=4)
    True
    """
    shares: dict[str, list[float]] = {}
    for name, values in series.items():
        counts = [0] * bins
        for v in values:
            counts[min(bins - 1, max(0, int((v - lo) / (hi - lo) * bins)))] += 1
        total = max(1, len(values))
        shares[name] = [c / total for c in counts]
    top = _top([v for vals in shares.values() for v in vals], True)
    parts = _frame(title, top, True, list(series))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    step = plot_w / bins
    for s, (name, values) in enumerate(shares.items()):
        points = [f"{_LEFT:.1f},{_TOP + plot_h:.1f}"]
        for b, share in enumerate(values):
            y = _TOP + plot_h - plot_h * share / top
            points += [f"{_LEFT + b * step:.1f},{y:.1f}", f"{_LEFT + (b + 1) * step:.1f},{y:.1f}"]
        points.append(f"{_LEFT + plot_w:.1f},{_TOP + plot_h:.1f}")
        dash = ' stroke-dasharray="6 4"' if s else ""  # identical distributions stay visible as two lines
        parts.append(
            f'<polyline fill="none" stroke-width="2"{dash} stroke="{COLOURS[s % len(COLOURS)]}" '
            f'points="{" ".join(points)}">'
            f"<title>{escape(name)}</title></polyline>"
        )
    for i in range(0, bins + 1, max(1, bins // 5)):
        x = _LEFT + i * step
        parts.append(
            f'<text x="{x:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle">{lo + (hi - lo) * i / bins:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
