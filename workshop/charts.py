"""Small server-rendered SVG charts: no JavaScript library, nothing fetched from the internet."""

import math

from markupsafe import Markup, escape

# Sized for a tablet: the SVG is drawn about 720 px wide, so 16-unit text reads at body size.
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 720, 320, 76, 92, 36, 58
TEXT = 16


def _scale(lo, hi, a, b):
    span = (hi - lo) or 1.0
    return lambda v: a + (v - lo) * (b - a) / span


def _nice_range(values, low=None, high=None):
    vs = [v for v in values if v is not None]
    for extra in (low, high):
        if extra is not None:
            vs.append(extra)
    if not vs:
        return 0.0, 1.0
    lo, hi = min(vs), max(vs)
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def _ticks(lo, hi, count=5):
    """Round tick values (steps of 1, 2 or 5 times a power of ten) between ``lo`` and ``hi``."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def _frame(lo, hi, x_label, y_label):
    y = _scale(lo, hi, H - PAD_B, PAD_T)
    parts = [
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{W - PAD_L - PAD_R}" '
        f'height="{H - PAD_T - PAD_B}" fill="#fafbfc" stroke="#d5dbe1"/>'
    ]
    for v in _ticks(lo, hi):
        parts.append(
            f'<text x="{PAD_L - 8}" y="{y(v) + 5:.1f}" text-anchor="end" '
            f'font-size="{TEXT}" fill="#34495e">{v:.3g}</text>'
        )
    parts.append(
        f'<text x="{(W + PAD_L - PAD_R) / 2}" y="{H - 8}" text-anchor="middle" '
        f'font-size="{TEXT}" fill="#1c2833">{escape(x_label)}</text>'
    )
    parts.append(
        f'<text x="{PAD_L}" y="{PAD_T - 12}" font-size="{TEXT}" fill="#1c2833">'
        f"{escape(y_label)}</text>"
    )
    return parts, y


def _limit_lines(parts, y, low, high, unit=""):
    """Dashed lines at the limits, each labelled with its value and unit at the right edge."""
    for limit in (low, high):
        if limit is not None:
            parts.append(
                f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(limit):.1f}" '
                f'y2="{y(limit):.1f}" stroke="#b03a2e" stroke-width="2" stroke-dasharray="8 5"/>'
            )
            text = f"{limit:g} {unit}".strip()
            parts.append(
                f'<text x="{W - PAD_R + 6}" y="{y(limit) + 5:.1f}" font-size="{TEXT}" '
                f'fill="#b03a2e">{escape(text)}</text>'
            )


def line_chart(points, *, x_label="", y_label="", low=None, high=None, title="", unit="") -> Markup:
    """A line chart of (x, y) points with optional dashed limit lines (in ``unit``)."""
    pts = [(float(x), float(v)) for x, v in points if isinstance(v, int | float)]
    lo, hi = _nice_range([v for _, v in pts], low, high)
    parts, y = _frame(lo, hi, x_label, y_label)
    if pts:
        x0, x1 = min(p[0] for p in pts), max(p[0] for p in pts)
        x = _scale(x0, x1 if x1 > x0 else x0 + 1, PAD_L, W - PAD_R)
        path = " ".join(f"{x(px):.1f},{y(py):.1f}" for px, py in pts)
        parts.append(f'<polyline fill="none" stroke="#0b6e4f" stroke-width="2.5" points="{path}"/>')
        for v in _ticks(x0, x1):
            parts.append(
                f'<text x="{x(v):.1f}" y="{H - PAD_B + 20}" text-anchor="middle" '
                f'font-size="{TEXT}" fill="#34495e">{v:.3g}</text>'
            )
    _limit_lines(parts, y, low, high, unit)
    return _svg(parts, title)


def bar_chart(
    values, *, x_label="", y_label="", low=None, high=None, title="", labels=None, unit=""
) -> Markup:
    """Bars for a list of values (e.g. one per cell); bars outside the limits are red."""
    lo, hi = _nice_range(values, low, high)
    if lo > 0 and all(v is None or v >= 0 for v in values) and low is None:
        lo = 0.0
    parts, y = _frame(lo, hi, x_label, y_label)
    n = max(len(values), 1)
    width = (W - PAD_L - PAD_R) / n
    for i, v in enumerate(values):
        if v is None:
            continue
        bad = (low is not None and v < low) or (high is not None and v > high)
        top, base = y(max(v, lo)), y(lo)
        parts.append(
            f'<rect x="{PAD_L + i * width + width * 0.1:.1f}" y="{min(top, base):.1f}" '
            f'width="{max(width * 0.8, 1):.1f}" height="{abs(base - top):.1f}" '
            f'fill="{"#b03a2e" if bad else "#0b6e4f"}"><title>'
            f"{escape(labels[i] if labels else i + 1)}: {v:g}</title></rect>"
        )
    # Numbers under the bars: every one when they fit, else every k-th (1, k+1, ... and the last).
    step = max(1, -(-n // 12))
    for i in range(n):
        if i % step and i != n - 1:
            continue
        text = labels[i] if labels else str(i + 1)
        parts.append(
            f'<text x="{PAD_L + (i + 0.5) * width:.1f}" y="{H - PAD_B + 20}" '
            f'text-anchor="middle" font-size="{TEXT}" fill="#34495e">{escape(text)}</text>'
        )
    _limit_lines(parts, y, low, high, unit)
    return _svg(parts, title)


def _svg(parts, title):
    head = (
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" xmlns="http://www.w3.org/2000/svg"'
        f' aria-label="{escape(title)}">'
    )
    return Markup(
        head + (f"<title>{escape(title)}</title>" if title else "") + "".join(parts) + "</svg>"
    )
