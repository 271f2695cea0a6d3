"""Where templates, stylesheets and fonts come from, and the Jinja2 environment over them.

A book may name its own styles folder in book.toml (``[book] styles``). Any file found
there wins; every other file comes from dreambook's default styles, so a designer can
restyle the book by copying just ``print.css`` and editing it.

Every stylesheet, template, font and licence is read through the confined opener
(fsutil.ConfinedReader): a file of the styles folders that links outside the manuscript
folder, the book's styles folder and dreambook's own styles is refused (DB060), and
``check`` reports every such file beforehand (styles_check.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dreambook.config import BookConfig
from dreambook.diagnostics import not_utf8
from dreambook.errors import BuildError
from dreambook.fsutil import ConfinedReader

if TYPE_CHECKING:  # check imports this module and loads no renderer; Jinja2 comes with a build
    import jinja2


def default_styles_folder() -> Path:
    """Return dreambook's own styles folder (inside the installed package, or the source tree)."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "styles", package.parent.parent / "styles"):
        if (candidate / "print.css").is_file():
            return candidate
    raise FileNotFoundError("dreambook's default styles folder is missing from this installation")


@dataclass(frozen=True)
class Styles:
    """The styles folders of one book, searched in order: the book's own, then the defaults.

    ``readable`` are further folders their files may link into (the manuscript folder).
    """

    folders: tuple[Path, ...]
    readable: tuple[Path, ...] = ()

    @property
    def reader(self) -> ConfinedReader:
        """The confined opener over the styles folders and ``readable``."""
        return ConfinedReader((*self.folders, *self.readable))

    def path(self, name: str) -> Path:
        """Return the first ``name`` found in the styles folders.

        Raises FileNotFoundError naming the folders searched when no folder has it, and
        ResourceOutsideError (DB060) when the one found resolves outside the allowed folders.
        """
        for folder in self.folders:
            candidate = folder / name
            if candidate.is_file():
                self.reader.resolve(candidate)
                return candidate
        searched = ", ".join(str(folder) for folder in self.folders)
        raise FileNotFoundError(f"no {name} in the styles folders ({searched})")

    def read_bytes(self, name: str) -> bytes:
        """Return the bytes of the first ``name`` found in the styles folders.

        Raises FileNotFoundError when no folder has it, ResourceOutsideError (DB060) when it
        resolves outside the allowed folders and OSError when it cannot be read.
        """
        return self.reader.read_bytes(self.path(name))

    def read_text(self, name: str) -> str:
        """Return the text of the first ``name`` found in the styles folders (UTF-8).

        Raises as ``read_bytes`` does, and BuildError (DB069) when it is not UTF-8.
        """
        data = self.read_bytes(name)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BuildError([not_utf8(self.path(name), data, error)]) from error

    def environment(self) -> jinja2.Environment:
        """Return a Jinja2 environment over the styles folders: sandboxed (templates.py),
        autoescaping, strict undefined.

        HTML and XHTML templates are autoescaped; the scaffolding templates for Markdown,
        TOML and CSS are not, and quote their values with the ``yaml_string`` and
        ``toml_string`` filters instead.
        """
        import jinja2

        from dreambook.templates import BookTemplates, ConfinedLoader

        environment = BookTemplates(
            loader=ConfinedLoader(self.folders, self.reader),
            autoescape=_escapes_html,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        # A JSON string is a valid double-quoted YAML scalar and TOML basic string.
        environment.filters["yaml_string"] = json.dumps
        environment.filters["toml_string"] = json.dumps
        return environment


def _escapes_html(template_name: str | None) -> bool:
    return not (template_name or "").endswith((".md.j2", ".toml.j2", ".css.j2"))


def book_styles(manuscript: Path, config: BookConfig, house: Path | None = None) -> Styles:
    """Return the Styles of a book: ``[book] styles`` (relative to the manuscript) first, if set.

    ``house`` (a catalogue's styles folder) comes before the book's own: its files win for
    every book of the catalogue, and it may be read like the manuscript.
    """
    folders = [default_styles_folder()]
    if config.styles:
        own = (manuscript / config.styles).resolve()
        # check reports a styles folder outside the manuscript (DB060); never read from one.
        if own.is_relative_to(manuscript.resolve()):
            folders.insert(0, own)
    if house is not None:
        folders.insert(0, house.resolve())
        return Styles(tuple(folders), (manuscript, house.resolve()))
    return Styles(tuple(folders), (manuscript,))
