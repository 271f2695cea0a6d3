"""File-system helpers: atomic output files and the confined resource loader.

Output is written to a temporary file beside its destination and renamed into place
only when complete, so a failed build never leaves a half-written file where the good
one was. Resources (fonts, stylesheets, images) are read only from the folders a build
is allowed to read: the manuscript folder and the styles folders.
"""

from __future__ import annotations

import contextlib
import os
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
    The file gets the mode the umask gives a new file (``FILE_MODE``).
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
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


# Every file and folder a build writes gets the permissions the user's umask gives a new
# file or folder (0666 & ~umask, 0777 & ~umask), whichever way it was written: a temporary
# file from mkstemp (always 0600) and a staging folder from mkdtemp (always 0700) are given
# those modes before they are renamed into place.


def _read_umask() -> int:
    """Return the process's umask. ``os.umask`` can only be read by setting it, so this is
    done once, when the module is imported at start-up, not while worker threads create
    files (between the two calls a new file would get the wrong mode)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


UMASK = _read_umask()
FILE_MODE = 0o666 & ~UMASK
FOLDER_MODE = 0o777 & ~UMASK


def apply_output_modes(folder: Path) -> None:
    """Give ``folder`` and everything under it the modes the umask gives new files and folders.

    Symbolic links are left alone (their own mode means nothing, and following them could
    change a file outside the folder). Raises OSError when a mode cannot be set.
    """
    # Bottom up, so that a folder is given its mode after everything inside it.
    for parent, folders, files in os.walk(folder, topdown=False):
        for name in files + folders:
            path = os.path.join(parent, name)
            if not os.path.islink(path):
                os.chmod(path, FOLDER_MODE if name in folders else FILE_MODE)
    os.chmod(folder, FOLDER_MODE)


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
