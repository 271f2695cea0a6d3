"""Where templates, stylesheets and fonts come from, and the Jinja2 environment over them.

A book may name its own styles folder in book.toml (``[book] styles``). Any file found
there wins; every other file comes from dreambook's default styles, so a designer can
restyle the book by copying just ``print.css`` and editing it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import jinja2

from dreambook.config import BookConfig


def default_styles_folder() -> Path:
    """Return dreambook's own styles folder (inside the installed package, or the source tree)."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "styles", package.parent.parent / "styles"):
        if (candidate / "print.css").is_file():
            return candidate
    raise FileNotFoundError("dreambook's default styles folder is missing from this installation")


@dataclass(frozen=True)
class Styles:
    """The styles folders of one book, searched in order: the book's own, then the defaults."""

    folders: tuple[Path, ...]

    def path(self, name: str) -> Path:
        """Return the first ``name`` found in the styles folders.

        Raises FileNotFoundError naming the folders searched when no folder has it.
        """
        for folder in self.folders:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        searched = ", ".join(str(folder) for folder in self.folders)
        raise FileNotFoundError(f"no {name} in the styles folders ({searched})")

    def environment(self) -> jinja2.Environment:
        """Return a Jinja2 environment over the styles folders: autoescaping, strict undefined.

        HTML and XHTML templates are autoescaped; the scaffolding templates for Markdown,
        TOML and CSS are not, and quote their values with the ``yaml_string`` and
        ``toml_string`` filters instead.
        """
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(folder) for folder in self.folders]),
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


def book_styles(manuscript: Path, config: BookConfig) -> Styles:
    """Return the Styles of a book: ``[book] styles`` (relative to the manuscript) first, if set."""
    folders = [default_styles_folder()]
    if config.styles:
        own = (manuscript / config.styles).resolve()
        # check reports a styles folder outside the manuscript (DB060); never read from one.
        if own.is_relative_to(manuscript.resolve()):
            folders.insert(0, own)
    return Styles(tuple(folders))
