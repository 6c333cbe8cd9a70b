"""Server-rendered SVG bar charts for the course dashboard: no JavaScript, no web fonts from a
CDN, large type for a projector. Every chart carries a <title> and a <desc> sentence (referenced
by aria-labelledby) and the rows of its data table, which the page shows under 「表で見る」."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

FONT = "IPAexGothic, IPAGothic, 'Noto Sans CJK JP', sans-serif"
WIDTH = 960
LABEL_W = 300
ROW_H = 46
BAR_H = 30
TOP = 12
STAGE_COLOURS = ("#b0aca3", "#f0c05a", "#5b9bd5", "#2e7d32", "#1b4f8a")


@dataclass
class Bar:
    label: str
    value: float
    text: str  # the value as read aloud / printed at the bar's end
    colour: str = "#2f6db5"
    segments: list[tuple[str, float, str]] = field(default_factory=list)  # stacked parts


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    svg: str
    headers: list[str]
    rows: list[list[str]]

    @property
    def bars(self) -> int:
        return self.svg.count('class="bar"')


def _short(text: str, limit: int = 13) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _frame(chart_id: str, title: str, desc: str, height: int, body: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{FONT}">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>'
    )
    return head + "".join(body) + "</svg>"


def _label(y: float, label: str) -> str:
    return (
        f'<text x="{LABEL_W - 12}" y="{y + BAR_H * 0.72:.1f}" font-size="24" '
        f'text-anchor="end" fill="#222">{escape(_short(label))}</text>'
    )


def bar_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: list[Bar],
    headers: list[str],
    rows: list[list[str]],
    max_value: float | None = None,
) -> Chart:
    """Horizontal bars, one per item, with the label at the left and the value at the end."""
    top = max_value or max((b.value for b in bars), default=0) or 1
    area = WIDTH - LABEL_W - 120
    body = []
    for index, bar in enumerate(bars):
        y = TOP + index * ROW_H
        width = max(0.0, bar.value) / top * area
        body.append(_label(y, bar.label))
        body.append(
            f'<rect class="bar" x="{LABEL_W}" y="{y}" width="{width:.1f}" height="{BAR_H}" '
            f'fill="{bar.colour}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>'
        )
        body.append(
            f'<text x="{LABEL_W + width + 10:.1f}" y="{y + BAR_H * 0.72:.1f}" font-size="24" '
            f'fill="#222">{escape(bar.text)}</text>'
        )
    height = TOP * 2 + max(1, len(bars)) * ROW_H
    return Chart(chart_id, title, desc, _frame(chart_id, title, desc, height, body), headers, rows)


def stacked_chart(
    chart_id: str,
    title: str,
    desc: str,
    bars: list[Bar],
    headers: list[str],
    rows: list[list[str]],
    legend: list[tuple[str, str]],
) -> Chart:
    """One horizontal bar per item, split into coloured segments (counts), with a legend."""
    area = WIDTH - LABEL_W - 40
    body = []
    for index, (name, colour) in enumerate(legend):
        x = 20 + index * (WIDTH - 40) / max(1, len(legend))
        body.append(f'<rect x="{x:.1f}" y="8" width="22" height="22" fill="{colour}"/>')
        body.append(
            f'<text x="{x + 30:.1f}" y="27" font-size="22" fill="#222">{escape(name)}</text>'
        )
    for index, bar in enumerate(bars):
        y = 50 + index * ROW_H
        total = sum(v for _n, v, _c in bar.segments) or 1
        x = float(LABEL_W)
        body.append(_label(y, bar.label))
        parts = []
        for name, value, colour in bar.segments:
            width = value / total * area
            if value:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR_H}" '
                    f'fill="{colour}"><title>{escape(name)}: {value:g} 人</title></rect>'
                )
            x += width
        body.append(
            f'<g class="bar" aria-label="{escape(bar.label)}: {escape(bar.text)}">'
            + "".join(parts)
            + "</g>"
        )
    height = 50 + max(1, len(bars)) * ROW_H + TOP
    return Chart(chart_id, title, desc, _frame(chart_id, title, desc, height, body), headers, rows)
