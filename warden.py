#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11+.

    python3 warden.py run     # install into .venv if needed, then run the bot
    python3 warden.py test    # install into .venv if needed, then ruff, mypy and pytest

Any other arguments are passed to ``python -m bot`` (for example
``python3 warden.py check``). Uses only the standard library.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_installed(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may run on an older python3
        sys.exit("error: Warden needs Python 3.11 or newer")
    spec = f".[{extras}]" if extras else "."
    fingerprint = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + spec.encode()
    ).hexdigest()
    stamp = VENV / f".installed-{extras or 'runtime'}"
    if stamp.exists() and stamp.read_text() == fingerprint:
        return
    if not PYTHON.exists():
        print("creating virtual environment in .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"installing Warden and its dependencies ({spec}) ...", flush=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-e", spec],
        cwd=ROOT,
        check=True,
    )
    stamp.write_text(fingerprint)


def run(*cmd: str) -> int:
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    if argv[:1] == ["test"]:
        ensure_installed("dev")
        for step in (
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "mypy")],
            [str(PYTHON), "-m", "pytest", *argv[1:]],
        ):
            code = run(*step)
            if code != 0:
                return code
        return 0
    ensure_installed("")
    return subprocess.run([str(PYTHON), "-m", "bot", *(argv or ["run"])], cwd=ROOT).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
