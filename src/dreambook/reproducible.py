"""The one date a build stamps into its files, chosen so that rebuilding gives identical bytes.

Output formats record a modification date (the PDF's /ModDate, the EPUB's
``dcterms:modified``). Using the clock would make every build differ, so the date is,
in order: ``SOURCE_DATE_EPOCH`` when set (the reproducible-builds convention), the time
of the last git commit that touched the manuscript when it is in a git repository, the
book's own ``date`` from book.toml, or none at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
from pathlib import Path

from dreambook.config import BookConfig

log = logging.getLogger(__name__)


def _from_environment() -> dt.datetime | None:
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        log.warning("ignoring SOURCE_DATE_EPOCH=%r: not a whole number of seconds", value)
        return None


def _from_git(manuscript: Path) -> dt.datetime | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        # Local history only: 'git log' reads the repository and never the network.
        completed = subprocess.run(
            [git, "log", "-1", "--format=%ct", "--", "."],
            cwd=manuscript,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    stamp = completed.stdout.strip()
    if completed.returncode != 0 or not stamp.isdigit():
        return None
    return dt.datetime.fromtimestamp(int(stamp), tz=dt.UTC)


def source_date(manuscript: Path, config: BookConfig) -> dt.datetime | None:
    """Return the date to stamp into this build's files (UTC), or None when there is none."""
    found = _from_environment() or _from_git(manuscript)
    if found is None and config.date is not None:
        found = dt.datetime.combine(config.date, dt.time(), tzinfo=dt.UTC)
    return found
