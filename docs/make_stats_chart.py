"""Regenerate docs/stats-chart.png, the README's example of the ``/reports stats`` chart,
with Warden's own renderer and made-up numbers:  .venv/bin/python docs/make_stats_chart.py
"""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.services.review.chart import DailySeries, render_png  # noqa: E402


def example() -> DailySeries:
    rng = random.Random(13)
    first = date(2026, 11, 5)
    days = tuple((first + timedelta(days=i)).isoformat() for i in range(30))
    weights = {"Cheating": 4.0, "Harassment": 2.0, "Griefing": 1.5, "AFK": 1.0, "Spam": 0.6}
    series = {
        label: tuple(max(0, round(rng.gauss(w, w / 2) + (w if i % 7 in (5, 6) else 0)))
                     for i in range(len(days)))
        for label, w in weights.items()
    }
    return DailySeries(days, series, title=f"Reports per day by reason, {days[0]} to "
                                           f"{days[-1]} (UTC)",
                       subtitle="median time to first moderator action: 47 min · generated "
                                "2026-12-04 12:00 UTC")


if __name__ == "__main__":
    out = ROOT / "docs" / "stats-chart.png"
    out.write_bytes(render_png(example()))
    print(f"wrote {out.relative_to(ROOT)}")
