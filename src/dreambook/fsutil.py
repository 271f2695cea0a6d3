"""File-system helpers: atomic output files and the confined resource loader.

Output is written to a temporary file beside its destination and renamed into place
only when complete, so a failed build never leaves a half-written file where the good
one was. Resources (fonts, stylesheets, images) are read only from the folders a build
is allowed to read: the manuscript folder and the styles folders.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_output(destination: Path) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes ``destination`` only if the block finishes.

    The file is created in the destination's folder (so the final rename cannot cross
    file systems), flushed to disk, then renamed over the destination with ``os.replace``.
    If the block raises, the temporary file is removed and the destination is untouched.
    Raises OSError when the folder cannot be written.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    try:
        with os.fdopen(handle, "wb") as output:
            yield output
            output.flush()
            os.fsync(output.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def staging_folder(destination: Path, purpose: str) -> Path:
    """Make and return an empty folder beside ``destination`` for a folder being written
    (``purpose`` "staging") or one being replaced (``purpose`` "old").

    Its name, ``.<name>.<purpose>.<random>``, is what ``LEFTOVER_FOLDER`` matches, so a
    build killed before it removed the folder has it removed by the next build. Raises
    OSError when the folder cannot be made.
    """
    return Path(tempfile.mkdtemp(prefix=f".{destination.name}.{purpose}.", dir=destination.parent))


# The names of what a build killed mid-write leaves: the temporary files of atomic_output
# (mkstemp's eight random letters) and the folders of staging_folder.
LEFTOVER_FILE = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
LEFTOVER_FOLDER = re.compile(r"\..+\.(?:staging|old)\.[a-z0-9_]{8}")


class ConfinedFolders:
    """The folders a build may read from; answers whether a path lies inside one of them.

    Paths are compared after resolving symbolic links, so a link inside the manuscript
    that points outside it is refused like the outside path itself.
    """

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = tuple(Path(os.path.realpath(folder)) for folder in folders)

    def allows(self, path: Path) -> bool:
        """Return True when ``path`` (after resolving links) is inside an allowed folder."""
        real = Path(os.path.realpath(path))
        return any(real == folder or real.is_relative_to(folder) for folder in self.folders)
