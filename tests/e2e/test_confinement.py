"""End to end: no file a build reads may lead outside the book (issue 13, finding 1).

Each case links one file a build reads (a stylesheet, a template, the fonts or their
licence in the book's own styles folder, the order lock) to a file outside the manuscript
that holds a unique marker, then runs the installed command. ``check`` must report DB060
naming the linked file and exit 1; ``build`` must stop likewise and nothing it leaves
behind, nor anything it prints, may hold the marker. The confined opener itself
(fsutil.ConfinedReader) and the styles' template loader are pinned in-process at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from dreambook.errors import ResourceOutsideError
from dreambook.fsutil import ConfinedReader
from dreambook.styles import Styles, default_styles_folder
from tests.conftest import MINIMAL_TOML, WriteBook, chapter
from tests.e2e.test_cli import run
from tests.e2e.test_hostile import assert_clean_failure, build

# Held only by the files outside the book: wherever it shows up, something leaked.
MARKER = "OUTSIDE-THE-BOOK-3f9c1e"
HOUSE_TOML = MINIMAL_TOML + 'styles = "house"\n'
# A printed diagnostic: path, optional line, code, severity (as in test_hostile).
_DIAGNOSTIC = re.compile(
    r"^(?P<path>[^:\n]+?)(?::(?P<line>\d+))?: (?P<code>DB\d{3}) (?P<severity>error|warning): ",
    re.M,
)


def found(stderr: str, root: Path) -> set[tuple[str, int | None, str, str]]:
    """(path relative to ``root``, line, code, severity) of every diagnostic printed.

    Unlike test_hostile.found, the path is not resolved: these paths are links whose
    targets lie outside, and the link is what the diagnostic must name.
    """
    result = set()
    for match in _DIAGNOSTIC.finditer(stderr):
        shown = os.path.relpath(os.path.abspath(match["path"]), root.absolute())
        line = int(match["line"]) if match["line"] else None
        result.add((Path(shown).as_posix(), line, match["code"], match["severity"]))
    return result


def outside_file(tmp_path: Path, name: str) -> Path:
    """Write a file outside the manuscript folder whose every line holds the marker."""
    path = tmp_path / "outside" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{MARKER} line one\n/* {MARKER} */\n", encoding="utf-8")
    return path


def leaked(output: Path) -> list[str]:
    """Every file under ``output`` (and every member of its EPUBs) that holds the marker."""
    if not output.exists():
        return []
    hits = []
    for path in sorted(p for p in output.rglob("*") if p.is_file()):
        if MARKER.encode() in path.read_bytes():
            hits.append(str(path))
        if path.suffix == ".epub":
            with zipfile.ZipFile(path) as epub:
                hits += [f"{path}!{n}" for n in epub.namelist() if MARKER.encode() in epub.read(n)]
    return hits


@dataclass(frozen=True)
class Escape:
    """A link in the book to a place outside it: where it is, and the formats that read it."""

    link: str
    formats: tuple[str, ...]
    folder: bool = False
    # Real files of the book's styles folder the escape needs to be read at all.
    copies: tuple[str, ...] = ()


ESCAPES: dict[str, Escape] = {
    "site.css": Escape("house/site.css", ("html",)),
    "epub.css": Escape("house/epub.css", ("epub",)),
    "fonts/OFL.txt": Escape("house/fonts/OFL.txt", ("epub",)),
    # The site copies the fonts folder beside its own site.css.
    "fonts folder": Escape("house/fonts", ("html", "epub"), folder=True, copies=("site.css",)),
    "site-page.html.j2": Escape("house/site-page.html.j2", ("html",)),
}


def book_with_escape(write_book: WriteBook, tmp_path: Path, escape: Escape) -> Path:
    """A one-chapter book with its own styles folder, ``house``, holding the escape."""
    root = write_book({"one.md": chapter("One")}, book_toml=HOUSE_TOML)
    house = root / "house"
    house.mkdir(exist_ok=True)
    for name in escape.copies:
        shutil.copyfile(default_styles_folder() / name, house / name)
    link = root / escape.link
    link.parent.mkdir(parents=True, exist_ok=True)
    if escape.folder:
        outside = outside_file(tmp_path, "fonts/Vollkorn-Regular.ttf").parent
        outside_file(tmp_path, "fonts/notes.txt")
        link.symlink_to(outside, target_is_directory=True)
    else:
        link.symlink_to(outside_file(tmp_path, Path(escape.link).name))
    return root


@pytest.mark.parametrize("case", list(ESCAPES))
def test_a_styles_file_linking_outside_is_db060_at_check_and_never_built(
    write_book: WriteBook, tmp_path: Path, case: str
) -> None:
    escape = ESCAPES[case]
    root = book_with_escape(write_book, tmp_path, escape)
    checked = run("check", root)
    assert checked.returncode == 1, checked.stderr
    assert_clean_failure(checked)
    assert any(
        path == escape.link and code == "DB060" and severity == "error"
        for path, _, code, severity in found(checked.stderr, root)
    ), checked.stderr
    assert MARKER not in checked.stderr
    output = tmp_path / "out"
    built = build(root, output, *escape.formats)
    assert built.returncode == 1, built.stderr
    assert_clean_failure(built)
    assert MARKER not in built.stderr + built.stdout
    assert leaked(output) == []


def test_an_order_lock_linking_outside_is_db060_and_never_quoted(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book({"one.md": chapter("One")})
    (root / "reading-order.txt").symlink_to(outside_file(tmp_path, "private.txt"))
    checked = run("check", root)
    assert checked.returncode == 1, checked.stderr
    assert_clean_failure(checked)
    assert ("reading-order.txt", 1, "DB060", "error") in found(checked.stderr, root)
    assert MARKER not in checked.stderr + checked.stdout
    output = tmp_path / "out"
    built = build(root, output, "html")
    assert built.returncode == 1, built.stderr
    assert_clean_failure(built)
    assert MARKER not in built.stderr + built.stdout
    assert leaked(output) == []


def test_a_book_toml_linking_outside_is_db060_and_never_read(
    write_book: WriteBook, tmp_path: Path
) -> None:
    private = tmp_path / "outside" / "book.toml"
    private.parent.mkdir()
    private.write_text(MINIMAL_TOML.replace("A Small Book", MARKER), encoding="utf-8")
    root = write_book({"one.md": chapter("One")}, book_toml=None)
    (root / "book.toml").symlink_to(private)
    checked = run("check", root)
    assert checked.returncode == 1, checked.stderr
    assert_clean_failure(checked)
    assert any(p == "book.toml" and c == "DB060" for p, _, c, _ in found(checked.stderr, root))
    assert MARKER not in checked.stderr + checked.stdout


def test_styles_files_linking_inside_the_book_are_read(
    write_book: WriteBook, tmp_path: Path
) -> None:
    root = write_book(
        {"one.md": chapter("One"), "shared/site.css": f"/* {MARKER} shared */\n"},
        book_toml=HOUSE_TOML,
    )
    (root / "house").mkdir()
    (root / "house" / "site.css").symlink_to(root / "shared" / "site.css")
    (root / "house" / "epub.css").symlink_to(default_styles_folder() / "epub.css")
    checked = run("check", root)
    assert checked.returncode == 0, checked.stderr
    output = tmp_path / "out"
    built = build(root, output, "html", "epub")
    assert built.returncode == 0, built.stderr
    assert MARKER in (output / "a-small-book-site" / "site.css").read_text(encoding="utf-8")


# --- the confined opener and the template loader, in-process -------------------------------------


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """A book folder holding ``inside.txt`` and a link out, and the secret outside it."""
    book = tmp_path / "book"
    book.mkdir()
    (book / "inside.txt").write_text("inside\n", encoding="utf-8")
    secret = outside_file(tmp_path, "secret.txt")
    (book / "link.txt").symlink_to(secret)
    return book, secret


def test_the_confined_opener_reads_a_file_inside(folders: tuple[Path, Path]) -> None:
    book, _ = folders
    assert ConfinedReader([book]).read_text(book / "inside.txt") == "inside\n"


def test_the_confined_opener_refuses_a_link_out_as_db060(folders: tuple[Path, Path]) -> None:
    book, secret = folders
    with pytest.raises(ResourceOutsideError) as refused:
        ConfinedReader([book]).read_bytes(book / "link.txt", 1)
    (refusal,) = refused.value.diagnostics
    assert (refusal.code, refusal.path, refusal.line) == ("DB060", book / "link.txt", 1)
    assert refusal.hint
    assert refused.value.target == secret.resolve()
    assert MARKER not in refusal.message


def test_the_confined_opener_refuses_dot_dot_out(folders: tuple[Path, Path]) -> None:
    book, _ = folders
    with pytest.raises(ResourceOutsideError):
        ConfinedReader([book]).read_bytes(book / ".." / "outside" / "secret.txt")


def test_the_confined_opener_reads_dreambooks_own_styles(folders: tuple[Path, Path]) -> None:
    book, _ = folders
    own = default_styles_folder()
    reader = ConfinedReader([book, own])
    assert reader.read_bytes(own / "print.css") == (own / "print.css").read_bytes()
    (book / "print.css").symlink_to(own / "print.css")
    assert reader.read_bytes(book / "print.css") == (own / "print.css").read_bytes()


def test_a_folder_copy_refuses_a_file_linking_out(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    book, _ = folders
    with pytest.raises(ResourceOutsideError):
        ConfinedReader([book]).copy_tree(book, tmp_path / "copy")
    assert leaked(tmp_path / "copy") == []


def test_the_template_loader_refuses_a_template_linking_out(folders: tuple[Path, Path]) -> None:
    book, secret = folders
    (book / "site-page.html.j2").symlink_to(secret)
    styles = Styles((book, default_styles_folder()))
    environment = styles.environment()
    with pytest.raises(ResourceOutsideError):
        environment.get_template("site-page.html.j2")
    assert environment.get_template("preview.html.j2")  # the default one, read as before
    with pytest.raises(ResourceOutsideError):
        styles.read_bytes("link.txt")
