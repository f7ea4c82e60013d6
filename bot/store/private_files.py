"""Files only Warden's own user may read: the database holds members' links, reports and
(encrypted) tokens, so neither it nor its backups should be world-readable whatever the
umask of the shell that first created them."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; a folder made here is owner-only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def create_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists.

    SQLite gives the ``-wal``, ``-shm`` and ``-journal`` files the mode of the database
    file, so creating the database this way covers those too.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def warn_if_shared(path: Path) -> None:
    """An existing file that other users may read is the operator's call; say so once."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s is readable by other users (mode %o); run `chmod 600 %s`",
                    path, stat.S_IMODE(mode), path)
