"""The suite's PostgreSQL is real and runs under CI's root user (no skip)."""

from __future__ import annotations

import psycopg


def test_a_real_postgresql_server_answers(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None and int(row[0]) >= 150000
