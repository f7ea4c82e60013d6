"""Every attack runs against a Warden configured by its test alone."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_env: None) -> None:
    """Applies ``isolated_env`` to every test in this folder."""
