"""The order lock: a reading order saved in ``reading-order.txt``, read and written here only.

``dreambook order --write`` saves the order the Next Stages links give; ``check`` and
``build`` then compare the order they derive with it (graph.check_order_lock), so a print
edition never reorders silently after an edit. The file holds one slug a line; blank lines
and lines starting with ``#`` are comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dreambook.diagnostics import over_size
from dreambook.errors import BuildError
from dreambook.fsutil import ConfinedReader, atomic_output

ORDER_LOCK = "reading-order.txt"
# The largest lock read: 5,000 chapters (the --max-chapters default) of 100-character slugs
# take half a megabyte.
MAX_ORDER_LOCK_BYTES = 4 * 1_048_576


@dataclass(frozen=True)
class OrderLock:
    """A saved reading order (``reading-order.txt``): slugs with the line each stands on."""

    path: Path
    entries: tuple[tuple[str, int], ...]


def read_order_lock(root: Path) -> OrderLock | None:
    """Read ``reading-order.txt`` from the manuscript folder, if there is one.

    One slug a line; blank lines and lines starting with ``#`` are ignored. A file that
    is not UTF-8 is read with replacement characters (its slugs then simply differ).
    Returns None when the folder holds no lock. Raises ResourceOutsideError (DB060) when
    the lock is a link out of the manuscript folder (nothing is read, so no line of that
    file is ever quoted), BuildError (DB080) when it is over ``MAX_ORDER_LOCK_BYTES`` (not
    read either) and OSError when it cannot be read.
    """
    path = root / ORDER_LOCK
    if not path.is_file():
        return None
    raw, size = ConfinedReader([root]).read_at_most(path, MAX_ORDER_LOCK_BYTES, 1)
    if raw is None:
        hint = "it holds one chapter slug a line: delete it, and save the order again with "
        hint += "'dreambook order --write'"
        raise BuildError(
            [over_size("DB080", ORDER_LOCK, size, MAX_ORDER_LOCK_BYTES, path, None, hint)]
        )
    text = raw.decode("utf-8", errors="replace")
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        slug = line.strip()
        if slug and not slug.startswith("#"):
            entries.append((slug, number))
    return OrderLock(path, tuple(entries))


def write_order_lock(root: Path, title: str, slugs: Sequence[str]) -> Path:
    """Save ``slugs`` as the reading order of the book ``title`` in the manuscript folder.

    The file is replaced atomically, after a comment header saying what it is. Returns
    the path written; raises OSError when the folder cannot be written.
    """
    destination = root / ORDER_LOCK
    lines = [
        f"# The reading order of {title!r}, saved by 'dreambook order --write'.",
        "# check and build warn (DB045) when the order the Next Stages links give differs.",
        *slugs,
    ]
    with atomic_output(destination) as output:
        output.write(("\n".join(lines) + "\n").encode("utf-8"))
    return destination
