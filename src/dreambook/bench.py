"""The benchmark any user can run: ``python -m dreambook.bench`` (or ``nox -s bench``).

It writes a synthetic manuscript of a chosen size into a temporary folder (deterministic
from a seed: Next Stages graphs, cross-references, footnotes, lists and a table in every
chapter), then times each case in a fresh process, several runs each, and reports the
median, minimum and maximum, the time per pipeline stage, pages per second and peak
memory. The numbers are printed as a table and written as JSON into ``build/``. When
``pandoc`` is installed the same text goes through pandoc -> WeasyPrint and pandoc -> EPUB
for comparison. Nothing here is a test: it measures, it never asserts.

One more case times ``check`` on a book of many short chapters (2,000 by default, from the
same generator), where the cost is reading and linking chapters rather than laying out pages.
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
from collections.abc import Sequence
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

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def _run(command: Sequence[str], cwd: Path | None = None) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak RSS of that process in MB). Raises on failure.

    The interpreter's own bin folder leads PATH, so pandoc finds the weasyprint command
    installed beside dreambook.
    """
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    # stderr goes to a file, not a pipe: a chatty process could fill a pipe and never end.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
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
    name: str, runs: int, command: list[str], prepare: list[list[str]] | None = None
) -> CaseResult:
    result = CaseResult(name)
    timings_file = Path(tempfile.mkstemp(suffix=".json")[1])
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


def graph_case_name(chapters: int, command: str = "check") -> str:
    """The name of the case that runs ``command`` on a book of ``chapters`` short chapters."""
    return f"{command} ({chapters:,}-chapter graph)"


def run_benchmark(
    chapters: int,
    words: int,
    runs: int,
    seed: int,
    work: Path,
    include_pdf: bool = True,
    graph_chapters: int = 0,
    one_process: bool = False,
) -> list[CaseResult]:
    """Generate a manuscript in ``work`` and time every case; return the results.

    With ``graph_chapters``, a second manuscript of that many short chapters is generated
    and ``check`` is timed on it too (the case named by ``graph_case_name``). With
    ``one_process``, the PDF is also laid out with ``--jobs 1`` (ONE_PROCESS_CASE), the
    reference for the parallel layout's speed and file size.
    """
    manuscript = write_synthetic_manuscript(work / "manuscript", chapters, words, seed)
    output = work / "build"
    results = []
    cases: list[tuple[str, list[str], list[list[str]] | None]] = [
        ("check", _dreambook("check", manuscript), None),
        ("HTML only", _dreambook("build", manuscript, "-o", output, "--format", "html"), None),
    ]
    cases.append(
        ("EPUB only", _dreambook("build", manuscript, "-o", output, "--format", "epub"), None)
    )
    if include_pdf:
        middle = manuscript / f"chapter-{max(chapters // 2, 1):04d}.md"
        full = _dreambook(
            "build", manuscript, "-o", output, "--format", "pdf", "--format", "epub",
            "--format", "html",
        )  # fmt: skip
        # Cold cases start from an empty output folder: no page numbers from an earlier build.
        empty = [_remove_folder(output)]
        pdf_only = _dreambook("build", manuscript, "-o", output, "--format", "pdf")
        cases += [
            ("cold full build (PDF + EPUB + HTML)", full, empty),
            ("PDF only", pdf_only, empty),
        ]
        if one_process:
            alone = work / "build-one-process"
            command = _dreambook("build", manuscript, "-o", alone, "--format", "pdf", "--jobs", "1")
            cases.append((ONE_PROCESS_CASE, command, [_remove_folder(alone)]))
        cases += [
            ("rebuild after a one-sentence edit", full, [_edit_one_sentence(middle)]),
            ("rebuild after adding a paragraph", full, [_add_paragraph(middle)]),
        ]
    if graph_chapters:
        # 100 words a chapter; the generator writes at least 200 (the house sections and
        # three Next Stages), so this is the shortest chapter it makes.
        graph_book = write_synthetic_manuscript(
            work / "graph-manuscript", graph_chapters, 100 * graph_chapters, seed
        )
        cases.append((graph_case_name(graph_chapters), _dreambook("check", graph_book), None))
        cases.append(
            (graph_case_name(graph_chapters, "order"), _dreambook("order", graph_book), None)
        )
    for name, command, prepare in cases:
        results.append(_time_case(name, runs, command, prepare))
    return results


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


def _pandoc_cases(manuscript: Path, work: Path, runs: int) -> list[CaseResult] | str:
    pandoc = shutil.which("pandoc")
    if pandoc is None:
        return "pandoc is not installed: the comparison with pandoc is skipped"
    combined = work / "book.md"
    combined.write_text(pandoc_source(manuscript), "utf-8")
    results = []
    for name, target, extra in (
        ("pandoc -> WeasyPrint PDF", work / "pandoc.pdf", ["--pdf-engine=weasyprint"]),
        ("pandoc -> EPUB", work / "pandoc.epub", []),
    ):
        result = CaseResult(name)
        try:
            for _ in range(runs):
                seconds, rss = _run([pandoc, str(combined), "-o", str(target), *extra], cwd=work)
                result.seconds.append(seconds)
                result.peak_rss_mb = max(result.peak_rss_mb, rss)
        except RuntimeError as error:
            return f"the pandoc comparison failed, so it is left out: {str(error)[-300:]}"
        results.append(result)
    return results


def _table(results: Sequence[CaseResult]) -> str:
    """The results as a table, then each case's time per pipeline stage (last run).

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
    return "\n".join(rows)


def target_lines(
    by_size: dict[int, list[CaseResult]], scale: int, graph_chapters: int
) -> list[str]:
    """Each target of the performance issue, with the measured figure and whether it is met.

    A target whose cases were not run (no pandoc, --no-pdf, --scale 1) is said to be skipped.
    """
    medians = {name: result.median for name, result in _by_name(by_size.get(1, [])).items()}
    lines = []

    def judge(label: str, value: float | None, limit: float, unit: str = "") -> None:
        if value is None:
            lines.append(f"  {label}: not measured in this run")
            return
        verdict = "met" if value <= limit else "NOT met"
        lines.append(f"  {label}: {value:.2f}{unit} (target <= {limit}{unit}) {verdict}")

    def ratio(top: str, bottom: str) -> float | None:
        if top in medians and bottom in medians and medians[bottom] > 0:
            return medians[top] / medians[bottom]
        return None

    judge("cold PDF / pandoc -> WeasyPrint", ratio("PDF only", "pandoc -> WeasyPrint PDF"), 0.75)
    judge(
        "one-sentence rebuild / cold full build",
        ratio("rebuild after a one-sentence edit", "cold full build (PDF + EPUB + HTML)"),
        0.25,
    )
    judge("EPUB only / pandoc -> EPUB", ratio("EPUB only", "pandoc -> EPUB"), 0.7)
    judge("HTML only / pandoc -> EPUB", ratio("HTML only", "pandoc -> EPUB"), 0.7)
    for command in ("check", "order"):
        judge(
            f"{command} on {graph_chapters:,} chapters",
            medians.get(graph_case_name(graph_chapters, command)),
            1.0,
            " s",
        )
    scaled = {name: r.median for name, r in _by_name(by_size.get(scale, [])).items()}
    for case in ("PDF only", "EPUB only"):
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
    one = _by_name(by_size.get(1, []))
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
    parser.add_argument("-o", "--output", type=Path, default=Path("build"))
    arguments = parser.parse_args(argv)
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
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="dreambook-bench-") as temporary:
            work = Path(temporary)
            chapters, words = arguments.chapters * size, arguments.words * size
            print(f"\n== {chapters} chapters, about {words:,} words ({size}x) ==", flush=True)
            runs = arguments.runs if size == 1 else arguments.runs_scaled
            results = run_benchmark(
                chapters,
                words,
                runs,
                arguments.seed,
                work,
                not arguments.no_pdf,
                # The graph book does not grow with --scale: timed once, with the 1x cases;
                # so is the one-process layout, which takes minutes at 4x.
                arguments.graph_chapters if size == 1 else 0,
                one_process=size == 1,
            )
            comparison = _pandoc_cases(work / "manuscript", work, runs)
            if isinstance(comparison, str):
                print(comparison)
            else:
                results += comparison
            print(_table(results))
            by_size[size] = results
            report[f"{size}x"] = [asdict(r) | {"median": r.median} for r in results]
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
    for line in target_lines(by_size, arguments.scale, arguments.graph_chapters):
        print(line)
    arguments.output.mkdir(parents=True, exist_ok=True)
    destination = arguments.output / "bench.json"
    destination.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"\nwrote {destination}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
