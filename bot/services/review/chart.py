"""The ``/reports stats`` chart: reports per day by reason, as a PNG.

matplotlib is imported on the first chart, not at start-up (its import and font set-up
cost seconds and megabytes a bot that is never asked for a chart should not pay), and
only through its object API: a ``Figure`` on an Agg canvas per call, no pyplot and no
global state, so charts may render in worker threads side by side.
"""

from __future__ import annotations

import functools
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
        """Every word of the chart in ``locale`` (None: English), as plain strings."""
        return replace(
            self, series={localize(k, locale): v for k, v in self.series.items()},
            title=localize(self.title, locale), subtitle=localize(self.subtitle, locale),
            y_label=localize(self.y_label, locale), empty=localize(self.empty, locale),
        )


# Fonts that cover Japanese, Korean and Chinese, tried after matplotlib's own DejaVu Sans
# (which covers the Latin and Cyrillic languages). None ships with matplotlib: a host that
# has one (Debian: fonts-noto-cjk) gets charts in those languages, others in English.
CJK_FAMILIES = ("Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC", "Noto Sans CJK KR",
                "Source Han Sans", "WenQuanYi Zen Hei", "Droid Sans Fallback", "IPAexGothic",
                "NanumGothic")


def render_png(data: DailySeries, locale: object = None) -> bytes:
    """The chart as PNG bytes, its words in ``locale`` when the installed fonts can draw
    them, else in English (blocking: run it in a thread)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    data = drawn(data, locale)
    font = FontProperties(family=[name for name, _ in _families()])
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
    axes.set_ylabel(data.y_label, fontproperties=font)
    axes.set_title(data.title, loc="left", fontproperties=font)
    figure.suptitle(data.subtitle, x=0.99, ha="right", fontproperties=font, fontsize="small")
    if data.series:
        small = font.copy()
        small.set_size("small")
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), prop=small, frameon=False)
    else:
        axes.text(0.5, 0.5, data.empty, transform=axes.transAxes, ha="center",
                  fontproperties=font)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@functools.cache
def _families() -> tuple[tuple[str, frozenset[int]], ...]:
    """Each usable font family with the code points it draws (read once per process)."""
    from matplotlib.font_manager import fontManager
    from matplotlib.ft2font import FT2Font

    found: dict[str, str] = {}
    for entry in fontManager.ttflist:
        if entry.name in ("DejaVu Sans", *CJK_FAMILIES) and entry.name not in found:
            found[entry.name] = entry.fname
    families = []
    for name in ("DejaVu Sans", *CJK_FAMILIES):
        if name in found:
            families.append((name, frozenset(FT2Font(found[name]).get_charmap())))
    return tuple(families)


def drawn(data: DailySeries, locale: object) -> DailySeries:
    """``data`` in ``locale`` if the installed fonts draw every character, else English
    (boxes in place of every word would tell a moderator nothing)."""
    shown = data.localized(locale)
    words = [shown.title, shown.subtitle, shown.y_label, shown.empty, *shown.series]
    fonts = _families()
    if all(ch.isspace() or any(ord(ch) in points for _, points in fonts)
           for word in words for ch in word):
        return shown
    return data.localized(None)
