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


def test_chart_words_are_in_the_server_language_or_english_never_missing_glyphs() -> None:
    # A Japanese chart on a host without a CJK font would be boxes ("tofu") in place of
    # every word: matplotlib warns for each glyph it cannot draw. Such a chart falls back
    # to English; languages the bundled font draws (German, Russian) stay translated.
    code = (
        "import warnings\n"
        "import bot.services.review.chart as chart\n"
        "from bot.i18n import t\n"
        "from bot.services.review.card import reason_label\n"
        "data = chart.DailySeries(('2026-01-01',), {reason_label('cheating'): (2,)},"
        " t('Reports per day by reason'), t('no moderator action yet'))\n"
        "def label(locale):\n"
        "    return list(chart.drawn(data, locale).series)[0]\n"
        "english = label(None)\n"
        "assert label('de') != english and label('ru') != english, label('de')\n"
        "cjk = any(name != 'DejaVu Sans' for name, _ in chart._families())\n"
        "assert (label('ja') != english) == cjk, label('ja')\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('error')\n"
        "    for locale in ('de', 'ru', 'ja', 'ko', 'zh-CN', 'zh-TW'):\n"
        "        chart.render_png(data, locale)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
