"""The ``/reports stats`` chart: reports per day by reason, as a PNG.

matplotlib is imported on the first chart, not at start-up (its import and font set-up
cost seconds and megabytes a bot that is never asked for a chart should not pay), and
only through its object API: a ``Figure`` on an Agg canvas per call, no pyplot and no
global state, so charts may render in worker threads side by side.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

from bot.i18n import localize, t

WIDTH_INCHES = 8.0
HEIGHT_INCHES = 4.0
DPI = 100
MAX_TICKS = 10


@dataclass(frozen=True)
class DailySeries:
    """Counts per day (``days``, ISO dates, oldest first) for each label, same length."""

    days: tuple[str, ...]
    series: dict[str, tuple[int, ...]]
    title: str
    subtitle: str
    y_label: str = t("reports")
    empty: str = t("no reports")

    def localized(self, locale: object) -> DailySeries:
        """Every word of the chart in ``locale`` (rendered here: the worker thread that
        draws it only sees plain strings)."""
        return replace(
            self, series={localize(k, locale): v for k, v in self.series.items()},
            title=localize(self.title, locale), subtitle=localize(self.subtitle, locale),
            y_label=localize(self.y_label, locale), empty=localize(self.empty, locale),
        )


def render_png(data: DailySeries) -> bytes:
    """The chart as PNG bytes (blocking: run it in a thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(data.days)))
    bottom = [0] * len(data.days)
    for label, counts in data.series.items():
        axes.bar(positions, counts, bottom=bottom, label=label, width=0.8)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    step = max(1, -(-len(data.days) // MAX_TICKS))
    axes.set_xticks(positions[::step], [d[5:] for d in data.days[::step]])
    axes.set_xlim(-0.6, max(len(data.days) - 0.4, 0.4))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(data.y_label)
    axes.set_title(data.title, loc="left")
    figure.suptitle(data.subtitle, x=0.99, ha="right", fontsize="small")
    if data.series:
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small",
                    frameon=False)
    else:
        axes.text(0.5, 0.5, data.empty, transform=axes.transAxes, ha="center")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
