"""Bar charts drawn as SVG by the server: the shapes are computed here, the template writes
them out. No script, no outside asset; each bar carries its own title, so the numbers are there
for a screen reader and a mouse alike."""

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 720
HEIGHT = 200
# Room below the bars for the axis labels, and above the tallest one.
BOTTOM = 24
TOP = 8
GAP = 2


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    label: str  # shown under the bar, or empty


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - BOTTOM


def bar_chart(points: Sequence[tuple[str, int, str]], label_every: int) -> BarChart:
    """Bars for ``points`` (label, value, title), every ``label_every``-th one labelled."""
    peak = max((value for _, value, _ in points), default=0)
    span = HEIGHT - BOTTOM - TOP
    slot = WIDTH / max(len(points), 1)
    bars = []
    for index, (label, value, title) in enumerate(points):
        height = span * value / peak if peak else 0.0
        bars.append(
            Bar(
                x=round(index * slot + GAP / 2, 2),
                y=round(HEIGHT - BOTTOM - height, 2),
                width=round(max(slot - GAP, 1.0), 2),
                height=round(height, 2),
                title=title,
                label=label if index % label_every == 0 else "",
            )
        )
    return BarChart(bars, peak)
