"""Every attack runs against a Warden configured by its test alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report_rig import clean_env


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env(monkeypatch, tmp_path)
