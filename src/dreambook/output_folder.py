"""The output folder a build writes: one build at a time, and what a killed build left.

Two builds writing one folder at once would tread on each other: each keeps a cache of
laid-out chunks there and deletes the entries it did not use. So a build holds an
exclusive lock on ``<output>/.dreambook.lock`` (``fcntl.flock``) while it writes; a second
build waits for it. The lock belongs to the open file, so the kernel releases it when its
build exits, however it exits: a killed build never leaves the folder locked.

A build writes every format into one staging folder inside the output folder
(``StagedOutputs``) and moves them into place only when all of them are complete: a build
that fails (a full disk, a writer's error, a kill) leaves the previous set of files as it
was, never some formats new and some old.

A build killed while writing leaves temporary files and staging folders (see
``fsutil.LEFTOVER_FILE`` and ``LEFTOVER_FOLDER``); the next build into the folder removes
them while it holds the lock, when no other build can be writing them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

from dreambook.fsutil import LEFTOVER_FILE, LEFTOVER_FOLDER, staging_folder

try:
    import fcntl
except ImportError:  # not on POSIX: builds into one folder are not kept apart
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".dreambook.lock"

# Where a build writes inside its output folder besides the folder itself: the caches.
CACHE_FOLDER = ".cache"


def leftovers(folder: Path) -> Iterator[Path]:
    """The temporary files and staging folders of killed builds in ``folder`` and its cache
    (the folders of a build's own outputs are not searched: nothing is written inside them
    in place)."""
    places = [folder]
    cache = folder / CACHE_FOLDER
    if cache.is_dir() and not cache.is_symlink():
        places += [Path(path) for path, _, _ in os.walk(cache)]
    for place in places:
        with contextlib.suppress(OSError):
            for entry in sorted(place.iterdir()):
                is_folder = entry.is_dir() and not entry.is_symlink()
                pattern = LEFTOVER_FOLDER if is_folder else LEFTOVER_FILE
                if pattern.fullmatch(entry.name):
                    yield entry


def remove_leftovers(folder: Path) -> None:
    """Delete what killed builds left in ``folder`` (see ``leftovers``); what cannot be
    deleted stays, and is tried again by the next build."""
    for entry in list(leftovers(folder)):
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


class OutputFolder:
    """A build's claim on its output folder: entered at the build's start, taken
    (``claim``) just before it writes, given up when the build ends.

    On leaving, a claimed folder is cleared of the failed build's own leftovers (a
    worker stopped mid-write leaves its temporary file) before the lock is released; so
    enter it before the pool of workers, and leave it after.
    """

    def __init__(self, folder: Path, progress: Callable[[str], None]) -> None:
        self.folder = folder
        self.progress = progress
        self._handle: int | None = None

    def claim(self) -> None:
        """Lock the folder for this build (waiting, and saying so, while another build
        holds it), then remove what killed builds left there. Raises OSError when the
        folder or its lock file cannot be made."""
        if self._handle is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        handle = os.open(self.folder / LOCK_FILE, flags, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self.progress(f"another build is writing to {self.folder}; waiting")
                    fcntl.flock(handle, fcntl.LOCK_EX)
        except BaseException:
            os.close(handle)
            raise
        self._handle = handle
        remove_leftovers(self.folder)

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is None:
            return
        try:
            if kind is not None:
                remove_leftovers(self.folder)
        finally:
            # Closing the file releases the lock; the file stays, for the next build to lock.
            os.close(self._handle)
            self._handle = None


class StagedOutputs:
    """The folder a build writes its formats into, and the move of all of them into place.

    ``folder`` is a fresh staging folder, ``<output>/.dreambook.staging.<random>``: writers
    write there as if it were the output folder. ``publish`` then moves each written file or
    folder to the same name in the output folder; it only renames (no data is written, so
    a full disk cannot stop it half-way), and if a rename fails anyway it puts back every
    file it had already replaced. ``discard`` removes the staging folder; a killed build's
    is removed by the next build (its name matches ``LEFTOVER_FOLDER``).
    """

    def __init__(self, output: Path) -> None:
        output.mkdir(parents=True, exist_ok=True)
        self.output = output
        self.folder = staging_folder(output / "dreambook", "staging")

    def final_path(self, path: Path) -> Path:
        """Where ``path`` (in the staging folder) is published; other paths are returned as
        they are."""
        try:
            return self.output / path.relative_to(self.folder)
        except ValueError:
            return path

    def publish(self, written: Sequence[Path]) -> tuple[Path, ...]:
        """Move ``written`` (entries of the staging folder) into the output folder, replacing
        what is there; return their published paths. Raises OSError when a move fails, after
        restoring the output folder as it was."""
        for staged in written:
            # A folder is never replaced by a file, nor a file by a folder: that is not an
            # earlier build's output but something else of the same name.
            final = self.final_path(staged)
            if final.is_dir() != staged.is_dir() and final.exists() and not final.is_symlink():
                kind = (
                    (errno.EISDIR, "is a folder")
                    if final.is_dir()
                    else (errno.ENOTDIR, "is a file")
                )
                raise OSError(kind[0], f"{kind[1]} there; move it away", str(final))
        retired_folder: Path | None = None
        done: list[tuple[Path, Path, Path | None]] = []  # (staged, final, retired)
        try:
            for staged in written:
                final = self.final_path(staged)
                retired = None
                if final.exists() or final.is_symlink():
                    if retired_folder is None:
                        retired_folder = staging_folder(self.output / "dreambook", "old")
                    retired = retired_folder / final.name
                    os.replace(final, retired)
                # Recorded before the move, so that a failed move puts the old file back.
                done.append((staged, final, retired))
                os.replace(staged, final)
        except OSError:
            for staged, final, retired in reversed(done):
                with contextlib.suppress(OSError):
                    if not staged.exists():
                        os.replace(final, staged)
                    if retired is not None:
                        os.replace(retired, final)
            raise
        finally:
            if retired_folder is not None:
                shutil.rmtree(retired_folder, ignore_errors=True)
        return tuple(final for _, final, _ in done)

    def discard(self) -> None:
        """Remove the staging folder and whatever was not published from it."""
        shutil.rmtree(self.folder, ignore_errors=True)
