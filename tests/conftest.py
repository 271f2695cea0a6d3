"""Shared fixtures: small manuscripts written into a temporary folder by each test."""

from __future__ import annotations

import os
import signal
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# In CI every property test draws the same examples each run (derandomised), so a red run
# is reproducible and a green one is not luck; locally, each run explores new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# The tests that stop a command with Ctrl-C send it SIGINT. A test run started in the
# background (`cmd &` in a script, no job control) inherits SIGINT ignored, and so would every
# command it starts: Python then installs no Ctrl-C handler in them, and they never stop.
# Handled here, SIGINT reaches the commands as it does from a terminal (a handled signal is
# reset to its default in a new program; an ignored one stays ignored).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parent.parent
SAMPLE_MANUSCRIPT = REPO / "manuscript"

MINIMAL_TOML = """\
[book]
title = "A Small Book"
author = "Test Author"
language = "en"
identifier = "urn:uuid:0f0e6c36-5a43-4c1f-9a8e-2d7b3f1c9e55"
start = "one"
"""

WriteBook = Callable[..., Path]


def chapter(title: str, body: str = "Some text.\n", **front: str) -> str:
    """Return the text of a chapter file with ``title`` (and other front matter) and ``body``."""
    lines = ["---", f"title: {title}"] + [f"{key}: {value}" for key, value in front.items()]
    return "\n".join([*lines, "---", "", textwrap.dedent(body)])


@pytest.fixture
def write_book(tmp_path: Path) -> WriteBook:
    """Return a function that writes a manuscript folder and returns its path.

    ``files`` maps paths (relative to the manuscript folder) to their text, or to bytes
    for files that must hold exact bytes. ``book_toml`` is written as book.toml unless it
    is None (then no book.toml is written).
    """

    def write(
        files: dict[str, str | bytes],
        book_toml: str | None = MINIMAL_TOML,
        name: str = "manuscript",
    ) -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        if book_toml is not None:
            (root / "book.toml").write_text(book_toml, encoding="utf-8")
        for relative, content in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return write


def in_fresh_process(function: Callable[..., Any], *arguments: Any) -> Any:
    """Run ``function(*arguments)`` (a module-level function) in a newly spawned interpreter
    and return its result, raising what it raised. For tests of code that forks helper
    processes only when the process runs no other thread (workers.may_fork): by the time a
    whole test run reaches them, earlier tests have left threads in this process."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(function, *arguments).result(timeout=900)
