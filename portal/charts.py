"""Charts drawn on the server as SVG: no script, no CDN, nothing inline for the CSP to allow
(colours come from site.css classes). Each chart has a title and a text description for
screen readers, and its numbers are in a table beside it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 76, 12, 16, 40


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    text: str  # the value as shown


def _n(number: float) -> str:
    return f"{number:.1f}"


def _nice_top(value: int) -> int:
    """Return a round number at least `value` for the top of the axis (1, 2 or 5 x 10^n)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def column_chart(
    bars: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    axis_text: Callable[[int], str] = str,
    every: int = 1,
    alt: bool = False,
) -> SafeString:
    """Return an SVG column chart of `bars` (one per day, say), labelling every `every`-th."""
    top = _nice_top(max((b.value for b in bars), default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    gap = min(slot * 0.2, 6)
    parts = []
    for tick in range(5):
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            format_html(
                '<line class="grid-line" x1="{}" x2="{}" y1="{}" y2="{}"/>',
                LEFT,
                WIDTH - RIGHT,
                _n(y),
                _n(y),
            )
        )
        if top * tick % 4 == 0:  # label only the ticks that fall on a whole unit
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="end">{}</text>',
                    LEFT - 6,
                    _n(y + 4),
                    axis_text(top * tick // 4),
                )
            )
    for index, bar in enumerate(bars):
        h = plot_h * bar.value / top
        x = LEFT + index * slot + gap / 2
        parts.append(
            format_html(
                '<rect class="bar{}" x="{}" y="{}" width="{}" height="{}">'
                "<title>{}: {}</title></rect>",
                " alt" if alt else "",
                _n(x),
                _n(TOP + plot_h - h),
                _n(max(slot - gap, 1)),
                _n(h),
                bar.label,
                bar.text,
            )
        )
        # Every `every`-th bar and the last; one too near the last is left out (they would
        # run into each other: "Nov 27Dec 01").
        near_last = 0 < len(bars) - 1 - index < every
        if (index % every == 0 and not near_last) or index == len(bars) - 1:
            last = index == len(bars) - 1 and len(bars) > 1  # kept inside the right edge
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="{}">{}</text>',
                    _n(x + (slot - gap) if last else x + (slot - gap) / 2),
                    HEIGHT - 12,
                    "end" if last else "middle",
                    bar.label,
                )
            )
    parts.append(
        format_html(
            '<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>',
            LEFT,
            WIDTH - RIGHT,
            TOP + plot_h,
            TOP + plot_h,
        )
    )
    total = sum(b.value for b in bars)
    peak = max(bars, key=lambda b: b.value, default=None)
    description = (
        f"{len(bars)} bars; the highest is {peak.label}, {peak.text}."
        if peak is not None and total
        else "No data in this period."
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH,
        HEIGHT,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        description,
        mark_safe("".join(parts)),  # noqa: S308 - every part was built by format_html
    )


@dataclass(frozen=True)
class Share:
    label: str
    value: int
    text: str
    href: str = ""


def share_bars(shares: Sequence[Share], *, title: str, slices: bool = False) -> SafeString:
    """Return a list of labelled horizontal bars, each bar a small SVG scaled to the largest."""
    largest = max((s.value for s in shares), default=0) or 1
    rows = []
    for index, share in enumerate(shares):
        label = (
            format_html('<a href="{}">{}</a>', share.href, share.label)
            if share.href
            else share.label
        )
        rows.append(
            (
                label,
                f"slice-{index % 5}" if slices else "bar",
                round(1000 * share.value / largest),
                share.text,
            )
        )
    items = format_html_join(
        "",
        '<li><span class="share-label">{}</span>'
        '<svg class="share-bar" viewBox="0 0 1000 10" preserveAspectRatio="none"'
        ' aria-hidden="true">'
        '<rect class="{}" x="0" y="0" width="{}" height="10"/></svg>'
        '<span class="share-value">{}</span></li>',
        rows,
    )
    return format_html('<ul class="shares chart" aria-label="{}">{}</ul>', title, items)
