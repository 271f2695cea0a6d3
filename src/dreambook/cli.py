"""The ``dreambook`` command, on Click: arguments, finding the book, printing, exit codes.

Exit status: 0 when all went well, 1 when the manuscript has errors (or warnings under
``--strict``), 2 for a usage problem (an unknown option, a folder that holds no book, a
``new --after`` that names no chapter), 130 when stopped by Ctrl-C (SIGINT) and 143 by
SIGTERM.

Every command that reads a book takes its folder as an optional argument; without one, the
book is the current folder when it holds ``book.toml``, else ``manuscript/`` below it (and
the command says so). Shell completion is Click's: ``dreambook completion SHELL`` prints the
script, which calls the command back with ``_DREAMBOOK_COMPLETE`` set.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import click
from click.shell_completion import get_completion_class

import dreambook
from dreambook.config import BOOK_TOML
from dreambook.diagnostics import Diagnostic, display_path, format_diagnostic, plural, summarise
from dreambook.errors import (
    BuildError,
    CodedUsageError,
    DreambookError,
    ManuscriptError,
    MissingDependencyError,
    UsageError,
)
from dreambook.export.pdf.variant import Variant
from dreambook.export.writer import DEFAULT_FORMATS, FORMATS
from dreambook.fsutil import atomic_output
from dreambook.graph import Placement, explain_position
from dreambook.manuscript import ORDER_LOCK, Limits, chapter_files, write_order_lock
from dreambook.pipeline import CheckedBook, Options, build_book, check_manuscript
from dreambook.slugs import slugify

EXIT_OK = 0
EXIT_MANUSCRIPT = 1
EXIT_USAGE = 2
# The shell's convention: 128 + the number of the signal that stopped the command.
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM

PROG = "dreambook"
COMPLETE_VARIABLE = "_DREAMBOOK_COMPLETE"
SHELLS = ("bash", "zsh", "fish")
# The folder below the current one where a book is looked for, and init's default.
MANUSCRIPT_FOLDER = "manuscript"


class _Stopped(BaseException):
    """SIGTERM arrived: unwinds the command like Ctrl-C does (a BaseException, so that no
    handler of errors takes it for one), stopping the workers and removing temporary files
    on the way out."""


class _Interrupted(BaseException):
    """Ctrl-C while a command ran. Click would turn a KeyboardInterrupt into its own Abort
    and print an empty line; this passes through Click to main(), which says it in one line."""


@contextlib.contextmanager
def _stopped_by_sigterm() -> Iterator[None]:
    """Turn SIGTERM into ``_Stopped`` while the command runs (once: a second SIGTERM while
    the first is being handled is ignored, so the clean-up is not cut short)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals (main() called from a test's thread)
        return

    def stop(number: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise _Stopped

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(message: str) -> None:
    """A line for the person at the terminal (stderr, so that stdout stays the command's output)."""
    click.echo(message, err=True)


# --- finding the book ------------------------------------------------------------------------------


def find_book(given: Path | None, say: Callable[[str], None] = _say) -> Path:
    """Return the book's folder: ``given`` when there is one, else the current folder when it
    holds book.toml, else ``manuscript/`` below it (said through ``say``).

    Raises UsageError when ``given`` is not a folder, or when neither place holds a book.
    """
    if given is not None:
        if not given.is_dir():
            raise UsageError(f"{given} is not a folder; give the folder that holds the book.toml")
        return given
    if Path(BOOK_TOML).is_file():
        return Path(".")
    below = Path(MANUSCRIPT_FOLDER)
    if below.is_dir():
        say(
            f"dreambook: using the book in {MANUSCRIPT_FOLDER}/ (the current folder has no {BOOK_TOML})"
        )
        return below
    nearby = sorted(
        child.name
        for child in Path(".").iterdir()
        if child.is_dir() and not child.name.startswith(".") and (child / BOOK_TOML).is_file()
    )
    if nearby:
        where = f"; the book{'s' if len(nearby) > 1 else ''} below: " + ", ".join(nearby[:5])
        where += f" (e.g. 'cd {nearby[0]}', or give it: dreambook check {nearby[0]})"
    else:
        where = (
            "; run this inside a book's folder, give the folder (dreambook check "
            "path/to/book), or start a book with 'dreambook init'"
        )
    raise UsageError(
        f"no {BOOK_TOML} in the current folder and no {MANUSCRIPT_FOLDER}/ folder below it" + where
    )


def _complete_slugs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of a chapter slug: the file names of the book's chapters, read
    without printing anything and without reading a chapter."""
    given = ctx.params.get("book")
    try:
        folder = find_book(given, say=lambda message: None)
        slugs = sorted({slugify(path.stem) for path in chapter_files(folder)})
    except (UsageError, OSError):
        return []
    return [slug for slug in slugs if slug.startswith(incomplete)]


# --- the options commands share --------------------------------------------------------------------

_Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

BOOK_HELP = (
    "the book's folder, the one holding book.toml (default: the current folder if it holds "
    f"book.toml, else {MANUSCRIPT_FOLDER}/ below it)"
)


def _book_argument(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument(
        "book",
        required=False,
        type=click.Path(path_type=Path, file_okay=False),
        metavar="[BOOK]",
        help=BOOK_HELP,
    )(function)


def _output_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path, dir_okay=True, file_okay=False),
        default=Path("build"),
        show_default=True,
        help="the folder that receives what the command writes (made if missing)",
    )(function)


def _reading_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--strict, --trust-html and the size limits: every command that reads a book."""
    limits = Limits()
    options: list[_Decorator] = [
        click.option("--strict", is_flag=True, help="treat every warning as an error"),
        click.option(
            "--trust-html",
            is_flag=True,
            help="keep raw HTML in chapters as written (default: remove scripts, frames, "
            "event handlers and other unsafe markup, and report each removal)",
        ),
        click.option(
            "--max-chapters",
            type=click.IntRange(min=1),
            default=limits.max_chapters,
            show_default=True,
            metavar="N",
            help="refuse a manuscript with more chapter files than this",
        ),
        click.option(
            "--max-megabytes",
            type=click.IntRange(min=1),
            default=limits.max_bytes // (1024 * 1024),
            show_default=True,
            metavar="MB",
            help="refuse a manuscript whose chapter files total more than this",
        ),
        click.option(
            "--max-chapter-megabytes",
            type=click.FloatRange(min=0, min_open=True),
            default=limits.max_chapter_bytes / (1024 * 1024),
            show_default=True,
            metavar="MB",
            help="refuse a chapter file larger than this",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _options(params: dict[str, Any]) -> Options:
    return Options(
        strict=params["strict"],
        trust_html=params["trust_html"],
        limits=Limits(
            params["max_chapters"],
            params["max_megabytes"] * 1024 * 1024,
            int(params["max_chapter_megabytes"] * 1024 * 1024),
        ),
    )


# --- the command group --------------------------------------------------------------------------------


class _Group(click.Group):
    """The dreambook command group: commands listed in the order they are declared (the
    order an author meets them), and Ctrl-C passed through Click as ``_Interrupted``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise _Interrupted from None


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"dreambook {dreambook.__version__}")
        ctx.exit()


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="print the version and exit",
)
def cli() -> None:
    """Turn a Markdown manuscript of linked chapters into a book.

    Run a command inside a book's folder (the one holding book.toml), in the folder above
    its manuscript/ folder, or give the book's folder as an argument.
    """


# --- check and order -------------------------------------------------------------------------------


def _count(chapters: int, diagnostics: Sequence[Diagnostic]) -> str:
    """``3 chapters, 1 error, 0 warnings``: the summary's counts, the same for every command."""
    return f"{chapters} chapter{'s' if chapters != 1 else ''}, {summarise(diagnostics)}"


def _report(diagnostics: Sequence[Diagnostic]) -> None:
    for d in diagnostics:
        _say(format_diagnostic(d))


def _failed(checked: CheckedBook, suffix: str = "") -> int:
    _say(f"FAILED: {_count(len(checked.book.chapters), checked.diagnostics)}{suffix}")
    return EXIT_MANUSCRIPT


@cli.command(
    "check",
    short_help="report every problem in the book as path:line: CODE message",
)
@_book_argument
@_reading_options
def check_command(book: Path | None, **params: Any) -> int:
    """Read the book, resolve its links and reading order, and report every problem found,
    the cause of a file's trouble first. Exits 1 when there are errors (or warnings, with
    --strict). Writes nothing."""
    checked = check_manuscript(find_book(book), _options(params))
    _report(checked.diagnostics)
    if checked.has_errors:
        return _failed(checked)
    _say(f"ok: {_count(len(checked.book.chapters), checked.diagnostics)}")
    return EXIT_OK


def _how_reached(placement: Placement, via: str | None) -> str:
    if placement is Placement.NEXT_STAGE:
        return f"next stage of {via}"
    return str(placement.value)


@cli.command("order", short_help="print the reading order derived from the Next Stages links")
@_book_argument
@_reading_options
@click.option(
    "--write",
    is_flag=True,
    help=f"save the order to {ORDER_LOCK} in the book's folder; check and build then warn "
    "(DB045) when a later edit changes it",
)
@click.option(
    "--explain",
    metavar="SLUG",
    shell_complete=_complete_slugs,
    help="say why the chapter SLUG sits where it does",
)
def order_command(book: Path | None, write: bool, explain: str | None, **params: Any) -> int:
    """Print the chapters in reading order: position, slug, title and how each was reached
    (start, next stage of another chapter, unreachable, appendix). Writes nothing unless
    --write is given."""
    checked = check_manuscript(find_book(book), _options(params))
    if write:
        # The lock is being replaced, so a difference from the old one is no problem.
        checked = replace(
            checked, diagnostics=tuple(d for d in checked.diagnostics if d.code != "DB045")
        )
    _report(checked.diagnostics)
    if checked.has_errors:
        return _failed(checked)
    if explain:
        if explain not in checked.reading_order.slugs:
            raise UsageError(f"no chapter has the slug {explain!r}")
        for sentence in explain_position(checked.graph, checked.reading_order, explain):
            click.echo(sentence)
        return EXIT_OK
    if write:
        written = write_order_lock(
            checked.book.root, checked.book.config.title, checked.reading_order.slugs
        )
        _say(f"wrote {display_path(written)}")
    titles = {chapter.slug: chapter.title for chapter in checked.book.chapters}
    entries = checked.reading_order.entries
    slug_width = max((len(entry.slug) for entry in entries), default=4)
    width = len(str(len(entries)))
    for position, entry in enumerate(entries, start=1):
        click.echo(
            f"{position:>{width}}  {entry.slug:<{slug_width}}  {titles[entry.slug]}  "
            f"({_how_reached(entry.placement, entry.via)})"
        )
    return EXIT_OK


# --- build -----------------------------------------------------------------------------------------


def _peak_memory() -> dict[str, float]:
    """The largest resident set, in MB, of this process and of any one of its child processes
    (the layout workers, and git asked for the source date), all ended by now: a build's
    pools are shut down before it returns."""
    import resource

    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # kB on Linux, bytes on macOS
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale
    return {"dreambook": round(own, 1), "largest child": round(children, 1)}


def _announce(message: str) -> None:
    """Progress reporter for a terminal: one line as each stage starts."""
    _say(f"... {message}")


def _silent(message: str) -> None:
    """Progress reporter for pipes, logs and --quiet: nothing."""


class _FormatChoice(click.Choice[str]):
    """A choice of the output formats registered in export/writer.py, read from the registry
    each time it is used: a format registered after this module was imported is offered too."""

    def __init__(self) -> None:
        super().__init__(tuple(FORMATS))

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(FORMATS)

    @choices.setter
    def choices(self, value: tuple[str, ...]) -> None:
        """Click sets the choices once; the registry stays the one source."""


def _scheduler_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--scheduler``: lay the PDF's chunks out on a Dask cluster (the ``cluster`` extra)."""
    return click.option(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="lay out on a Dask cluster: 'local' starts one on this machine, tcp://HOST:8786 "
        "joins a running scheduler (needs: pip install 'dreambook[cluster]')  "
        "[default: this machine's process pool]",
    )(function)


@cli.command("build", short_help="write the book: PDF and EPUB (and the HTML edition)")
@_book_argument
@_output_option
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=_FormatChoice(),
    help="an output to write; repeat for several  [default: " + " and ".join(DEFAULT_FORMATS) + "]",
)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    type=click.Choice([*(v.value for v in Variant), "all"]),
    help="PDF edition: digital (links, tagged), print (PDF/X-4 for the printer), or all; "
    "repeat for several  [default: digital]",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="lay out the PDF in chunks of chapters on N processes; 1 lays the book out as one "
    "document in this process  [default: the number of CPUs]",
)
@_reading_options
@click.option("-q", "--quiet", is_flag=True, help="print only problems and the summary line")
@click.option("-v", "--verbose", is_flag=True, help="also print the time each stage took")
@click.option(
    "--timings-json",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="write the stage timings and page counts as JSON (used by the benchmark)",
)
@_scheduler_option
def build_command(
    book: Path | None,
    output: Path,
    formats: tuple[str, ...],
    variants: tuple[str, ...],
    jobs: int | None,
    quiet: bool,
    verbose: bool,
    timings_json: Path | None,
    scheduler: str | None,
    **params: Any,
) -> int:
    """Check the book, then write it into the output folder. Nothing is written when the
    check finds errors, and a failed build leaves the previous files in place."""
    manuscript = find_book(book)
    chosen = list(variants) or ["digital"]
    editions = [v.value for v in Variant] if "all" in chosen else chosen
    started = time.perf_counter()
    if verbose:
        # The PDF writer reports each layout pass and the merge at INFO level.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("  %(message)s"))
        logging.getLogger("dreambook").addHandler(handler)
        logging.getLogger("dreambook").setLevel(logging.INFO)
    # Progress lines only for a person watching a terminal; logs and pipes get the summary.
    show_progress = sys.stderr.isatty() and not quiet
    try:
        result = build_book(
            manuscript,
            output,
            list(formats) or list(DEFAULT_FORMATS),
            editions,
            _options(params),
            progress=_announce if show_progress else _silent,
            jobs=jobs,
            scheduler=scheduler,
        )
    except ManuscriptError as error:
        _report(error.diagnostics)
        counts = (
            _count(error.chapters, error.diagnostics)
            if error.chapters is not None
            else summarise(error.diagnostics)
        )
        _say(f"FAILED: {counts}; nothing was written")
        return EXIT_MANUSCRIPT
    elapsed = time.perf_counter() - started
    _report(result.checked.diagnostics)
    _report(result.writer_diagnostics)
    if not quiet:
        for path in result.files:
            if path.is_dir():
                _say(f"wrote {display_path(path)}/ (the HTML edition)")
                continue
            size = path.stat().st_size
            pages = f", {plural(result.pages[path], 'page')}" if path in result.pages else ""
            _say(f"wrote {display_path(path)} ({size / 1024:.0f} KiB{pages})")
        for line in result.summaries:
            _say(line)
    if verbose:
        for stage, seconds in result.timings.items():
            _say(f"  {stage:<16} {seconds:6.2f} s")
    if timings_json:
        report = {
            "stages": result.timings,
            "pages": max(result.pages.values(), default=None),
            "seconds": elapsed,
            "files": [str(path) for path in result.files],
            "peak_rss_mb": _peak_memory(),
            "layout": {path.name: dict(figures) for path, figures in result.layouts.items()},
        }
        timings_json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    diagnostics = (*result.checked.diagnostics, *result.writer_diagnostics)
    count = len(result.files)
    _say(
        f"ok: {count} file{'s' if count != 1 else ''} written in {elapsed:.1f} s, "
        f"{summarise(diagnostics)}"
    )
    return EXIT_OK


# --- graph and preview -------------------------------------------------------------------------------


@cli.command("graph", short_help="draw the map of the book (chapters and their links)")
@_book_argument
@_output_option
@click.option(
    "--format",
    "map_format",
    type=click.Choice(["svg", "dot"]),
    default="svg",
    show_default=True,
    help="svg: a drawing that needs nothing else; dot: the graph as text for Graphviz",
)
@_reading_options
def graph_command(book: Path | None, output: Path, map_format: str, **params: Any) -> int:
    """Write the map of the book into the output folder as <book>-map.svg (or .dot):
    chapters in reading order, Next Stages as solid arcs, cross-references dashed,
    unreachable chapters and dead ends marked."""
    from dreambook.bookmap import build_map, render_dot, render_svg
    from dreambook.render import typeset_inline
    from dreambook.styles import book_styles

    checked = check_manuscript(find_book(book), _options(params))
    _report(checked.diagnostics)
    if checked.has_errors:
        return _failed(checked)
    # The titles as the book prints them (curly apostrophes), as in the PDF's and EPUB's map.
    titles = {c.slug: typeset_inline(c.title).striptags() for c in checked.book.chapters}
    book_map = build_map(checked.book, checked.graph, checked.reading_order, titles)
    name = slugify(checked.book.config.title) or "book"
    if map_format == "dot":
        text = render_dot(book_map, checked.book.config.title)
    else:
        text = render_svg(book_map, book_styles(checked.book.root, checked.book.config))
    destination = output / f"{name}-map.{map_format}"
    with atomic_output(destination) as written:
        written.write(text.encode("utf-8"))
    _say(f"wrote {display_path(destination)}")
    return EXIT_OK


@cli.command("preview", short_help="serve the book on this computer and rebuild it on every change")
@_book_argument
@_output_option
@click.option(
    "--port",
    type=click.IntRange(min=0, max=65535),
    default=0,
    help="the port to serve on  [default: any free port]",
)
@_reading_options
def preview_command(book: Path | None, output: Path, port: int, **params: Any) -> int:
    """Build the HTML edition and serve it on 127.0.0.1 at once, then lay out the print PDF
    (shown as spreads). Watches the book and its styles, rebuilds on every change, reloads
    open pages, and prints one line per rebuild. Build errors show over the last good book
    and in the terminal. Writes into OUTPUT/preview. Ctrl-C stops it."""
    from dreambook.preview import Preview, PreviewServer

    manuscript = find_book(book)
    folder = manuscript.resolve()
    shown = f"{folder.name} (this folder)" if folder == Path.cwd() else display_path(manuscript)
    preview = Preview(manuscript, output / "preview", _options(params), report=_say)
    try:
        server = PreviewServer(preview, "127.0.0.1", port)
    except OSError as error:  # the port is taken, or not this user's to open
        raise UsageError(
            f"cannot serve on 127.0.0.1:{port}: {error.strerror or error}; choose another "
            "--port, or leave it out for any free one"
        ) from error
    try:
        server.start(
            serving=lambda url: _say(
                f"previewing {shown} at {url} (Ctrl-C stops); "
                "the HTML edition is ready, the PDF follows"
            )
        )
        while not preview.stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        _say("stopping")
    finally:
        server.stop()
    return EXIT_OK


# --- init and new ----------------------------------------------------------------------------------


@cli.command(
    "init", short_help="start a new book that builds at once: book.toml, a chapter, the styles"
)
@click.argument(
    "folder",
    required=False,
    default=Path(MANUSCRIPT_FOLDER),
    type=click.Path(path_type=Path, file_okay=False),
    metavar="[DIR]",
    help=f"the folder to create the book in; it may exist but must hold no book yet "
    f"(default: {MANUSCRIPT_FOLDER})",
)
@click.option("--title", default="Untitled Book", show_default=True, help="the book's title")
@click.option("--author", default="The Author", show_default=True, help="the book's author")
def init_command(folder: Path, title: str, author: str) -> int:
    """Create a book folder with book.toml, a first chapter with the house sections (its
    placeholder text to be written over) and a copy of dreambook's templates and stylesheets
    to restyle."""
    from dreambook.scaffold import init_book

    for path in init_book(folder, title, author, dt.date.today()):
        _say(f"wrote {display_path(path)}")
    return EXIT_OK


@cli.command("new", short_help="write a new chapter with the house sections")
@click.argument("title", metavar="TITLE", help="the new chapter's title; its slug names the file")
@_book_argument
@click.option(
    "--after",
    metavar="SLUG",
    shell_complete=_complete_slugs,
    help="the chapter whose Next Stages lead to the new one; it is written beside that "
    "chapter, and its Next Stages lead back  [default: none; the chapter is unlinked]",
)
def new_command(title: str, book: Path | None, after: str | None) -> int:
    """Write a new chapter file with front matter and the house sections. With --after SLUG
    it goes beside that chapter and joins the end of its Next Stages. Refuses a title or
    file name the book already has."""
    from dreambook.scaffold import new_chapter

    for path in new_chapter(find_book(book), title, after):
        _say(f"wrote {display_path(path)}")
    return EXIT_OK


# --- preflight ----------------------------------------------------------------------------------------


class _Length(click.ParamType[float]):
    """A length such as 0.125in or 3mm, converted to points."""

    name = "length"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        from dreambook.config import parse_length

        if isinstance(value, float):
            return value
        try:
            return parse_length(str(value)).points
        except ValueError as error:
            self.fail(str(error), param, ctx)


@cli.command(
    "preflight", short_help="check a PDF for print: boxes, bleed, fonts, colour, images, PDF/X"
)
@click.argument(
    "pdf",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE.pdf",
    help="the PDF to check (any PDF, not only dreambook's)",
)
@click.option(
    "--bleed",
    type=_Length(),
    default=None,
    metavar="LENGTH",
    help="the bleed every page must have beyond its trim  [default: 0.125in]",
)
@click.option("--strict", is_flag=True, help="treat warnings as errors (exit 1 on any finding)")
def preflight_command(pdf: Path, bleed: float | None, strict: bool) -> int:
    """Read a PDF and report what a printer's prepress would refuse or question, as
    FILE:PAGE: CODE severity: message. Exits 1 when there are errors (or warnings, with
    --strict)."""
    from dreambook.preflight import DEFAULT_BLEED, preflight

    if not pdf.is_file():
        raise UsageError(f"{pdf} is not a file")
    report = preflight(pdf, bleed if bleed is not None else DEFAULT_BLEED)
    _report(report.findings)
    _say(report.summary())
    failed = report.errors or (strict and report.findings)
    return EXIT_MANUSCRIPT if failed else EXIT_OK


# --- catalogue ------------------------------------------------------------------------------------------


@cli.command(
    "catalogue", short_help="build every book a catalogue file lists, here or on a cluster"
)
@click.argument(
    "catalogue",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="CATALOGUE.toml",
    help="the catalogue file: its [catalogue] settings and a [[book]] table per book",
)
@_scheduler_option
@click.option("-q", "--quiet", is_flag=True, help="no progress line and no summary table")
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    default=None,
    help="where to write the JSON report  [default: catalogue-report.json in the output]",
)
def catalogue_command(
    catalogue: Path, scheduler: str | None, quiet: bool, report: Path | None
) -> int:
    """Build each book of CATALOGUE.toml into OUTPUT/<book-slug>/ as build would. A failed
    book is reported and the others go on; exits 1 if any failed."""
    from dreambook.catalogue import run_catalogue

    return run_catalogue(
        catalogue,
        scheduler=scheduler,
        quiet=quiet,
        interactive=sys.stderr.isatty(),
        report=report,
    )


# --- completion -----------------------------------------------------------------------------------------


@cli.command("completion", short_help="print the shell completion script for bash, zsh or fish")
@click.argument(
    "shell",
    type=click.Choice(SHELLS),
    metavar="SHELL",
    help="the shell to complete in: " + ", ".join(SHELLS),
)
def completion_command(shell: str) -> int:
    """Print the script that lets SHELL complete dreambook's commands, options, formats and
    chapter slugs. Load it from the shell's start-up file, e.g. for bash add
    'eval "$(dreambook completion bash)"' to ~/.bashrc; for zsh the same line in ~/.zshrc;
    for fish, 'dreambook completion fish > ~/.config/fish/completions/dreambook.fish'."""
    completion = get_completion_class(shell)
    assert completion is not None  # the choice allows only shells Click knows
    click.echo(completion(cli, {}, PROG, COMPLETE_VARIABLE).source())
    return EXIT_OK


# --- running -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status (0 ok, 1 manuscript errors, 2 usage,
    130 Ctrl-C, 143 SIGTERM)."""
    try:
        with _stopped_by_sigterm():
            return _main(argv)
    except (KeyboardInterrupt, _Interrupted, click.Abort):
        _say("dreambook: stopped (SIGINT)")
        return EXIT_SIGINT
    except _Stopped:
        _say("dreambook: stopped (SIGTERM)")
        return EXIT_SIGTERM


def _main(argv: Sequence[str] | None) -> int:
    try:
        status = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name=PROG,
            complete_var=COMPLETE_VARIABLE,
            standalone_mode=False,
        )
    except click.exceptions.Exit as done:  # --help, --version
        return int(done.exit_code)
    except click.ClickException as error:  # usage: each command's own usage line and the fault
        error.show()
        return EXIT_USAGE if isinstance(error, click.UsageError) else int(error.exit_code)
    except SystemExit as done:  # shell completion answers and exits
        return int(done.code or 0) if not isinstance(done.code, str) else EXIT_USAGE
    except CodedUsageError as error:
        _say(format_diagnostic(error.diagnostic))
        return EXIT_USAGE
    except (UsageError, MissingDependencyError) as error:
        # Asked for something this command or this machine cannot do as asked.
        _say(f"dreambook: {error}")
        return EXIT_USAGE
    except ManuscriptError as error:
        _report(error.diagnostics)
        _say(f"FAILED: {summarise(error.diagnostics)}; nothing was written")
        return EXIT_MANUSCRIPT
    except BuildError as error:
        _report(error.diagnostics)
        return EXIT_MANUSCRIPT
    except OSError as error:
        _say(f"dreambook: cannot write the output: {error}")
        return EXIT_MANUSCRIPT
    except DreambookError as error:
        _say(f"dreambook: {error}")
        return EXIT_MANUSCRIPT
    return int(status) if isinstance(status, int) else EXIT_OK
