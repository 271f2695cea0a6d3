"""The Jinja2 environment and loader over the styles folders.

A book's styles folder is as untrusted as its chapters, and a Jinja2 template is a program:
in a plain environment ``{{ cycler.__init__.__globals__.os.popen(...) }}`` runs a command.
So templates render in Jinja2's sandbox (:class:`BookTemplates`), which lets them read the
values they are given and call their methods, never Python's internals; arithmetic that
would take the machine's memory or time (``7 ** 123456789``, ``"x" * 10 ** 9``) is refused
too, and a template that renders for more than a minute of CPU is stopped (its loops are
not counted one by one). A template that cannot be used, whatever the reason (not UTF-8,
not valid Jinja2, an unsafe, failing or endless expression), stops the build with DB069 at
its file and line, never a traceback; check finds the first two beforehand
(styles_check.py).

Jinja2's own FileSystemLoader follows symbolic links wherever they lead, so a template in
a book's styles folder that links to a file outside the book would be rendered into every
page. :class:`ConfinedLoader` finds a template as FileSystemLoader does (the first folder
that has it wins) but reads it with fsutil.ConfinedReader, which refuses such a link (DB060).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import SandboxedEnvironment

from dreambook.diagnostics import Diagnostic, diagnostic, not_utf8
from dreambook.errors import BuildError, DreambookError
from dreambook.fsutil import ConfinedReader

# The largest string or list a template may make by repeating one (``"x" * n``), and the
# largest exponent it may raise a number to.
MOST_REPEATED = 1_000_000
MOST_EXPONENT = 1_000
# The CPU seconds one template may render for: the benchmark book's whole print HTML (405
# pages) takes 0.17 s, so only a template that loops without end reaches it.
MOST_RENDER_SECONDS = 60.0


class ConfinedLoader(jinja2.FileSystemLoader):
    """Loads templates from ``folders``, reading each through ``reader``."""

    def __init__(self, folders: Sequence[Path], reader: ConfinedReader) -> None:
        super().__init__([str(folder) for folder in folders])
        self.reader = reader

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """Return (source, file name, up-to-date check) of the first folder's ``template``.

        Raises TemplateNotFound when no folder has it (``..`` in the name included) and
        ResourceOutsideError when the file found resolves outside the allowed folders.
        """
        pieces = split_template_path(template)
        for folder in self.searchpath:
            candidate = Path(folder, *pieces)
            if not candidate.is_file():
                continue
            data = self.reader.read_bytes(candidate)
            try:
                source = data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise BuildError([not_utf8(candidate, data, error)]) from error
            modified = os.path.getmtime(candidate)

            def unchanged(candidate: Path = candidate, modified: float = modified) -> bool:
                try:
                    return os.path.getmtime(candidate) == modified
                except OSError:
                    return False

            return source, os.path.normpath(candidate), unchanged
        raise jinja2.TemplateNotFound(template)


class RenderTooLong(Exception):
    """A template rendered for longer than ``MOST_RENDER_SECONDS`` of CPU."""


_BUDGET = threading.local()


@contextlib.contextmanager
def _cpu_budget(seconds: float) -> Iterator[None]:
    """Raise RenderTooLong in the block once this process has spent ``seconds`` of CPU in it.

    Counted with the profiling timer, whose signal only the main thread can take: elsewhere
    (the preview's rebuilds) and inside a block already counted, the block is not limited.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or getattr(_BUDGET, "counting", False)
        or not hasattr(signal, "setitimer")
    ):
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise RenderTooLong(f"it ran for more than {seconds:g} s of CPU (a loop without end?)")

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    _BUDGET.counting = True
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
        _BUDGET.counting = False


class _BudgetedTemplate(jinja2.Template):
    """A template that renders for at most ``MOST_RENDER_SECONDS`` of CPU: a template's
    loops are not counted (nested loops over long ranges or texts can run for days)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        with _cpu_budget(MOST_RENDER_SECONDS):
            return super().render(*args, **kwargs)


class BookTemplates(SandboxedEnvironment):
    """A sandboxed Jinja2 environment whose failures are DB069 diagnostics (see the module's
    docstring), and whose templates render for a bounded time; otherwise a Jinja2
    environment like any other."""

    intercepted_binops = frozenset({"*", "**"})
    template_class = _BudgetedTemplate

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``left operator right``, unless it would be too large to compute."""
        if operator == "**" and isinstance(right, int | float) and abs(right) > MOST_EXPONENT:
            raise SecurityError(f"an exponent of {right} is too large")
        if operator == "*":
            count, sequence = (right, left) if isinstance(right, int) else (left, right)
            if (
                isinstance(count, int)
                and isinstance(sequence, str | list | tuple)
                and len(sequence) * count > MOST_REPEATED
            ):
                raise SecurityError("a repeated text or list is too long")
        return super().call_binop(context, operator, left, right)

    def handle_exception(self, source: str | None = None) -> NoReturn:
        """Raise BuildError (DB069) for what went wrong in a template; dreambook's own errors
        (a file out of the book, DB060) pass as they are."""
        try:
            super().handle_exception(source)
        except DreambookError:
            raise
        except Exception as error:
            raise BuildError([template_problem(error)]) from error


def template_problem(
    error: BaseException, path: Path | str | None = None, line: int | None = None
) -> Diagnostic:
    """DB069 for ``error``, raised while a template was read, compiled or rendered: at
    ``path`` and ``line`` when given, else at the template's file and line the error
    carries, when it does."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        found: tuple[str | None, int | None] = (error.filename, error.lineno)
        what = f"it is not valid Jinja2: {error.message}"
    else:
        found = (None, None)
        # Jinja2 gives a template's frames its file name and line (the last is the deepest).
        for frame in traceback.extract_tb(error.__traceback__):
            if frame.filename.endswith(".j2"):
                found = (frame.filename, frame.lineno)
        if isinstance(error, RenderTooLong):
            what = str(error)
        elif isinstance(error, jinja2.TemplateNotFound):
            what = f"it names the template {error.name!r}, which no styles folder has"
        elif isinstance(error, SecurityError):
            what = f"it asks for something a template may not do: {error}"
        else:
            what = f"rendering it failed: {error}"
    if path is None:
        path, line = found
    name = f"the template {Path(path).name}" if path else "a template"
    return diagnostic(
        "DB069",
        f"{name} cannot be used: {what}",
        Path(path) if path else None,
        line,
        "fix the template in the book's styles folder, or remove it to use dreambook's own; "
        "a template may use the values it is given, not Python's internals",
    )
