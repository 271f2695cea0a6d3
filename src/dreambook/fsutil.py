"""File-system helpers: atomic output files and the confined resource loader.

Output is written to a temporary file beside its destination and renamed into place
only when complete, so a failed build never leaves a half-written file where the good
one was. Resources (fonts, stylesheets, images) are read only from the folders a build
is allowed to read: the manuscript folder and the styles folders. Every file a build
reads from those folders (book.toml, chapters, the order lock, stylesheets, templates,
fonts) goes through one opener, ``ConfinedReader``, which refuses a file whose symbolic
links or ``..`` lead out of them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from dreambook.errors import ResourceOutsideError


@contextlib.contextmanager
def atomic_output(destination: Path) -> Iterator[BinaryIO]:
    """Yield a binary file that becomes ``destination`` only if the block finishes.

    The file is created in the destination's folder (so the final rename cannot cross
    file systems), flushed to disk, then renamed over the destination with ``os.replace``.
    If the block raises, the temporary file is removed and the destination is untouched.
    The file gets the mode the umask gives a new file (``FILE_MODE``).
    Raises OSError when the folder cannot be written, naming ``destination`` when the
    system's error names no file (a write to a full disk).
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
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError) and not _names_a_path(error.filename):
            raise OSError(error.errno, error.strerror, str(destination)) from error
        raise


def _names_a_path(filename: object) -> bool:
    """Whether an OSError's ``filename`` is a path (a failed write to an open file gives
    None or the file object's description instead)."""
    return isinstance(filename, str) and os.sep in filename and not filename.startswith("<")


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
        return self.holds(Path(os.path.realpath(path)))

    def holds(self, real: Path) -> bool:
        """Return True when ``real``, a path with every link and ``..`` already resolved
        (os.path.realpath), is inside an allowed folder."""
        return any(real == folder or real.is_relative_to(folder) for folder in self.folders)


# Refuse to follow a link swapped in between resolving a path and opening it.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)


class ConfinedReader:
    """The one opener for files a build reads: it reads a file only if it lies inside the
    allowed folders once every symbolic link and ``..`` is resolved."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = ConfinedFolders(folders)

    def resolve(self, path: Path, line: int | None = None) -> Path:
        """Return the real path of ``path`` (links followed) when it lies inside the folders.

        Raises ResourceOutsideError (DB060, naming ``path`` and ``line``) otherwise; nothing
        is read then.
        """
        real = Path(os.path.realpath(path))
        if not self.folders.holds(real):
            raise ResourceOutsideError(path, real, line)
        return real

    def read_bytes(self, path: Path, line: int | None = None) -> bytes:
        """Return the bytes of ``path``.

        Raises ResourceOutsideError when it resolves outside the folders, OSError when it
        cannot be read.
        """
        handle = os.open(self.resolve(path, line), _OPEN_FLAGS)
        with os.fdopen(handle, "rb") as opened:
            return opened.read()

    def read_at_most(
        self, path: Path, limit: int, line: int | None = None
    ) -> tuple[bytes | None, int]:
        """The bytes of ``path`` and its size; None for the bytes when it holds more than
        ``limit`` (nothing is read then). One resolution and one open: the size is that of
        the file opened.

        Raises ResourceOutsideError when it resolves outside the folders, OSError when it
        cannot be read.
        """
        handle = os.open(self.resolve(path, line), _OPEN_FLAGS)
        with os.fdopen(handle, "rb") as opened:
            size = os.fstat(opened.fileno()).st_size
            return (None if size > limit else opened.read()), size

    def read_text(self, path: Path, line: int | None = None) -> str:
        """Return the text of the UTF-8 file ``path``.

        Raises ResourceOutsideError when it resolves outside the folders, OSError when it
        cannot be read and UnicodeDecodeError when it is not UTF-8.
        """
        return self.read_bytes(path, line).decode("utf-8")

    def copy_tree(self, source: Path, destination: Path) -> None:
        """Copy every file under the folder ``source`` into ``destination``, each one read
        through this opener, so that no link (to a file or a folder) carries anything from
        outside. A folder reached twice through links is copied once.

        Raises ResourceOutsideError for the first entry that resolves outside the folders,
        OSError when a file cannot be read or written.
        """
        self._copy_tree(source, destination, set())

    def _copy_tree(self, source: Path, destination: Path, seen: set[Path]) -> None:
        real = self.resolve(source)
        if real in seen:
            return
        seen.add(real)
        destination.mkdir(parents=True, exist_ok=True)
        for entry in sorted(source.iterdir()):
            if self.resolve(entry).is_dir():
                self._copy_tree(entry, destination / entry.name, seen)
            else:
                (destination / entry.name).write_bytes(self.read_bytes(entry))


class FileBundle:
    """The files of one folder a build may read, as bytes, for a worker on another machine.

    A worker that shares no file system with the build lays a chunk out from these bytes
    (``BundledFiles``) instead of the disk. Every file is read through ``ConfinedReader``
    over ``readable``, so a link that leads out of the allowed folders is left out of the
    bundle, and the worker refuses it as the local build would. Names beginning with a dot
    (``.cache``, ``.git``) are left out too, and with ``recursive`` False every folder below
    ``folder``. ``digest`` is a hash of every path and content: an executor sends a bundle
    to its workers once for every bundle of that digest.
    """

    def __init__(self, folder: Path, readable: Sequence[Path], *, recursive: bool = True) -> None:
        reader = ConfinedReader(readable)
        self.files: dict[str, bytes] = {}
        seen: set[str] = set()
        for parent, folders, names in os.walk(folder, followlinks=True):
            real = os.path.realpath(parent)
            if real in seen:  # a link back up the tree: walked once
                folders.clear()
                continue
            seen.add(real)
            folders[:] = sorted(name for name in folders if not name.startswith("."))
            if not recursive:
                folders.clear()
            for name in sorted(names):
                path = Path(parent, name)
                if name.startswith(".") or not path.is_file():
                    continue
                with contextlib.suppress(ResourceOutsideError, OSError):
                    self.files[os.path.normpath(path)] = reader.read_bytes(path)
        digest = hashlib.sha256()
        for name, data in sorted(self.files.items()):
            digest.update(name.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
        self.digest = digest.hexdigest()


class BundledFiles:
    """Reads files from bundles (``FileBundle``) in place of the disk: the opener of a
    worker that shares no file system with its build.

    Only the bundled paths exist for it; every other path is refused, so the confinement
    of the build that made the bundles holds on the worker.
    """

    def __init__(self, bundles: Sequence[FileBundle]) -> None:
        self.files: dict[str, bytes] = {}
        for bundle in bundles:
            for path, data in bundle.files.items():
                self.files.setdefault(path, data)
        self.digest = hashlib.sha256(
            "\0".join(bundle.digest for bundle in bundles).encode()
        ).hexdigest()

    def allows(self, path: Path | str) -> bool:
        """Whether ``path`` is a bundled file."""
        return os.path.normpath(path) in self.files

    def read_bytes(self, path: Path | str) -> bytes:
        """The bytes of the bundled file ``path``.

        Raises ResourceOutsideError when ``path`` is not bundled (nothing else may be read).
        """
        key = os.path.normpath(path)
        if key not in self.files:
            raise ResourceOutsideError(Path(path), Path(key), None)
        return self.files[key]

    def read_text(self, path: Path | str) -> str:
        """The text of the bundled UTF-8 file ``path``; raises as ``read_bytes``, and
        UnicodeDecodeError when it is not UTF-8."""
        return self.read_bytes(path).decode("utf-8")

    def sha256(self, path: Path | str) -> str:
        """The SHA-256 of the bundled file ``path``, or "" when it is not bundled (as
        ``file_digest`` answers for a file it cannot read)."""
        data = self.files.get(os.path.normpath(path))
        return "" if data is None else hashlib.sha256(data).hexdigest()
