"""The Jinja2 loader over the styles folders: templates are read through the confined opener.

Jinja2's own FileSystemLoader follows symbolic links wherever they lead, so a template in
a book's styles folder that links to a file outside the book would be rendered into every
page. This loader finds a template as FileSystemLoader does (the first folder that has it
wins) but reads it with fsutil.ConfinedReader, which refuses such a link (DB060).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import jinja2
from jinja2.loaders import split_template_path

from dreambook.fsutil import ConfinedReader


class ConfinedLoader(jinja2.FileSystemLoader):
    """Loads templates from ``folders``, reading each through ``reader``."""

    def __init__(self, folders: Sequence[Path], reader: ConfinedReader) -> None:
        super().__init__([str(folder) for folder in folders])
        self.reader = reader

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        """Return (source, file name, up-to-date check) of the first folder's ``template``.

        Raises TemplateNotFound when no folder has it (``..`` in the name included) and
        ResourceOutsideError when the file found resolves outside the allowed folders.
        """
        pieces = split_template_path(template)
        for folder in self.searchpath:
            candidate = Path(folder, *pieces)
            if not candidate.is_file():
                continue
            source = self.reader.read_text(candidate)
            modified = os.path.getmtime(candidate)

            def unchanged(candidate: Path = candidate, modified: float = modified) -> bool:
                try:
                    return os.path.getmtime(candidate) == modified
                except OSError:
                    return False

            return source, os.path.normpath(candidate), unchanged
        raise jinja2.TemplateNotFound(template)
