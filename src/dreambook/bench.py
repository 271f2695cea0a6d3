"""The benchmark any user can run: ``python -m dreambook.bench`` (or ``nox -s bench``).

It writes a synthetic manuscript of a chosen size into a temporary folder (deterministic
from a seed: Next Stages graphs, cross-references, footnotes, lists and a table in every
chapter), then times each case in a fresh process, several runs each, and reports the
median, minimum and maximum, the time per pipeline stage, pages per second and peak
memory, and for every case that lays out a PDF its layout passes and layout CPU seconds
(from the build's ``--timings-json``). The numbers are printed as a table and written as
JSON into ``build/``. When ``pandoc`` is installed the same text goes through pandoc ->
WeasyPrint and pandoc -> EPUB for comparison; without it the bench says so and judges
nothing against pandoc. Nothing here is a test: it measures, it never asserts.

More cases: ``check`` and ``order`` on a book of many short chapters (2,000 by default,
from the same generator), where the cost is reading and linking chapters rather than
laying out pages; the small book ``dreambook init`` writes, built cold as a PDF against
pandoc -> WeasyPrint of the same text; and, when ``dreambook.preview`` offers
``time_save``, the seconds from a save to the preview's spreads on the sample book.
The last section judges every target of the performance plan with the measured figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Made-up vocabulary: the generated prose is nonsense with realistic word and line lengths.
_WORDS = [
    "night",
    "corridor",
    "door",
    "stair",
    "lamp",
    "window",
    "river",
    "train",
    "platform",
    "ticket",
    "letter",
    "clock",
    "hallway",
    "voice",
    "shadow",
    "garden",
    "field",
    "city",
    "street",
    "market",
    "bridge",
    "harbour",
    "tower",
    "room",
    "table",
    "chair",
    "running",
    "hiding",
    "falling",
    "waiting",
    "searching",
    "climbing",
    "calling",
    "turning",
    "opening",
    "closing",
    "quiet",
    "sudden",
    "slow",
    "heavy",
    "bright",
    "distant",
    "familiar",
    "strange",
    "narrow",
    "endless",
    "early",
    "late",
    "remembers",
    "notices",
    "follows",
    "forgets",
    "carries",
    "answers",
    "watches",
    "listens",
    "returns",
    "leaves",
    "because",
    "although",
    "while",
    "until",
    "before",
    "after",
    "whenever",
    "perhaps",
    "almost",
    "always",
    "never",
    "the",
    "a",
    "an",
    "of",
    "to",
    "in",
    "on",
    "at",
    "with",
    "from",
    "into",
    "over",
    "under",
    "between",
    "behind",
    "beyond",
    "through",
]


def _sentence(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(_WORDS) for _ in range(words)]
    return " ".join(chosen).capitalize() + "."


def _paragraph(rng: random.Random, words: int) -> str:
    sentences = []
    while words > 0:
        length = min(words, rng.randint(8, 22))
        sentences.append(_sentence(rng, length))
        words -= length
    return " ".join(sentences)


def write_synthetic_manuscript(
    folder: Path, chapters: int = 40, words: int = 100_000, seed: int = 1
) -> Path:
    """Write a manuscript of ``chapters`` chapters and about ``words`` words; return its folder."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    slugs = [f"chapter-{number:04d}" for number in range(1, chapters + 1)]
    (folder / "book.toml").write_text(
        "[book]\n"
        'title = "Benchmark Book"\n'
        'author = "dreambook bench"\n'
        'language = "en"\n'
        'identifier = "urn:uuid:3d5c2a9e-8f14-4b7a-9e26-1c0b7d4f5a83"\n'
        f'start = "{slugs[0]}"\n'
        "date = 2026-01-01\n",
        encoding="utf-8",
    )
    per_chapter = max(words // chapters, 200)
    for index, slug in enumerate(slugs):
        others = [s for s in slugs if s != slug]
        # Next Stages: the next chapter first (so every chapter is reached), then two others.
        targets = [slugs[(index + 1) % chapters]] if chapters > 1 else []
        targets += rng.sample(others, k=min(2, len(others)))
        targets = list(dict.fromkeys(t for t in targets if t != slug))
        body = [f"Opening {_paragraph(rng, 60)}", "", "## Quick Answer", ""]
        body += [f"- {_sentence(rng, 12)}" for _ in range(3)]
        body += ["", "## Common Scenarios", ""]
        body += [f"- **{_sentence(rng, 3)}** {_sentence(rng, 15)}" for _ in range(3)]
        remaining = per_chapter - 200
        section = 0
        while remaining > 0:
            section += 1
            body += ["", f"## Essay Part {section}", ""]
            for _ in range(4):
                size = min(remaining, rng.randint(80, 160))
                text = _paragraph(rng, size)
                if others and rng.random() < 0.4:
                    target = rng.choice(others)
                    text += f" See [the related chapter]({target}.md#quick-answer)."
                if rng.random() < 0.15:
                    # Labels unique in the whole book, so the chapters can be joined for pandoc.
                    label = f"n{index + 1}-{section}-{remaining}"
                    text += f"[^{label}]"
                    body += [text, "", f"[^{label}]: {_sentence(rng, 14)}", ""]
                else:
                    body += [text, ""]
                remaining -= size
                if remaining <= 0:
                    break
        body += ["", "## At a Glance", "", "| Sign | Meaning |", "|---|---|"]
        body += [f"| {_sentence(rng, 3)} | {_sentence(rng, 6)} |" for _ in range(3)]
        body += ["", "## Next Stages", ""]
        body += [
            f"- [Chapter {t[-4:].lstrip('0')}]({t}.md) — {_sentence(rng, 10)}" for t in targets
        ]
        text = f"---\ntitle: Chapter {index + 1}\n---\n\n" + "\n".join(body) + "\n"
        (folder / f"{slug}.md").write_text(text, encoding="utf-8")
    return folder


@dataclass(frozen=True)
class LayoutFigures:
    """What the PDF writer reports about laying out one PDF (the ``layout`` entry of the
    build's ``--timings-json``, one per PDF file).

    ``cpu_seconds`` is all the layout CPU that edition cost (every pass, every process);
    ``one_layout_cpu_seconds`` is the CPU of laying every chunk out once, the floor a cold
    build is measured against.
    """

    passes: int
    chunks: int
    chunks_laid_out: int
    cpu_seconds: float
    one_layout_cpu_seconds: float
    pages: int

    @property
    def layouts(self) -> float | None:
        """Layout CPU as a multiple of one layout of the book (None when that is zero)."""
        if self.one_layout_cpu_seconds <= 0:
            return None
        return self.cpu_seconds / self.one_layout_cpu_seconds

    @property
    def cpu_per_page(self) -> float | None:
        """Layout CPU seconds per page of the PDF (None for a PDF of no pages)."""
        return self.cpu_seconds / self.pages if self.pages > 0 else None


def parse_layout(recorded: Mapping[str, object]) -> dict[str, LayoutFigures]:
    """Return the layout figures of a ``--timings-json`` report, by PDF file name.

    A report without a ``layout`` key (a build that wrote no PDF, or one from before the
    writer reported its layout) gives an empty dict; an entry that lacks a figure or holds
    one of the wrong type is left out rather than guessed at.
    """
    layout = recorded.get("layout")
    if not isinstance(layout, Mapping):
        return {}

    def count(entry: Mapping[str, object], key: str) -> int | None:
        value = entry.get(key)
        # bool is an int to Python, but never a count.
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def seconds(entry: Mapping[str, object], key: str) -> float | None:
        value = entry.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    figures = {}
    for name, entry in layout.items():
        if not isinstance(entry, Mapping):
            continue
        passes, chunks = count(entry, "passes"), count(entry, "chunks")
        laid_out, pages = count(entry, "chunks_laid_out"), count(entry, "pages")
        cpu, one = seconds(entry, "cpu_seconds"), seconds(entry, "one_layout_cpu_seconds")
        if (
            passes is None
            or chunks is None
            or laid_out is None
            or pages is None
            or cpu is None
            or one is None
        ):
            continue
        figures[str(name)] = LayoutFigures(passes, chunks, laid_out, cpu, one, pages)
    return figures


@dataclass
class CaseResult:
    """Timings of one benchmark case over several runs."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    pages: int | None = None
    # Size of the PDF the case wrote (its last run), when it wrote one.
    pdf_bytes: int | None = None
    # For builds: the peak of dreambook's own process and of its largest child (a layout
    # worker, in a PDF build), in MB.
    peak_by_process: dict[str, float] = field(default_factory=dict)
    # For builds that lay out a PDF: the writer's layout figures of the last run, by file name.
    layout: dict[str, LayoutFigures] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @property
    def layouts(self) -> float | None:
        """The case's layout CPU (every PDF of its last run) as a multiple of one layout."""
        one = sum(figures.one_layout_cpu_seconds for figures in self.layout.values())
        if not self.layout or one <= 0:
            return None
        return sum(figures.cpu_seconds for figures in self.layout.values()) / one


def _run(
    command: Sequence[str], cwd: Path | None = None, stdout: Path | None = None
) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak RSS of that process in MB). Raises on failure.

    The interpreter's own bin folder leads PATH, so pandoc finds the weasyprint command
    installed beside dreambook. What the command prints goes to ``stdout`` (a file), or
    nowhere.
    """
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    # stderr goes to a file, not a pipe: a chatty process could fill a pipe and never end.
    with tempfile.TemporaryFile() as errors, open(stdout or os.devnull, "wb") as printed:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=printed,
            stderr=errors,
            env={**os.environ, "PATH": path},
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{stderr}")
    return elapsed, usage.ru_maxrss / 1024


def _dreambook(*arguments: str | Path) -> list[str]:
    return [sys.executable, "-m", "dreambook", *map(str, arguments)]


def _time_case(
    name: str,
    runs: int,
    command: list[str],
    prepare: list[list[str]] | None = None,
    warm_up: bool = False,
) -> CaseResult:
    """Time ``command`` ``runs`` times, each run after the ``prepare`` commands.

    With ``warm_up`` the command runs once, untimed, before the first run: a case that
    measures a build of a book already built does not depend on the cases before it.
    """
    result = CaseResult(name)
    timings_file = Path(tempfile.mkstemp(suffix=".json")[1])
    if warm_up:
        subprocess.run(command, check=True, capture_output=True)
    for _ in range(runs):
        for step in prepare or []:
            subprocess.run(step, check=True, capture_output=True)
        full = [*command, "--timings-json", str(timings_file)] if "build" in command else command
        seconds, rss = _run(full)
        result.seconds.append(seconds)
        result.peak_rss_mb = max(result.peak_rss_mb, rss)
        if timings_file.stat().st_size:
            recorded = json.loads(timings_file.read_text())
            result.stages = recorded.get("stages", {})
            result.pages = recorded.get("pages") or result.pages
            result.layout = parse_layout(recorded)
            for process, megabytes in recorded.get("peak_rss_mb", {}).items():
                result.peak_by_process[process] = max(
                    megabytes, result.peak_by_process.get(process, 0.0)
                )
            for written in recorded.get("files", []):
                if written.endswith(".pdf"):
                    result.pdf_bytes = Path(written).stat().st_size
    timings_file.unlink(missing_ok=True)
    return result


def _edit_one_sentence(chapter: Path) -> list[str]:
    """A command that changes one sentence of ``chapter`` (a new word each run)."""
    script = (
        "import pathlib,sys,time;p=pathlib.Path(sys.argv[1]);t=p.read_text();"
        "i=t.index('Opening ');p.write_text(t[:i]+'Opening '+str(time.time_ns())+' '+t[i+8:])"
    )
    return [sys.executable, "-c", script, str(chapter)]


def _add_paragraph(chapter: Path) -> list[str]:
    script = (
        "import pathlib,sys;p=pathlib.Path(sys.argv[1]);t=p.read_text();"
        "i=t.index('## Quick Answer');"
        "p.write_text(t[:i]+('More words to push the page. '*60)+'\\n\\n'+t[i:])"
    )
    return [sys.executable, "-c", script, str(chapter)]


def _remove_folder(folder: Path) -> list[str]:
    """A command that deletes ``folder`` (a cold build starts with no cached pages)."""
    return [
        sys.executable,
        "-c",
        "import shutil,sys; shutil.rmtree(sys.argv[1], True)",
        str(folder),
    ]


ONE_PROCESS_CASE = "PDF only, one process (--jobs 1)"
# The book `dreambook init` writes (8 pages), laid out cold as a PDF, and pandoc's PDF of it.
NEW_BOOK_CASE = "new book (dreambook init), cold PDF"
PANDOC_NEW_BOOK_CASE = "pandoc -> WeasyPrint PDF, new book"
# Seconds from a save to the preview's updated spreads (dreambook.preview.time_save).
PREVIEW_CASE = "preview: spreads after a save"
# EPUB and HTML alone: "cold" from an empty output folder, "warm" on a book built before.
EPUB_CASE, EPUB_WARM_CASE = "EPUB only", "EPUB only, warm"
HTML_CASE, HTML_WARM_CASE = "HTML only", "HTML only, warm"


def graph_case_name(chapters: int, command: str = "check") -> str:
    """The name of the case that runs ``command`` on a book of ``chapters`` short chapters."""
    return f"{command} ({chapters:,}-chapter graph)"


@dataclass(frozen=True)
class _Case:
    """A case to time: its command, what runs before each run, and whether it is warmed up."""

    name: str
    command: list[str]
    prepare: list[list[str]] | None = None
    warm_up: bool = False


def write_new_book(folder: Path) -> Path:
    """Write the book ``dreambook init`` makes into ``folder`` (created); return ``folder``.

    Title, author and date are fixed, so the book (its identifier included) is the same
    on every run.
    """
    import datetime as dt

    from dreambook.scaffold import init_book

    folder.mkdir(parents=True, exist_ok=True)
    init_book(folder, "Benchmark New Book", "dreambook bench", dt.date(2026, 1, 1))
    return folder


def run_benchmark(
    chapters: int,
    words: int,
    runs: int,
    seed: int,
    work: Path,
    include_pdf: bool = True,
    graph_chapters: int = 0,
    one_process: bool = False,
    new_book: bool = False,
) -> list[CaseResult]:
    """Generate a manuscript in ``work`` and time every case; return the results.

    With ``graph_chapters``, a second manuscript of that many short chapters is generated
    and ``check`` and ``order`` are timed on it too (the cases named by
    ``graph_case_name``). With ``one_process``, the PDF is also laid out with ``--jobs 1``
    (ONE_PROCESS_CASE), the reference for the parallel layout's speed and file size. With
    ``new_book`` (and the PDF cases), the book ``dreambook init`` writes is built cold as a
    PDF (NEW_BOOK_CASE; the book is in ``work / "new-book"``).
    """
    manuscript = write_synthetic_manuscript(work / "manuscript", chapters, words, seed)
    output = work / "build"
    # Cold cases start from an empty output folder: no cached chapters or pages, no page
    # numbers from an earlier build.
    empty = [_remove_folder(output)]
    html = _dreambook("build", manuscript, "-o", output, "--format", "html")
    epub = _dreambook("build", manuscript, "-o", output, "--format", "epub")
    cases = [
        _Case("check", _dreambook("check", manuscript)),
        _Case(HTML_CASE, html, empty),
        _Case(HTML_WARM_CASE, html, warm_up=True),
        _Case(EPUB_CASE, epub, empty),
        _Case(EPUB_WARM_CASE, epub, warm_up=True),
    ]
    if include_pdf:
        middle = manuscript / f"chapter-{max(chapters // 2, 1):04d}.md"
        full = _dreambook(
            "build", manuscript, "-o", output, "--format", "pdf", "--format", "epub",
            "--format", "html",
        )  # fmt: skip
        pdf_only = _dreambook("build", manuscript, "-o", output, "--format", "pdf")
        cases += [
            _Case("cold full build (PDF + EPUB + HTML)", full, empty),
            _Case("PDF only", pdf_only, empty),
        ]
        if one_process:
            alone = work / "build-one-process"
            command = _dreambook("build", manuscript, "-o", alone, "--format", "pdf", "--jobs", "1")
            cases.append(_Case(ONE_PROCESS_CASE, command, [_remove_folder(alone)]))
        # Rebuilds of a book built in full just before, whatever the cases above left.
        cases += [
            _Case("rebuild after a one-sentence edit", full, [_edit_one_sentence(middle)], True),
            _Case("rebuild after adding a paragraph", full, [_add_paragraph(middle)], True),
        ]
        if new_book:
            small = write_new_book(work / "new-book")
            small_output = work / "build-new-book"
            command = _dreambook("build", small, "-o", small_output, "--format", "pdf")
            cases.append(_Case(NEW_BOOK_CASE, command, [_remove_folder(small_output)]))
    if graph_chapters:
        # 100 words a chapter; the generator writes at least 200 (the house sections and
        # three Next Stages), so this is the shortest chapter it makes.
        graph_book = write_synthetic_manuscript(
            work / "graph-manuscript", graph_chapters, 100 * graph_chapters, seed
        )
        cases.append(_Case(graph_case_name(graph_chapters), _dreambook("check", graph_book)))
        cases.append(
            _Case(graph_case_name(graph_chapters, "order"), _dreambook("order", graph_book))
        )
    results = []
    for case in cases:
        started = time.perf_counter()
        results.append(_time_case(case.name, runs, case.command, case.prepare, case.warm_up))
        _progress(results[-1], time.perf_counter() - started)
    return results


def _progress(result: CaseResult, took: float) -> None:
    """Print one line as each case ends: a long run shows how far it is, and what each case
    costs (runs, preparation and warm-up included) for planning the next one."""
    print(f"  {result.name}: median {result.median:.2f} s; the case took {took:.0f} s", flush=True)


def preview_book(start: Path | None = None) -> Path | None:
    """The sample book the preview case edits: ``manuscript/`` in ``start`` (the current
    folder by default) or in the source checkout this module lives in; None when neither
    holds one."""
    here = Path(__file__).resolve().parents[2]
    for folder in (start or Path.cwd(), here):
        if (folder / "manuscript" / "book.toml").is_file():
            return folder / "manuscript"
    return None


# Runs time_save on the folders given and prints what it returned as one line of JSON, last.
_PREVIEW_SCRIPT = (
    "import json,pathlib,sys\n"
    "from dreambook.preview import time_save\n"
    "said = time_save(*map(pathlib.Path, sys.argv[1:]))\n"
    "print(json.dumps(said if isinstance(said, dict) else float(said)))\n"
)


def preview_seconds(said: object) -> tuple[float, dict[str, float]]:
    """Read what ``time_save`` returned: the seconds to the spreads and its other figures.

    A number is the seconds itself; a dict holds them under ``"spreads"``, and its other
    numbers (stages, counts) come back as the second item. Raises ValueError for anything
    else.
    """
    if isinstance(said, int | float) and not isinstance(said, bool):
        return float(said), {}
    if isinstance(said, dict) and isinstance(said.get("spreads"), int | float):
        others = {
            str(key): float(value)
            for key, value in said.items()
            if key != "spreads" and isinstance(value, int | float) and not isinstance(value, bool)
        }
        return float(said["spreads"]), others
    raise ValueError(f"time_save returned {str(said)[:200]}, not seconds nor a 'spreads' entry")


def run_preview_case(book: Path | None, work: Path, runs: int) -> CaseResult | str:
    """Time the preview after a save ``runs`` times, each in a fresh process; return the
    result, or why the case was skipped.

    ``dreambook.preview.time_save`` builds the book as the preview does, edits a sentence,
    rebuilds and returns the seconds until the spreads are ready: either as a number, or
    as the ``"spreads"`` entry of a dict of figures (whose others become the case's
    stages). It is called as ``time_save(copy)`` on a fresh copy of ``book`` when it takes
    one folder, as ``time_save(book, work)`` with a fresh work folder when it takes two (it
    copies the book there itself). The case records those seconds, not the whole
    command's, and the peak memory of the process.
    """
    import inspect

    from dreambook import preview

    time_save = getattr(preview, "time_save", None)
    if time_save is None:
        return "dreambook.preview has no time_save(): the preview case is skipped"
    if book is None:
        return "no sample book (manuscript/ with a book.toml) found: the preview case is skipped"
    required = [
        parameter
        for parameter in inspect.signature(time_save).parameters.values()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind
        in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(required) not in (1, 2):
        return (
            f"dreambook.preview.time_save{inspect.signature(time_save)} takes neither the "
            "book's folder nor it and a work folder: the preview case is skipped"
        )
    result = CaseResult(PREVIEW_CASE)
    started = time.perf_counter()
    for run in range(runs):
        folder = work / f"preview-{run}"
        if len(required) == 1:
            # A fresh copy each run: the edit and the built output never reach the sample book.
            copy = folder / "manuscript"
            shutil.copytree(book, copy, ignore=shutil.ignore_patterns("build", ".cache"))
            arguments = [str(copy)]
        else:
            arguments = [str(book), str(folder / "work")]
            folder.mkdir(parents=True, exist_ok=True)
        output = folder / "said.json"
        try:
            _, rss = _run([sys.executable, "-c", _PREVIEW_SCRIPT, *arguments], stdout=output)
            # The figures are the last line printed: whatever time_save prints comes before.
            seconds, others = preview_seconds(
                json.loads(output.read_text("utf-8").strip().splitlines()[-1])
            )
        except (RuntimeError, ValueError, IndexError) as error:
            return f"the preview case failed, so it is left out: {str(error)[-300:]}"
        result.seconds.append(seconds)
        result.stages = others
        result.peak_rss_mb = max(result.peak_rss_mb, rss)
    _progress(result, time.perf_counter() - started)
    return result


# About this many words fill a page of the default 6 x 9 in book (the 100,000-word
# benchmark book makes some 405 pages).
WORDS_PER_PAGE = 250


@dataclass
class CatalogueCase:
    """The catalogue case: the same books built one after another with ``build`` and as one
    ``catalogue --scheduler local``; wall seconds, CPU seconds (of every process of the
    command) and the peak resident set of the largest single process, per way."""

    books: int
    pages: int
    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    peak_mb: dict[str, float] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """The case as lines of the printed report."""
        rows = [
            f"catalogue of {self.books} books, {self.pages} pages:",
            f"  {'way':<34} {'wall s':>8} {'pages/s':>8} {'CPU s/page':>10} {'peak MB':>8}",
        ]
        for way, wall in self.wall.items():
            rows.append(
                f"  {way:<34} {wall:8.2f} {self.pages / wall:8.1f} "
                f"{self.cpu[way] / self.pages:10.3f} {self.peak_mb[way]:8.0f}"
            )
        return rows


def write_synthetic_catalogue(
    folder: Path, books: int, min_pages: int, max_pages: int, seed: int
) -> Path:
    """Write ``books`` synthetic manuscripts from about ``min_pages`` to ``max_pages`` pages
    (evenly spaced) and a catalogue file listing them (PDF, digital); return its path."""
    entries = []
    for number in range(books):
        pages = min_pages + (max_pages - min_pages) * number // max(books - 1, 1)
        words = pages * WORDS_PER_PAGE
        book = write_synthetic_manuscript(
            folder / "books" / f"book-{number:02d}", max(2, words // 2500), words, seed + number
        )
        toml = book / "book.toml"
        toml.write_text(
            toml.read_text("utf-8").replace("Benchmark Book", f"Benchmark Book {number + 1}"),
            encoding="utf-8",
        )
        entries.append(f'[[book]]\npath = "books/book-{number:02d}"\n')
    catalogue = folder / "catalogue.toml"
    catalogue.write_text(
        '[catalogue]\noutput = "out"\nformats = ["pdf"]\nvariants = ["digital"]\n\n'
        + "\n".join(entries),
        encoding="utf-8",
    )
    return catalogue


def _children_cpu() -> float:
    """CPU seconds of every child process this process has waited for (and theirs)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_catalogue_case(
    work: Path, books: int, min_pages: int, max_pages: int, seed: int
) -> CatalogueCase:
    """Time the catalogue case once each way, from empty output folders."""
    catalogue = write_synthetic_catalogue(work / "catalogue", books, min_pages, max_pages, seed)
    folders = sorted((catalogue.parent / "books").iterdir())
    report = work / "catalogue-report.json"
    case = CatalogueCase(books, 0)
    ways: list[tuple[str, list[list[str]]]] = [
        (
            "build, one book after another",
            [
                _dreambook("build", book, "-o", work / "alone" / book.name, "--format", "pdf")
                for book in folders
            ],
        ),
        (
            "catalogue --scheduler local",
            [_dreambook("catalogue", catalogue, "--scheduler", "local", "-q", "--report", report)],
        ),
    ]
    for way, commands in ways:
        cpu = _children_cpu()
        wall, peak = 0.0, 0.0
        for command in commands:
            seconds, rss = _run(command)
            wall += seconds
            peak = max(peak, rss)
        case.wall[way], case.peak_mb[way] = wall, peak
        case.cpu[way] = _children_cpu() - cpu
    case.pages = int(json.loads(report.read_text("utf-8"))["pages"])
    return case


def thousand_titles(case: CatalogueCase, machines: int, cores: int) -> str:
    """A line estimating a rebuild of 1,000 titles of the case's mean length on ``machines``
    machines of ``cores`` cores, from the catalogue's measured CPU seconds per page."""
    way = "catalogue --scheduler local"
    per_page = case.cpu[way] / case.pages
    pages = 1000 * case.pages / case.books
    hours = per_page * pages / 3600
    return (
        f"1,000 titles of {pages / 1000:.0f} pages at {per_page:.3f} CPU s/page: "
        f"{hours:.1f} CPU-hours, about {hours / (machines * cores):.1f} h on {machines} "
        f"machines of {cores} cores"
    )


def pandoc_source(manuscript: Path) -> str:
    """The manuscript as one Markdown file for pandoc: chapters in dreambook's reading order,
    each front matter turned into the chapter's heading (so both tools set the same text)."""
    from dreambook.pipeline import check_manuscript

    checked = check_manuscript(manuscript)
    chapters = {chapter.slug: chapter for chapter in checked.book.chapters}
    parts = []
    for entry in checked.reading_order.entries:
        chapter = chapters[entry.slug]
        text = chapter.path.read_text(encoding="utf-8")
        body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
        parts.append(f"# {chapter.title}\n\n{body.strip()}\n")
    return "\n\n".join(parts)


PANDOC_MISSING = (
    "pandoc is not installed (Debian: apt-get install pandoc): the comparisons with pandoc "
    "are skipped, and no target measured against pandoc is judged"
)


def _pandoc_cases(
    manuscript: Path, work: Path, runs: int, new_book: Path | None = None
) -> list[CaseResult] | str:
    """Time pandoc on the same text as dreambook: -> WeasyPrint PDF and -> EPUB for
    ``manuscript``, and -> WeasyPrint PDF for ``new_book`` when given. Return the results,
    or why there are none (no pandoc, or pandoc failed)."""
    pandoc = shutil.which("pandoc")
    if pandoc is None:
        return PANDOC_MISSING
    combined = work / "book.md"
    combined.write_text(pandoc_source(manuscript), "utf-8")
    jobs = [
        ("pandoc -> WeasyPrint PDF", combined, work / "pandoc.pdf", ["--pdf-engine=weasyprint"]),
        ("pandoc -> EPUB", combined, work / "pandoc.epub", []),
    ]
    if new_book is not None:
        small = work / "new-book.md"
        small.write_text(pandoc_source(new_book), "utf-8")
        jobs.append(
            (PANDOC_NEW_BOOK_CASE, small, work / "new-book.pdf", ["--pdf-engine=weasyprint"])
        )
    results = []
    for name, source, target, extra in jobs:
        result = CaseResult(name)
        started = time.perf_counter()
        try:
            for _ in range(runs):
                seconds, rss = _run([pandoc, str(source), "-o", str(target), *extra], cwd=work)
                result.seconds.append(seconds)
                result.peak_rss_mb = max(result.peak_rss_mb, rss)
        except RuntimeError as error:
            return f"the pandoc comparison failed, so it is left out: {str(error)[-300:]}"
        results.append(result)
        _progress(result, time.perf_counter() - started)
    return results


def _table(results: Sequence[CaseResult]) -> str:
    """The results as a table, then each case's time per pipeline stage and its layout
    figures (last run).

    "peak MB" is the largest resident set of any one process of the case: dreambook's own
    or one of its layout workers (the kernel reports the largest of a process and the
    children it waited for).
    """
    rows = [f"{'case':<40} {'median s':>9} {'min s':>7} {'max s':>7} {'peak MB':>8} {'pages/s':>8}"]
    for result in results:
        pages = f"{result.pages / result.median:8.1f}" if result.pages else f"{'':>8}"
        rows.append(
            f"{result.name:<40} {result.median:9.2f} {min(result.seconds):7.2f} "
            f"{max(result.seconds):7.2f} {result.peak_rss_mb:8.0f} {pages}"
        )
    rows.append("time per stage (s):")
    for result in results:
        if result.stages:
            stages = ", ".join(f"{name} {seconds:.2f}" for name, seconds in result.stages.items())
            memory = ", ".join(f"{name} {mb:.0f}" for name, mb in result.peak_by_process.items())
            rows.append(f"  {result.name}: {stages}" + (f" (peak MB: {memory})" if memory else ""))
    rows += layout_lines(results)
    return "\n".join(rows)


def layout_lines(results: Sequence[CaseResult]) -> list[str]:
    """Each PDF case's layout, last run: passes, chunks laid out, layout CPU seconds as a
    multiple of one layout of the book, and per page.

    A case that built a PDF but whose build reported no layout figures says so.
    """
    rows = ["layout (last run; CPU of every layout process):"]
    for result in results:
        if not result.layout:
            if result.pdf_bytes is not None:
                rows.append(f"  {result.name}: the build reported no layout figures")
            continue
        for name, figures in result.layout.items():
            layouts = f"{figures.layouts:.2f}" if figures.layouts is not None else "?"
            per_page = (
                f"{figures.cpu_per_page * 1000:.1f} ms" if figures.cpu_per_page is not None else "?"
            )
            rows.append(
                f"  {result.name}: {name}: {figures.passes} passes, "
                f"{figures.chunks_laid_out} chunk layouts of {figures.chunks} chunks, "
                f"{figures.cpu_seconds:.2f} CPU s = {layouts} x one layout "
                f"({figures.one_layout_cpu_seconds:.2f} s), {per_page}/page over "
                f"{figures.pages} pages"
            )
    return rows if len(rows) > 1 else []


def target_lines(
    by_size: Mapping[int, Sequence[CaseResult]],
    scale: int,
    graph_chapters: int,
    skipped: Mapping[str, str] | None = None,
) -> list[str]:
    """Each target of the performance plan, with the measured figure and whether it is met.

    First the targets of issue 18 (its table), then the earlier targets the benchmark keeps
    judging. A target whose cases were not run is "not measured", with the reason from
    ``skipped`` when there is one (keys: "pandoc", "preview").
    """
    skipped = skipped or {}
    one = _by_name(by_size.get(1, []))
    medians = {name: result.median for name, result in one.items()}
    lines: list[str] = []

    def judge(
        label: str,
        value: float | None,
        limit: float,
        unit: str = "",
        why: str | None = None,
        earlier: float | None = None,
    ) -> None:
        if value is None:
            lines.append(f"  {label}: not measured" + (f" ({why})" if why else " in this run"))
            return
        verdict = "met" if value <= limit else "NOT met"
        line = f"  {label}: {value:.2f}{unit} (target <= {limit}{unit}) {verdict}"
        if earlier is not None:
            line += (
                f"; earlier target <= {earlier}{unit} {'met' if value <= earlier else 'NOT met'}"
            )
        lines.append(line)

    def ratio(top: str, bottom: str) -> float | None:
        if top in medians and bottom in medians and medians[bottom] > 0:
            return medians[top] / medians[bottom]
        return None

    pandoc = skipped.get("pandoc")
    lines.append("issue 18:")
    judge(
        "cold PDF / pandoc -> WeasyPrint",
        ratio("PDF only", "pandoc -> WeasyPrint PDF"),
        0.75,
        why=pandoc,
    )
    cold = one.get("PDF only")
    judge(
        "cold PDF layout CPU / one layout of the book",
        cold.layouts if cold else None,
        1.2,
        why="the build reported no layout figures" if cold and not cold.layout else None,
    )
    for case in (EPUB_CASE, EPUB_WARM_CASE, HTML_CASE, HTML_WARM_CASE):
        label = f"{case}{'' if 'warm' in case else ', cold'} / pandoc -> EPUB"
        judge(label, ratio(case, "pandoc -> EPUB"), 0.5, why=pandoc, earlier=0.7)
    small = one.get(NEW_BOOK_CASE)
    pages = f", {small.pages} pages" if small and small.pages else ""
    judge(
        f"new book (dreambook init{pages}) cold PDF / pandoc -> WeasyPrint",
        ratio(NEW_BOOK_CASE, PANDOC_NEW_BOOK_CASE),
        1.3,
        why=pandoc,
    )
    judge(
        "preview: spreads after a save (sample book)",
        medians.get(PREVIEW_CASE),
        2.0,
        " s",
        why=skipped.get("preview"),
    )
    for command in ("check", "order"):
        judge(
            f"{command} on {graph_chapters:,} chapters",
            medians.get(graph_case_name(graph_chapters, command)),
            0.5,
            " s",
        )
    lines.append("earlier targets:")
    judge(
        "one-sentence rebuild / cold full build",
        ratio("rebuild after a one-sentence edit", "cold full build (PDF + EPUB + HTML)"),
        0.25,
    )
    scaled = {name: r.median for name, r in _by_name(by_size.get(scale, [])).items()}
    for case in ("PDF only", EPUB_CASE):
        grown = scaled[case] / medians[case] if case in scaled and case in medians else None
        judge(f"{case} at {scale}x the book / at 1x", grown if scale > 1 else None, 1.1 * scale)
    # pandoc's memory is not dreambook's, and the one-process layout is the reference the
    # parallel one is compared with, not a way anyone is asked to build.
    peaks = [
        r.peak_rss_mb
        for results in by_size.values()
        for r in results
        if not r.name.startswith("pandoc") and r.name != ONE_PROCESS_CASE
    ]
    judge("peak memory of any one process", max(peaks) if peaks else None, 400, " MB")
    sizes = [
        one[name].pdf_bytes if name in one else None for name in ("PDF only", ONE_PROCESS_CASE)
    ]
    judge(
        "PDF size, parallel / one process",
        sizes[0] / sizes[1] if sizes[0] and sizes[1] else None,
        1.15,
    )
    return lines


def _by_name(results: Sequence[CaseResult]) -> dict[str, CaseResult]:
    return {result.name: result for result in results}


def compile_bytecode() -> str:
    """Compile dreambook's modules to bytecode, as pip does when it installs a package, and
    say what was done. A source checkout installed editable and run with
    PYTHONDONTWRITEBYTECODE (as CI images set it) compiles every module again at every
    start: a timed command would measure that compiling (about 0.05 s for ``check``),
    which no installed dreambook pays."""
    import compileall

    package = Path(__file__).resolve().parent
    if compileall.compile_dir(package, quiet=2, workers=1):
        return f"dreambook's modules in {package} are compiled"
    return f"could not compile every module in {package}; starts may include compiling"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark from the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m dreambook.bench", description=__doc__)
    parser.add_argument("--chapters", type=int, default=40)
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--runs-scaled", type=int, default=1, help="runs of each case for the larger book"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--scale", type=int, default=4, help="also time a book this many times larger (1: no)"
    )
    parser.add_argument("--no-pdf", action="store_true", help="skip the PDF cases (quick runs)")
    parser.add_argument(
        "--graph-chapters",
        type=int,
        default=2000,
        help="chapters of the book that the graph case checks (0: skip that case)",
    )
    parser.add_argument(
        "--catalogue-books",
        type=int,
        default=4,
        help="books of the catalogue case (0: skip it; the issue's full case is 12 books "
        "of 20 to 400 pages: --catalogue-books 12 --catalogue-max-pages 400)",
    )
    parser.add_argument("--catalogue-min-pages", type=int, default=20)
    parser.add_argument("--catalogue-max-pages", type=int, default=80)
    parser.add_argument(
        "--preview-book",
        type=Path,
        default=None,
        help="the book the preview case edits, copied first  [default: the sample book, "
        "manuscript/ in the current folder or the source checkout]",
    )
    parser.add_argument(
        "--no-preview", action="store_true", help="skip the preview case (it builds its book)"
    )
    parser.add_argument("-o", "--output", type=Path, default=Path("build"))
    arguments = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"bytecode: {compile_bytecode()}", flush=True)
    report: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "book": {"chapters": arguments.chapters, "words": arguments.words, "seed": arguments.seed},
        "graph_book": {"chapters": arguments.graph_chapters, "seed": arguments.seed},
    }
    sizes = [1] + ([arguments.scale] if arguments.scale > 1 else [])
    by_size: dict[int, list[CaseResult]] = {}
    skipped: dict[str, str] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="dreambook-bench-") as temporary:
            work = Path(temporary)
            chapters, words = arguments.chapters * size, arguments.words * size
            print(f"\n== {chapters} chapters, about {words:,} words ({size}x) ==", flush=True)
            runs = arguments.runs if size == 1 else arguments.runs_scaled
            # The graph book, the new book and the preview do not grow with --scale: timed
            # once, with the 1x cases; so is the one-process layout, which takes minutes at 4x.
            first = size == 1
            new_book = first and not arguments.no_pdf
            results = run_benchmark(
                chapters,
                words,
                runs,
                arguments.seed,
                work,
                not arguments.no_pdf,
                arguments.graph_chapters if first else 0,
                one_process=first,
                new_book=new_book,
            )
            if first and not arguments.no_preview:
                book = arguments.preview_book or preview_book()
                preview = run_preview_case(book, work, runs)
                if isinstance(preview, str):
                    skipped["preview"] = preview
                    print(preview)
                else:
                    results.append(preview)
            comparison = _pandoc_cases(
                work / "manuscript", work, runs, work / "new-book" if new_book else None
            )
            if isinstance(comparison, str):
                skipped["pandoc"] = comparison
                print(comparison)
            else:
                results += comparison
            print(_table(results))
            by_size[size] = results
            report[f"{size}x"] = [
                asdict(r) | {"median": r.median, "layouts": r.layouts} for r in results
            ]
    if arguments.catalogue_books:
        print(f"\n== catalogue: {arguments.catalogue_books} books ==", flush=True)
        with tempfile.TemporaryDirectory(prefix="dreambook-bench-") as temporary:
            case = run_catalogue_case(
                Path(temporary),
                arguments.catalogue_books,
                arguments.catalogue_min_pages,
                arguments.catalogue_max_pages,
                arguments.seed,
            )
        for line in case.lines():
            print(line)
        print(f"  {thousand_titles(case, 10, os.cpu_count() or 1)}")
        report["catalogue"] = asdict(case)
    print("\n== against the targets (set for the default book: 40 chapters, 100,000 words) ==")
    targets = target_lines(by_size, arguments.scale, arguments.graph_chapters, skipped)
    for line in targets:
        print(line)
    elapsed = time.perf_counter() - started
    report["targets"] = targets
    report["skipped"] = skipped
    report["bench_seconds"] = elapsed
    arguments.output.mkdir(parents=True, exist_ok=True)
    destination = arguments.output / "bench.json"
    destination.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwrote {destination}; the benchmark took {elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
