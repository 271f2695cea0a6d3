"""The ``dreambook`` command: argument parsing and exit codes only.

Exit status: 0 when all went well, 1 when the manuscript has errors (or warnings under
``--strict``), 2 for a usage problem such as a manuscript folder that does not exist,
130 when stopped by Ctrl-C (SIGINT) and 143 by SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TypeAlias

import dreambook
from dreambook.diagnostics import display_path, format_diagnostic, summarise
from dreambook.errors import (
    BuildError,
    DreambookError,
    ManuscriptError,
    MissingDependencyError,
    UsageError,
)
from dreambook.export.pdf.variant import Variant
from dreambook.export.writer import DEFAULT_FORMATS, FORMATS
from dreambook.fsutil import atomic_output
from dreambook.graph import Placement, explain_position
from dreambook.manuscript import ORDER_LOCK, Limits, write_order_lock
from dreambook.pipeline import CheckedBook, Options, build_book, check_manuscript
from dreambook.slugs import slugify

EXIT_OK = 0
EXIT_MANUSCRIPT = 1
EXIT_USAGE = 2
# The shell's convention: 128 + the number of the signal that stopped the command.
EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM


class _Stopped(BaseException):
    """SIGTERM arrived: unwinds the command like Ctrl-C does (a BaseException, so that no
    handler of errors takes it for one), stopping the workers and removing temporary files
    on the way out."""


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


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "manuscript",
        nargs="?",
        default="manuscript",
        type=Path,
        help="the manuscript folder, holding book.toml and the chapters (default: manuscript)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="build",
        type=Path,
        help="the folder that receives what the command writes (default: build)",
    )
    parser.add_argument("--strict", action="store_true", help="treat every warning as an error")
    parser.add_argument(
        "--trust-html",
        action="store_true",
        help="keep raw HTML in chapters as written (default: remove scripts, frames, "
        "event handlers and other unsafe markup, and report each removal)",
    )
    parser.add_argument(
        "--max-chapters",
        type=int,
        default=Limits().max_chapters,
        metavar="N",
        help="refuse a manuscript with more chapter files than this (default: %(default)s)",
    )
    parser.add_argument(
        "--max-megabytes",
        type=int,
        default=Limits().max_bytes // (1024 * 1024),
        metavar="MB",
        help="refuse a manuscript whose chapter files total more than this (default: %(default)s)",
    )
    parser.add_argument(
        "--max-chapter-megabytes",
        type=float,
        default=Limits().max_chapter_bytes / (1024 * 1024),
        metavar="MB",
        help="refuse a chapter file larger than this (default: %(default)g)",
    )


class _VersionAction(argparse.Action):
    """Print the version; looked up only when asked for (see dreambook.__getattr__)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(f"dreambook {dreambook.__version__}")
        parser.exit()


# What add_subparsers returns: argparse names its class only privately.
_Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dreambook",
        description="Turn a Markdown manuscript of linked chapters into a book.",
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0, help="print the version")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in (
        _add_check,
        _add_order,
        _add_build,
        _add_graph,
        _add_preview,
        _add_init,
        _add_new,
        _add_preflight,
        _add_catalogue,
    ):
        add_command(commands)
    return parser


def _add_check(commands: _Commands) -> None:
    check = commands.add_parser(
        "check",
        help="report every problem in the manuscript as path:line: CODE message",
        description="Read the manuscript, resolve its links and reading order, and report "
        "every problem found. Exits 1 when there are errors (or warnings, with --strict).",
    )
    _add_common(check)


def _add_order(commands: _Commands) -> None:
    order = commands.add_parser(
        "order",
        help="print the reading order derived from the Next Stages links",
        description="Print the chapters in reading order: position, slug, title and how "
        "each was reached (start, next stage of another chapter, unreachable, appendix).",
    )
    _add_common(order)
    order.add_argument(
        "--write",
        action="store_true",
        help=f"save the order to {ORDER_LOCK} in the manuscript folder; check and build "
        "then warn (DB045) when a later edit changes it",
    )
    order.add_argument(
        "--explain", metavar="SLUG", help="say why the chapter SLUG sits where it does"
    )


def _add_build(commands: _Commands) -> None:
    build = commands.add_parser(
        "build",
        help="write the book: PDF and EPUB (and the HTML preview with --format html)",
        description="Check the manuscript, then write the book into the output folder. "
        "Nothing is written when the check finds errors.",
    )
    _add_common(build)
    build.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=list(FORMATS),
        help="an output to write; repeat for several (default: pdf and epub)",
    )
    build.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="lay out the PDF in chunks of chapters on N processes (default: the number of "
        "CPUs); 1 lays the book out as one document in this process",
    )
    build.add_argument(
        "-q", "--quiet", action="store_true", help="print only problems and the summary line"
    )
    build.add_argument(
        "-v", "--verbose", action="store_true", help="also print the time each stage took"
    )
    build.add_argument(
        "--timings-json",
        type=Path,
        metavar="FILE",
        help="write the stage timings and page counts as JSON (used by the benchmark)",
    )
    build.add_argument(
        "--variant",
        dest="variants",
        action="append",
        choices=[*(v.value for v in Variant), "all"],
        help="PDF edition: digital (links, tagged), print (PDF/X-4 for the printer), or all; "
        "repeat for several (default: digital)",
    )
    _add_scheduler(build)


# --- catalogue and --scheduler (issue 19) ---------------------------------------------------------
# Only parsing: the work is dreambook.catalogue.run_catalogue and build_book(scheduler=...).


def _add_scheduler(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="lay out on a Dask cluster: 'local' starts one on this machine, tcp://HOST:8786 "
        "joins a running scheduler (needs: pip install 'dreambook[cluster]')",
    )


def _add_catalogue(commands: _Commands) -> None:
    catalogue = commands.add_parser(
        "catalogue",
        help="build every book a catalogue file lists, on this machine or a Dask cluster",
        description="Build each book of CATALOGUE.toml into OUTPUT/<book-slug>/ as build "
        "would. A failed book is reported and the others go on; exits 1 if any failed.",
    )
    catalogue.add_argument("catalogue", type=Path, metavar="CATALOGUE.toml")
    _add_scheduler(catalogue)
    catalogue.add_argument(
        "-q", "--quiet", action="store_true", help="no progress line and no summary table"
    )
    catalogue.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="where to write the JSON report (default: catalogue-report.json in the output)",
    )


def _run_catalogue(arguments: argparse.Namespace) -> int:
    from dreambook.catalogue import run_catalogue

    return run_catalogue(
        arguments.catalogue,
        scheduler=arguments.scheduler,
        quiet=arguments.quiet,
        interactive=sys.stderr.isatty(),
        report=arguments.report,
    )


# --- end of catalogue and --scheduler ------------------------------------------------------------


def _add_graph(commands: _Commands) -> None:
    graph = commands.add_parser(
        "graph",
        help="draw the map of the book (chapters and their links) as SVG or DOT",
        description="Write the map of the book into the output folder: chapters in reading "
        "order, Next Stages as solid arcs, cross-references dashed, unreachable chapters and "
        "dead ends marked. SVG needs nothing else; DOT is for Graphviz.",
    )
    _add_common(graph)
    graph.add_argument("--format", dest="map_format", choices=["svg", "dot"], default="svg")


def _add_preview(commands: _Commands) -> None:
    preview = commands.add_parser(
        "preview",
        help="serve the book on this computer and rebuild it on every change",
        description="Build the book, serve the HTML edition and the print PDF (as spreads) on "
        "127.0.0.1, watch the manuscript and styles, rebuild on every change and reload open "
        "pages. Build errors show over the last good book. Ctrl-C stops it.",
    )
    _add_common(preview)
    preview.add_argument("--port", type=int, default=0, help="port to serve on (default: any free)")


def _add_init(commands: _Commands) -> None:
    init = commands.add_parser(
        "init",
        help="create a new book that builds at once: book.toml, a first chapter, the styles",
        description="Create a manuscript folder with book.toml, a first chapter with the house "
        "sections and a copy of dreambook's templates and stylesheets to restyle.",
    )
    init.add_argument("folder", nargs="?", default="manuscript", type=Path, metavar="DIR")
    init.add_argument("--title", default="Untitled Book", help="the book's title")
    init.add_argument("--author", default="The Author", help="the book's author")


def _add_new(commands: _Commands) -> None:
    new = commands.add_parser(
        "new",
        help="write a new chapter with the house sections",
        description="Write a new chapter file with front matter and the house sections. With "
        "--after SLUG it goes beside that chapter and joins the end of its Next Stages.",
    )
    new.add_argument("title", metavar="TITLE", help="the new chapter's title")
    new.add_argument("manuscript", nargs="?", default="manuscript", type=Path)
    new.add_argument("--after", metavar="SLUG", help="the chapter whose Next Stages lead here")


def _bleed(text: str) -> float:
    """argparse type of --bleed: a length such as 0.125in or 3mm, in points."""
    from dreambook.config import parse_length

    try:
        return parse_length(text).points
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _add_preflight(commands: _Commands) -> None:
    preflight = commands.add_parser(
        "preflight",
        help="check a PDF for print: boxes, bleed, fonts, colour, images, rules, PDF/X",
        description="Read a PDF (any PDF, not only dreambook's) and report what a printer's "
        "prepress would refuse or question, as FILE:PAGE: CODE severity: message. Exits 1 "
        "when there are errors (or warnings, with --strict).",
    )
    preflight.add_argument("pdf", type=Path, metavar="FILE.pdf", help="the PDF to check")
    preflight.add_argument(
        "--bleed",
        type=_bleed,
        default=None,
        metavar="LENGTH",
        help="the bleed every page must have beyond its trim (default: 0.125in)",
    )
    preflight.add_argument(
        "--strict", action="store_true", help="treat warnings as errors (exit 1 on any finding)"
    )


def _run_preflight(arguments: argparse.Namespace) -> int:
    from dreambook.preflight import DEFAULT_BLEED, preflight

    path: Path = arguments.pdf
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    report = preflight(path, arguments.bleed if arguments.bleed is not None else DEFAULT_BLEED)
    for found in report.findings:
        print(format_diagnostic(found), file=sys.stderr)
    print(report.summary(), file=sys.stderr)
    failed = report.errors or (arguments.strict and report.findings)
    return EXIT_MANUSCRIPT if failed else EXIT_OK


def _run_preview(arguments: argparse.Namespace) -> int:
    from dreambook.preview import Preview, PreviewServer

    if not arguments.manuscript.is_dir():
        raise UsageError(f"{arguments.manuscript} is not a folder")
    preview = Preview(arguments.manuscript, arguments.output / "preview", _options(arguments))
    server = PreviewServer(preview, "127.0.0.1", arguments.port)
    server.start()
    print(f"previewing {arguments.manuscript} at {server.url} (Ctrl-C stops)", file=sys.stderr)
    try:
        while not preview.stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        server.stop()
    return EXIT_OK


def _run_scaffold(arguments: argparse.Namespace) -> int:
    from dreambook.scaffold import init_book, new_chapter

    if arguments.command == "init":
        written = init_book(arguments.folder, arguments.title, arguments.author, dt.date.today())
    else:
        if not arguments.manuscript.is_dir():
            raise UsageError(f"{arguments.manuscript} is not a folder")
        written = new_chapter(arguments.manuscript, arguments.title, arguments.after)
    for path in written:
        print(f"wrote {display_path(path)}", file=sys.stderr)
    return EXIT_OK


def _run_graph(checked: CheckedBook, arguments: argparse.Namespace) -> int:
    from dreambook.bookmap import build_map, render_dot, render_svg
    from dreambook.render import typeset_inline
    from dreambook.styles import book_styles

    _report(checked)
    if checked.has_errors:
        print(f"FAILED: {summarise(checked.diagnostics)}", file=sys.stderr)
        return EXIT_MANUSCRIPT
    # The titles as the book prints them (curly apostrophes), as in the PDF's and EPUB's map.
    titles = {c.slug: typeset_inline(c.title).striptags() for c in checked.book.chapters}
    book_map = build_map(checked.book, checked.graph, checked.reading_order, titles)
    name = slugify(checked.book.config.title) or "book"
    if arguments.map_format == "dot":
        text = render_dot(book_map, checked.book.config.title)
    else:
        text = render_svg(book_map, book_styles(checked.book.root, checked.book.config))
    destination = arguments.output / f"{name}-map.{arguments.map_format}"
    with atomic_output(destination) as output:
        output.write(text.encode("utf-8"))
    print(f"wrote {display_path(destination)}", file=sys.stderr)
    return EXIT_OK


def _report(checked: CheckedBook) -> None:
    for d in checked.diagnostics:
        print(format_diagnostic(d), file=sys.stderr)


def _how_reached(placement: Placement, via: str | None) -> str:
    if placement is Placement.NEXT_STAGE:
        return f"next stage of {via}"
    return str(placement.value)


def _run_check(checked: CheckedBook) -> int:
    _report(checked)
    chapters = len(checked.book.chapters)
    status = "FAILED" if checked.has_errors else "ok"
    print(
        f"{status}: {chapters} chapter{'s' if chapters != 1 else ''}, "
        f"{summarise(checked.diagnostics)}",
        file=sys.stderr,
    )
    return EXIT_MANUSCRIPT if checked.has_errors else EXIT_OK


def _run_order(checked: CheckedBook, arguments: argparse.Namespace) -> int:
    if arguments.write:
        # The lock is being replaced, so a difference from the old one is no problem.
        checked = replace(
            checked, diagnostics=tuple(d for d in checked.diagnostics if d.code != "DB045")
        )
    _report(checked)
    if checked.has_errors:
        print(f"FAILED: {summarise(checked.diagnostics)}", file=sys.stderr)
        return EXIT_MANUSCRIPT
    if arguments.explain:
        if arguments.explain not in checked.reading_order.slugs:
            print(f"dreambook: no chapter has the slug {arguments.explain!r}", file=sys.stderr)
            return EXIT_USAGE
        for sentence in explain_position(checked.graph, checked.reading_order, arguments.explain):
            print(sentence)
        return EXIT_OK
    if arguments.write:
        written = write_order_lock(
            checked.book.root, checked.book.config.title, checked.reading_order.slugs
        )
        print(f"wrote {display_path(written)}", file=sys.stderr)
    titles = {chapter.slug: chapter.title for chapter in checked.book.chapters}
    entries = checked.reading_order.entries
    slug_width = max((len(entry.slug) for entry in entries), default=4)
    width = len(str(len(entries)))
    for position, entry in enumerate(entries, start=1):
        print(
            f"{position:>{width}}  {entry.slug:<{slug_width}}  {titles[entry.slug]}  "
            f"({_how_reached(entry.placement, entry.via)})"
        )
    return EXIT_OK


def _peak_memory() -> dict[str, float]:
    """The largest resident set, in MB, of this process and of any one of its child processes
    (the layout workers, and git asked for the source date), all ended by now: a build's
    pools are shut down before it returns."""
    import resource

    scale = 1024 if sys.platform != "darwin" else 1024 * 1024  # kB on Linux, bytes on macOS
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / scale
    return {"dreambook": round(own, 1), "largest child": round(children, 1)}


def _options(arguments: argparse.Namespace) -> Options:
    return Options(
        strict=arguments.strict,
        trust_html=arguments.trust_html,
        limits=Limits(
            arguments.max_chapters,
            arguments.max_megabytes * 1024 * 1024,
            int(arguments.max_chapter_megabytes * 1024 * 1024),
        ),
    )


def _run_build(arguments: argparse.Namespace) -> int:
    formats = arguments.formats or list(DEFAULT_FORMATS)
    chosen = arguments.variants or ["digital"]
    variants = [v.value for v in Variant] if "all" in chosen else chosen
    started = time.perf_counter()
    if arguments.verbose:
        # The PDF writer reports each layout pass and the merge at INFO level.
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("  %(message)s"))
        logging.getLogger("dreambook").addHandler(handler)
        logging.getLogger("dreambook").setLevel(logging.INFO)
    # Progress lines only for a person watching a terminal; logs and pipes get the summary.
    show_progress = sys.stderr.isatty() and not arguments.quiet
    result = build_book(
        arguments.manuscript,
        arguments.output,
        formats,
        variants,
        _options(arguments),
        progress=_announce if show_progress else _silent,
        jobs=arguments.jobs,
        scheduler=arguments.scheduler,
    )
    elapsed = time.perf_counter() - started
    _report(result.checked)
    for found in result.writer_diagnostics:
        print(format_diagnostic(found), file=sys.stderr)
    if not arguments.quiet:
        for path in result.files:
            if path.is_dir():
                print(f"wrote {display_path(path)}/ (the HTML edition)", file=sys.stderr)
                continue
            size = path.stat().st_size
            pages = f", {result.pages[path]} pages" if path in result.pages else ""
            print(f"wrote {display_path(path)} ({size / 1024:.0f} KiB{pages})", file=sys.stderr)
        for line in result.summaries:
            print(line, file=sys.stderr)
    if arguments.verbose:
        for stage, seconds in result.timings.items():
            print(f"  {stage:<16} {seconds:6.2f} s", file=sys.stderr)
    if arguments.timings_json:
        report = {
            "stages": result.timings,
            "pages": max(result.pages.values(), default=None),
            "seconds": elapsed,
            "files": [str(path) for path in result.files],
            "peak_rss_mb": _peak_memory(),
        }
        arguments.timings_json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    diagnostics = (*result.checked.diagnostics, *result.writer_diagnostics)
    count = len(result.files)
    print(
        f"ok: {count} file{'s' if count != 1 else ''} written in {elapsed:.1f} s, "
        f"{summarise(diagnostics)}",
        file=sys.stderr,
    )
    return EXIT_OK


def _announce(message: str) -> None:
    """Progress reporter for a terminal: one line as each stage starts."""
    print(f"... {message}", file=sys.stderr)


def _silent(message: str) -> None:
    """Progress reporter for pipes, logs and --quiet: nothing."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status (0 ok, 1 manuscript errors, 2 usage,
    130 Ctrl-C, 143 SIGTERM)."""
    try:
        with _stopped_by_sigterm():
            return _main(argv)
    except KeyboardInterrupt:
        print("dreambook: stopped (SIGINT)", file=sys.stderr)
        return EXIT_SIGINT
    except _Stopped:
        print("dreambook: stopped (SIGTERM)", file=sys.stderr)
        return EXIT_SIGTERM


def _main(argv: Sequence[str] | None) -> int:
    try:
        arguments = _parser().parse_args(argv)
    except SystemExit as stop:  # argparse exits 2 on usage errors and 0 for --help/--version
        return int(stop.code or 0)
    try:
        if arguments.command == "build":
            return _run_build(arguments)
        if arguments.command in {"init", "new"}:
            return _run_scaffold(arguments)
        if arguments.command == "preview":
            return _run_preview(arguments)
        if arguments.command == "preflight":
            return _run_preflight(arguments)
        if arguments.command == "catalogue":
            return _run_catalogue(arguments)
        checked = check_manuscript(arguments.manuscript, _options(arguments))
        if arguments.command == "graph":
            return _run_graph(checked, arguments)
        if arguments.command == "check":
            return _run_check(checked)
        return _run_order(checked, arguments)
    except (UsageError, MissingDependencyError) as error:
        # Asked for something this command or this machine cannot do as asked.
        print(f"dreambook: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ManuscriptError as error:
        for d in error.diagnostics:
            print(format_diagnostic(d), file=sys.stderr)
        print(f"FAILED: {summarise(error.diagnostics)}; nothing was written", file=sys.stderr)
        return EXIT_MANUSCRIPT
    except BuildError as error:
        for d in error.diagnostics:
            print(format_diagnostic(d), file=sys.stderr)
        return EXIT_MANUSCRIPT
    except OSError as error:
        print(f"dreambook: cannot write the output: {error}", file=sys.stderr)
        return EXIT_MANUSCRIPT
    except DreambookError as error:
        print(f"dreambook: {error}", file=sys.stderr)
        return EXIT_MANUSCRIPT
