"""Reading a catalogue file (catalogue.py): its keys, paths, defaults and DB117."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreambook.catalogue import read_catalogue
from dreambook.errors import ManuscriptError


def _write(folder: Path, text: str) -> Path:
    path = folder / "catalogue.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_paths_are_relative_to_the_catalogue_file_and_slugs_come_from_titles(
    tmp_path: Path,
) -> None:
    book = tmp_path / "books" / "first"
    book.mkdir(parents=True)
    (book / "book.toml").write_text('[book]\ntitle = "Night Notes"\n', encoding="utf-8")
    (tmp_path / "house").mkdir()
    path = _write(
        tmp_path,
        '[catalogue]\noutput = "out"\nvariants = ["all"]\nstyles = "house"\njobs = 3\n'
        '[[book]]\npath = "books/first"\n'
        '[[book]]\npath = "books/no-toml"\n'
        '[[book]]\npath = "books/first"\nslug = "night-notes-again"\n',
    )
    catalogue = read_catalogue(path)
    assert catalogue.output == tmp_path / "out"
    assert catalogue.formats == ("pdf", "epub")
    assert catalogue.variants == ("digital", "print")
    assert catalogue.styles == (tmp_path / "house").resolve()
    assert catalogue.jobs == 3
    assert [(b.path, b.slug) for b in catalogue.books] == [
        (tmp_path / "books/first", "night-notes"),
        (tmp_path / "books/no-toml", "no-toml"),
        (tmp_path / "books/first", "night-notes-again"),
    ]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[catalogue\n", "not valid TOML"),
        ('[catalogue]\nouput = "x"\n[[book]]\npath = "b"\n', "unknown key 'ouput'"),
        ('[catalogue]\nformats = ["pdf", "docx"]\n[[book]]\npath = "b"\n', "'docx'"),
        ('[catalogue]\nvariants = ["draft"]\n[[book]]\npath = "b"\n', "variants"),
        ("[catalogue]\njobs = 0\n[[book]]\npath = 'b'\n", "jobs"),
        ("[catalogue]\ntask_timeout = -1\n[[book]]\npath = 'b'\n", "task_timeout"),
        ('[catalogue]\nstyles = "nowhere"\n[[book]]\npath = "b"\n', "styles"),
        ('[catalogue]\noutput = "out"\n', "lists no book"),
        ('[[book]]\nfolder = "b"\n', "needs a path"),
        ('[[book]]\npath = "b"\nslug = "Not A Slug"\n', "slug"),
        ('[[book]]\npath = "b"\ntitle = "x"\n', "unknown key 'title'"),
        ('[books]\npath = "b"\n', "unknown table or key 'books'"),
    ],
)
def test_a_bad_catalogue_file_is_db117(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(ManuscriptError) as raised:
        read_catalogue(_write(tmp_path, text))
    [found] = raised.value.diagnostics
    assert found.code == "DB117"
    assert words in found.message
