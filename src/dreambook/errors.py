"""Exceptions raised by dreambook's library code. Only the CLI turns them into exit codes."""

from __future__ import annotations

from collections.abc import Sequence

from dreambook.diagnostics import Diagnostic


class DreambookError(Exception):
    """Base class of every error dreambook raises on purpose."""


class UsageError(DreambookError):
    """The command was asked for something that cannot be done as asked (exit status 2).

    Example: the manuscript folder given on the command line does not exist.
    """


class ManuscriptError(DreambookError):
    """The manuscript has errors (exit status 1); ``diagnostics`` lists them all."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        count = sum(1 for d in self.diagnostics if d.is_error)
        super().__init__(f"the manuscript has {count} error(s)")


class BuildError(DreambookError):
    """Output could not be made although the manuscript checked clean (exit status 1)."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(d.message for d in self.diagnostics) or "the build failed")


class MissingDependencyError(DreambookError):
    """A program or system library that the asked-for output needs is not installed (exit 2)."""
