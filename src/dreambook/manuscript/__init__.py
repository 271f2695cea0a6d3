"""Manuscript folder -> Book: book.toml, chapter files, front matter, and a line-numbered index.

Every chapter is read once here. Besides its Markdown text, the loader records where
each heading, link, image and Next Stages item stands in the file, because the
Markdown renderer keeps no line numbers and every later diagnostic must name one.

- model.py: the frozen dataclasses the later stages read (Book, Chapter, Heading, ...)
- frontmatter.py: a chapter file's bytes -> text, and its front matter
- index.py: a chapter body -> its line-numbered index (markdown-it-py's token line maps)
- reader.py: one chapter file -> Chapter, with its diagnostics
- loader.py: the manuscript folder -> Book (limits, worker processes, duplicate slugs)
- lock.py: the order lock, reading-order.txt, read and written
"""

from dreambook.manuscript.loader import Limits, chapter_files, load_book
from dreambook.manuscript.lock import ORDER_LOCK, OrderLock, read_order_lock, write_order_lock
from dreambook.manuscript.model import (
    Book,
    Chapter,
    Heading,
    Image,
    Link,
    NextStageItem,
    RawMarkup,
)
from dreambook.manuscript.reader import read_chapter

__all__ = [
    "ORDER_LOCK",
    "Book",
    "Chapter",
    "Heading",
    "Image",
    "Limits",
    "Link",
    "NextStageItem",
    "OrderLock",
    "RawMarkup",
    "chapter_files",
    "load_book",
    "read_chapter",
    "read_order_lock",
    "write_order_lock",
]
