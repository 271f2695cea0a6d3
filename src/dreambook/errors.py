"""Exceptions raised by dreambook's library code. Only the CLI turns them into exit codes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from dreambook.diagnostics import Diagnostic, diagnostic


class DreambookError(Exception):
    """Base class of every error dreambook raises on purpose."""


class UsageError(DreambookError):
    """The command was asked for something that cannot be done as asked (exit status 2).

    Example: the manuscript folder given on the command line does not exist.
    """


class CodedUsageError(UsageError):
    """A usage error with a code of its own (exit status 2), such as ``new --after`` naming
    no chapter: ``diagnostic`` says what is wrong and, in its hint, what was probably meant."""

    def __init__(self, found: Diagnostic) -> None:
        self.diagnostic = found
        super().__init__(found.message)


class ManuscriptError(DreambookError):
    """The manuscript has errors (exit status 1); ``diagnostics`` lists them all, and
    ``chapters`` is how many chapter files were read (None when not known)."""

    def __init__(self, diagnostics: Sequence[Diagnostic], chapters: int | None = None) -> None:
        self.diagnostics = tuple(diagnostics)
        self.chapters = chapters
        count = sum(1 for d in self.diagnostics if d.is_error)
        super().__init__(f"the manuscript has {count} error(s)")


class BuildError(DreambookError):
    """Output could not be made although the manuscript checked clean (exit status 1)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics) or "the build failed")


class ResourceOutsideError(BuildError):
    """A file a build was to read resolves outside the folders it may read (DB060, exit 1).

    Raised by the confined opener (fsutil.ConfinedReader) before anything is read: ``path``
    is the file as named, ``target`` where its symbolic links (or ``..``) lead.
    """

    def __init__(self, path: Path, target: Path, line: int | None = None) -> None:
        self.path = path
        self.target = target
        what = "a symbolic link" if os.path.islink(path) else "a path"
        super().__init__(
            [
                diagnostic(
                    "DB060",
                    f"{path.name} is {what} to {target}, outside the manuscript and styles "
                    "folders; it is not read",
                    path,
                    line,
                    "copy the file into the manuscript or styles folder instead of linking to it",
                )
            ]
        )


class OutputError(DreambookError):
    """An output could not be written (exit status 1). ``path`` is the file or folder the
    build was writing (as it would have been published), ``reason`` the system's words.
    Nothing of the failed build was put in place."""

    def __init__(self, path: Path, reason: str, output: Path) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"cannot write {path}: {reason}; nothing in {output} was replaced "
            "(the files there are those of the last build that finished)"
        )


class MissingDependencyError(DreambookError):
    """A program or system library that the asked-for output needs is not installed (exit 2)."""
