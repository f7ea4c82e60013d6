"""The /reports stats chart library is loaded on the first chart, never at start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def test_start_up_does_not_import_the_plotting_library() -> None:
    # Its import and font set-up cost start-up time and idle memory (bench/startup.py,
    # bench/memory.py); the first /reports stats pays it instead.
    code = (
        "import sys, bot.cli, bot.runtime, bot.web.ops, cogs.review, cogs.report\n"
        "import bot.services.review.queries, bot.services.review.chart as chart\n"
        "assert 'matplotlib' not in sys.modules, 'imported at start-up'\n"
        "png = chart.render_png(chart.DailySeries(('2026-01-01',), {'Cheating': (2,)},"
        " 't', 's'))\n"
        "assert png.startswith(bytes([0x89]) + b'PNG') and 'matplotlib' in sys.modules\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot keeps global state'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
