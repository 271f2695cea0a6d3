"""The bundles a worker with no shared file system reads from (fsutil.FileBundle): they hold
what the build may read and nothing else, and the worker's fetcher serves only them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dreambook.errors import ResourceOutsideError
from dreambook.export.pdf.weasy import ConfinedFetcher, import_weasyprint
from dreambook.fsutil import BundledFiles, ConfinedFolders, FileBundle


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A manuscript with a stylesheet, a font, a hidden cache and links in and out of it."""
    book = tmp_path / "book"
    outside = tmp_path / "outside"
    (book / "fonts").mkdir(parents=True)
    outside.mkdir()
    (book / "print.css").write_text("body { color: black }", encoding="utf-8")
    (book / "fonts" / "face.woff2").write_bytes(b"wOF2 font")
    (book / ".cache").mkdir()
    (book / ".cache" / "chunk.pdf").write_bytes(b"%PDF-")
    (outside / "secret.txt").write_text("secret", encoding="utf-8")
    os.symlink(outside / "secret.txt", book / "leak.txt")
    os.symlink(outside, book / "elsewhere")
    os.symlink(book / "print.css", book / "alias.css")
    return book, outside


def test_a_bundle_holds_the_readable_files_and_no_link_out(folders: tuple[Path, Path]) -> None:
    book, _ = folders
    bundle = FileBundle(book, [book])
    assert sorted(Path(p).relative_to(book).as_posix() for p in bundle.files) == [
        "alias.css",
        "fonts/face.woff2",
        "print.css",
    ]
    assert bundle.files[str(book / "fonts" / "face.woff2")] == b"wOF2 font"
    # The digest names the content: the same files give the same digest, a change another.
    assert FileBundle(book, [book]).digest == bundle.digest
    (book / "print.css").write_text("body { color: red }", encoding="utf-8")
    assert FileBundle(book, [book]).digest != bundle.digest


def test_bundled_files_refuse_every_path_not_bundled(folders: tuple[Path, Path]) -> None:
    book, outside = folders
    files = BundledFiles([FileBundle(book, [book])])
    assert files.read_text(book / "sub" / ".." / "print.css") == "body { color: black }"
    assert files.sha256(book / "print.css")
    for path in (outside / "secret.txt", book / "leak.txt", book / "elsewhere" / "secret.txt"):
        assert not files.allows(path)
        assert files.sha256(path) == ""
        with pytest.raises(ResourceOutsideError):
            files.read_bytes(path)


def test_the_fetcher_of_a_worker_serves_bundled_files_only(folders: tuple[Path, Path]) -> None:
    book, outside = folders
    files = BundledFiles([FileBundle(book, [book])])
    # The folders are allowed on the disk, yet the bundled fetcher reads only the bundle.
    fetcher = ConfinedFetcher(import_weasyprint(), ConfinedFolders([book, outside]), files)
    response = fetcher.fetcher.fetch((book / "fonts" / "face.woff2").as_uri())
    assert response.read() == b"wOF2 font"
    for url in (
        (outside / "secret.txt").as_uri(),
        (book / "leak.txt").as_uri(),
        "http://example.com/face.woff2",
    ):
        with pytest.raises(ValueError, match="outside the book"):
            fetcher.fetcher.fetch(url)
    assert fetcher.read == [str(book / "fonts" / "face.woff2")]
    assert len(fetcher.refused) == 3
