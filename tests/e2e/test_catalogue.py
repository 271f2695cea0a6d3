"""`dreambook catalogue`: three small books built on a Dask LocalCluster (two worker
processes, started here) and on the local pool, compared byte for byte with `dreambook build`
of each book; a broken book fails alone; a killed worker loses nothing; an unchanged
catalogue lays out no chunk; and --scheduler without Dask installed is a usage error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from dreambook.catalogue import REPORT_NAME, build_catalogue, read_catalogue
from dreambook.diagnostics import format_diagnostic
from dreambook.errors import BuildError
from dreambook.executors import DaskExecutor, LocalPool
from tests.conftest import chapter
from tests.e2e.test_cli import run

distributed = pytest.importorskip("distributed")  # the test extra installs it

pytestmark = pytest.mark.slow

EPOCH = "1700000000"
TITLES = ("Night Notes", "Small Hours", "Waking Late")


def _write_book(root: Path, title: str) -> None:
    """A two-chapter book: two chunks (the front matter and the chapters) when chunked."""
    root.mkdir(parents=True)
    (root / "book.toml").write_text(
        f'[book]\ntitle = "{title}"\nauthor = "Test Author"\nlanguage = "en"\nstart = "one"\n'
        f'identifier = "urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, title)}"\n',
        encoding="utf-8",
    )
    first = f"A night in {title}.\n\n## Next Stages\n\n- [Two](two.md) — onwards.\n"
    (root / "one.md").write_text(chapter("One", first), encoding="utf-8")
    (root / "two.md").write_text(chapter("Two", "The morning after.\n"), encoding="utf-8")


def _write_catalogue(folder: Path) -> Path:
    for number, title in enumerate(TITLES):
        _write_book(folder / "books" / f"book-{number}", title)
    books = "".join(f'[[book]]\npath = "books/book-{n}"\n' for n in range(len(TITLES)))
    path = folder / "catalogue.toml"
    path.write_text(
        '[catalogue]\noutput = "out"\nformats = ["pdf", "epub"]\nvariants = ["digital"]\n' + books,
        encoding="utf-8",
    )
    return path


def _outputs(folder: Path) -> dict[str, bytes]:
    """The files a build left in ``folder`` (not its cache), by name."""
    return {
        p.name: p.read_bytes()
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".")
    }


@pytest.fixture(scope="module", autouse=True)
def _source_date() -> Iterator[None]:
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    yield
    if previous is None:
        del os.environ["SOURCE_DATE_EPOCH"]
    else:
        os.environ["SOURCE_DATE_EPOCH"] = previous


@pytest.fixture(scope="module")
def catalogue_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_catalogue(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(scope="module")
def expected(
    catalogue_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, bytes]]:
    """Each book built alone by `dreambook build` (chunked on two processes), by slug."""
    out = tmp_path_factory.mktemp("alone")
    found = {}
    for number, title in enumerate(TITLES):
        slug = title.lower().replace(" ", "-")
        result = run(
            "build", catalogue_file.parent / "books" / f"book-{number}", "-o", out / slug,
            "--format", "pdf", "--format", "epub", "--jobs", "2", "-q",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        found[slug] = _outputs(out / slug)
        assert set(found[slug]) == {f"{slug}.pdf", f"{slug}.epub"}
    return found


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address="127.0.0.1:0",
        host="127.0.0.1",
    ) as local:
        yield local


def _report(output: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((output / REPORT_NAME).read_text(encoding="utf-8"))
    return data


def test_a_catalogue_on_a_local_cluster_equals_each_book_built_alone_and_rebuilds_from_cache(
    catalogue_file: Path, expected: dict[str, dict[str, bytes]], cluster: Any
) -> None:
    output = catalogue_file.parent / "out"
    result = run("catalogue", catalogue_file, "--scheduler", cluster.scheduler_address, "-q")
    assert result.returncode == 0, result.stderr
    for slug, files in expected.items():
        assert _outputs(output / slug) == files, slug
    report = _report(output)
    assert [b["status"] for b in report["books"]] == ["ok"] * 3
    assert all(b["pages"] > 0 and b["tasks"] > 0 for b in report["books"])
    # The chunks went to the cluster's workers: the catalogue's one chunk store holds their
    # PDFs (no book keeps its own), and each book keeps the fills it ended with.
    assert list((output / ".cache" / "chunks").glob("*.pdf"))
    assert not any(list((output / slug / ".cache").glob("*.chunks/*.pdf")) for slug in expected)
    assert all(list((output / slug / ".cache").glob("*.chunks/final.fill")) for slug in expected)
    # The merge and the EPUB were tasks too (the check stays where the manuscript is: these
    # workers share no file system with the command, as far as dreambook knows).
    assert [b["stage_tasks"] for b in report["books"]] == [2, 2, 2]

    # An unchanged catalogue: the cache answers for every chunk, and the bytes stay.
    again = run("catalogue", catalogue_file, "--scheduler", cluster.scheduler_address, "-q")
    assert again.returncode == 0, again.stderr
    assert [b["tasks"] for b in _report(output)["books"]] == [0, 0, 0]
    for slug, files in expected.items():
        assert _outputs(output / slug) == files, slug


def test_build_with_a_scheduler_equals_build_on_the_local_pool(
    catalogue_file: Path, expected: dict[str, dict[str, bytes]], cluster: Any, tmp_path: Path
) -> None:
    result = run(
        "build", catalogue_file.parent / "books" / "book-0", "-o", tmp_path / "out",
        "--format", "pdf", "--format", "epub", "--scheduler", cluster.scheduler_address, "-q",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert _outputs(tmp_path / "out") == expected["night-notes"]
    assert list((tmp_path / "out" / ".cache").glob("*.chunks/*.pdf"))


class _DieOnce:
    """A task function that kills the worker process running it, mid-task, the first time any
    worker runs it (``marker`` records that it happened), then runs ``function``."""

    def __init__(self, marker: Path, function: Callable[..., Any]) -> None:
        self.marker = marker
        self.function = function

    def __call__(self, *arguments: Any, **keywords: Any) -> Any:
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return self.function(*arguments, **keywords)
        self.marker.write_text(str(os.getpid()), encoding="utf-8")
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable: the worker is gone")


class _KillingExecutor(DaskExecutor):
    """Its first chunk task kills the worker process that runs it."""

    def __init__(self, client: Any, marker: Path) -> None:
        super().__init__(client)
        self.marker = marker
        self.armed = True

    def _submit(
        self, function: Callable[..., Any], tasks: Sequence[Any], shared: Mapping[str, object]
    ) -> list[Any]:
        if self.armed:
            self.armed = False
            function = _DieOnce(self.marker, function)
        return super()._submit(function, tasks, shared)


def test_killing_a_worker_mid_catalogue_still_gives_the_same_bytes(
    catalogue_file: Path,
    expected: dict[str, dict[str, bytes]],
    cluster: Any,
    tmp_path: Path,
) -> None:
    catalogue = read_catalogue(catalogue_file)
    catalogue = type(catalogue)(**{**catalogue.__dict__, "output": tmp_path / "out"})
    marker = tmp_path / "killed"
    with distributed.Client(cluster) as client:
        before = set(client.run(os.getpid).values())
        reports = build_catalogue(catalogue, executor=_KillingExecutor(client, marker))
        # The nanny starts a new worker in place of the one killed.
        client.wait_for_workers(2, timeout=120)
        after = set(client.run(os.getpid).values())
    killed = int(marker.read_text(encoding="utf-8"))
    assert killed in before
    assert killed not in after
    assert [r.status for r in reports] == ["ok"] * 3, [r.diagnostics for r in reports]
    for slug, files in expected.items():
        assert _outputs(tmp_path / "out" / slug) == files, slug


def test_a_broken_book_fails_alone_on_the_local_pool_and_keeps_its_last_outputs(
    catalogue_file: Path, expected: dict[str, dict[str, bytes]], tmp_path: Path
) -> None:
    folder = tmp_path / "catalogue"
    shutil.copytree(catalogue_file.parent, folder)
    broken = folder / "books" / "book-1"
    output = folder / "out"
    if not (output / "small-hours").is_dir():  # the cluster test built it; else build now
        first = run("catalogue", folder / "catalogue.toml", "-q")
        assert first.returncode == 0, first.stderr
    (broken / "two.md").write_text("---\ntitle: [unclosed\n---\n\nText.\n", encoding="utf-8")
    result = run("catalogue", folder / "catalogue.toml")
    assert result.returncode == 1
    assert re.search(r"two\.md:\d+: DB012 error", result.stderr), result.stderr
    report = _report(output)
    statuses = {b["slug"]: b["status"] for b in report["books"]}
    assert statuses == {"night-notes": "ok", "small-hours": "failed", "waking-late": "ok"}
    failed = next(b for b in report["books"] if b["slug"] == "small-hours")
    codes = {d["code"] for d in failed["diagnostics"]}
    assert any(line.startswith("small-hours: FAILED") for line in result.stderr.splitlines())
    for code in codes:
        assert code in result.stderr
    assert codes == {"DB012"}
    # On the local pool every stage is a task: the check and render, the merge, the EPUB
    # (the failed book got no further than its check).
    tasks = {b["slug"]: b["stage_tasks"] for b in report["books"]}
    assert tasks == {"night-notes": 3, "small-hours": 1, "waking-late": 3}
    # The failed book's previous outputs are untouched; the others are built as alone.
    for slug, files in expected.items():
        assert _outputs(output / slug) == files, slug


_WITHOUT_DASK = """
import sys
sys.modules["distributed"] = None  # import distributed now raises ImportError
from dreambook.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", ["build", "catalogue"])
def test_a_scheduler_without_dask_installed_is_a_usage_error_naming_the_extra(
    catalogue_file: Path, tmp_path: Path, command: str
) -> None:
    target = catalogue_file if command == "catalogue" else catalogue_file.parent / "books/book-0"
    arguments = [command, str(target), "--scheduler", "local"]
    if command == "build":
        arguments += ["-o", str(tmp_path / "out")]
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_DASK, *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "dreambook[cluster]" in result.stderr
    assert not (tmp_path / "out").exists()


def _wait_for(event: str) -> int:
    """A task that hangs until the cluster-wide event ``event`` is set."""
    distributed.Event(event).wait()
    return 0


def test_a_task_past_the_time_limit_fails_with_db115(cluster: Any) -> None:
    with distributed.Client(cluster) as client:
        event = distributed.Event("catalogue-test-hang", client=client)
        try:
            with pytest.raises(BuildError) as raised:
                list(DaskExecutor(client, timeout=1.0).map(_wait_for, ["catalogue-test-hang"]))
        finally:
            event.set()  # frees the worker thread the cancelled task still holds
    assert [d.code for d in raised.value.diagnostics] == ["DB115"]


class _HangFor:
    """A task function that hangs, for ever, on a chunk whose HTML holds ``words``, and
    otherwise runs ``function``."""

    def __init__(self, words: str, function: Callable[..., Any]) -> None:
        self.words = words
        self.function = function

    def __call__(self, job: Any, *arguments: Any, **keywords: Any) -> Any:
        if self.words in getattr(job, "html", ""):
            threading.Event().wait()
        return self.function(job, *arguments, **keywords)


class _HangingPool(LocalPool):
    """A local pool on which every chunk of one book hangs."""

    def map(
        self,
        function: Callable[..., Any],
        tasks: Sequence[Any],
        shared: Mapping[str, object] | None = None,
    ) -> Iterator[Any]:
        return super().map(_HangFor("Small Hours", function), tasks, shared)


def test_a_task_past_the_time_limit_on_the_local_pool_fails_its_book_alone(
    catalogue_file: Path, expected: dict[str, dict[str, bytes]], tmp_path: Path
) -> None:
    catalogue = read_catalogue(catalogue_file)
    catalogue = type(catalogue)(**{**catalogue.__dict__, "output": tmp_path / "out"})
    # Long enough for a real chunk on a busy machine; the hung one is stopped after it.
    pool = _HangingPool(2, timeout=30.0)
    try:
        reports = build_catalogue(catalogue, executor=pool)
    finally:
        pool.close(failed=False)
    statuses = {r.slug: r.status for r in reports}
    problems = {r.slug: [format_diagnostic(d) for d in r.diagnostics] for r in reports}
    assert statuses == {"night-notes": "ok", "small-hours": "failed", "waking-late": "ok"}, problems
    failed = next(r for r in reports if r.slug == "small-hours")
    assert [d.code for d in failed.diagnostics] == ["DB115"]
    assert not (tmp_path / "out" / "small-hours" / "small-hours.pdf").exists()
    # The books whose tasks died with the restarted workers ran them again: same bytes.
    for slug in ("night-notes", "waking-late"):
        assert _outputs(tmp_path / "out" / slug) == expected[slug], slug
