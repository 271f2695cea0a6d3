"""The EPUB's fonts cut down to the characters the book sets (HarfBuzz's subsetter).

A full Vollkorn program holds some 2,150 glyphs for scripts and figures a book in English
never shows; four of them made nine tenths of the EPUB's bytes. Each font the stylesheet
embeds is subset to the characters of the finished documents and of the stylesheet's
generated content (with both cases of every letter, since small capitals and a reading
system's own case changes need them), keeping the OpenType features the stylesheet asks
for: the glyphs those features reach from the kept characters stay too. Names, the
copyright and licence entries included, are kept as they are: the SIL Open Font License
asks that they travel with the font, and Vollkorn declares no Reserved Font Name, so a
subset may keep its name.

The subsetter is HarfBuzz's (fontprograms.py), the one WeasyPrint uses for the PDF's fonts
when the system has it. Subsetting the same font to the same characters gives the same
bytes, with the ``head`` table's dates as they were. Each subset is kept in the build's
cache all the same, under a hash of the font, the characters, the features and the
subsetter's version.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from pathlib import Path

from dreambook.export.epub.resources import Resource
from dreambook.export.epub.xhtml import Document, X
from dreambook.fontprograms import FontUnreadable, subset_font
from dreambook.fsutil import atomic_output

log = logging.getLogger(__name__)

# Shaping features a reading system applies by default (kerning, ligatures, marks and
# contextual forms), and the ones epub.css asks for: small-caps and all-small-caps
# (smcp, c2sc), oldstyle-nums and tabular-nums (onum, tnum) and their counterparts.
BASE_FEATURES = (
    "kern", "liga", "clig", "calt", "ccmp", "locl", "mark", "mkmk", "rlig", "rvrn",
    "smcp", "c2sc", "onum", "lnum", "pnum", "tnum",
)  # fmt: skip
# Characters a reading system may set without their being in the text: the space and
# no-break space, and the hyphens of automatic hyphenation.
_ALWAYS = " \u00a0-\u2010\u00ad"
_CONTENT_RE = re.compile(r"content\s*:\s*((?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\s)+)")
_STRING_RE = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'")
_ESCAPE_RE = re.compile(r"\\([0-9A-Fa-f]{1,6})\s?|\\(.)")
_FEATURE_SETTINGS_RE = re.compile(r"font-feature-settings\s*:([^;}]*)")
_TAG_RE = re.compile(r"[\"']([A-Za-z0-9 ]{4})[\"']")


def _unescape_css(text: str) -> str:
    """A CSS string's value with its escapes (``\\2192``, ``\\"``) replaced."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            code = int(match.group(1), 16)
            return chr(code) if 0 < code <= 0x10FFFF else "\ufffd"
        return match.group(2)

    return _ESCAPE_RE.sub(replace, text)


def stylesheet_characters(stylesheet: str) -> set[str]:
    """The characters the stylesheet's ``content`` properties set (list marks, "Q.")."""
    found: set[str] = set()
    for declaration in _CONTENT_RE.finditer(stylesheet):
        for match in _STRING_RE.finditer(declaration.group(1)):
            found.update(_unescape_css(match.group(1) or match.group(2) or ""))
    return found


def stylesheet_features(stylesheet: str) -> tuple[str, ...]:
    """:data:`BASE_FEATURES` and the tags the stylesheet names in ``font-feature-settings``."""
    named = [
        tag.strip()
        for settings in _FEATURE_SETTINGS_RE.finditer(stylesheet)
        for tag in _TAG_RE.findall(settings.group(1))
    ]
    return tuple(dict.fromkeys((*BASE_FEATURES, *named)))


def text_characters(documents: Iterable[Document]) -> set[str]:
    """The characters of every document's body text (the inline map's labels included)."""
    found: set[str] = set()
    for document in documents:
        body = document.tree.getroot().find(f"{X}body")
        if body is not None:
            for text in body.itertext():
                found.update(str(text))
    return found


def characters_to_keep(documents: Iterable[Document], stylesheet: str) -> frozenset[str]:
    """Every character a font of the book may have to draw.

    The text and the stylesheet's generated content, each letter in both cases, the
    spaces and the hyphens automatic hyphenation inserts. Control characters are left
    out: no font draws them.
    """
    found = text_characters(documents) | stylesheet_characters(stylesheet) | set(_ALWAYS)
    cased = {variant for character in found for variant in (character.upper(), character.lower())}
    return frozenset(c for c in found | cased if len(c) == 1 and (c == " " or c.isprintable()))


def subset_fonts(
    resources: Iterable[Resource],
    documents: Iterable[Document],
    stylesheet: str,
    cache: Path | None = None,
) -> list[Resource]:
    """``resources`` with each TrueType or OpenType font subset to what the book sets.

    Other resources (the licence, WOFF files, which the subsetter would have to
    decompress and compress again) pass through unchanged. With ``cache``, subsets are
    taken from and kept in that folder, and the subsets this build did not use are
    removed from it; a cache that cannot be read or written costs time, never the build.
    Raises FontUnreadable, with the resource's file name, for a font that cannot be read.
    """
    characters = characters_to_keep(documents, stylesheet)
    features = stylesheet_features(stylesheet)
    resources = list(resources)
    keys: dict[int, str] = {}
    made: dict[str, bytes] = {}
    for index, resource in enumerate(resources):
        if resource.media_type in {"font/ttf", "font/otf"}:
            keys[index] = key = _subset_key(resource.content, characters, features)
            content = _cached(cache, key)
            if content is not None:
                made[key] = content
    for index, key in keys.items():
        if key not in made:
            try:
                made[key] = subset_font(resources[index].content, characters, features)
            except FontUnreadable as error:
                raise FontUnreadable(resources[index].file_name) from error
            _keep(cache, key, made[key])
    kept: list[Resource] = []
    for index, resource in enumerate(resources):
        if index in keys:
            resource = Resource(resource.file_name, resource.media_type, made[keys[index]])
        kept.append(resource)
    used = set(keys.values())
    if cache is not None and cache.is_dir():
        for entry in cache.glob("*.font"):
            if entry.name.split(".")[0] not in used:
                entry.unlink(missing_ok=True)
    return kept


def _subset_key(content: bytes, characters: frozenset[str], features: Iterable[str]) -> str:
    """What a subset is made from, hashed: the program, the characters, the features and
    the subsetter's version (another version may cut differently)."""
    from importlib.metadata import version

    digest = hashlib.sha256(content)
    digest.update("".join(sorted(characters)).encode("utf-8", "surrogatepass"))
    digest.update(" ".join(features).encode())
    digest.update(version("uharfbuzz").encode())
    return digest.hexdigest()[:32]


def _cached(cache: Path | None, key: str) -> bytes | None:
    """The subset kept under ``key``, or None. The file's name ends in a hash of its bytes,
    so a damaged entry is found and made again, never embedded."""
    if cache is None or not cache.is_dir():
        return None
    for entry in cache.glob(f"{key}.*.font"):
        try:
            content = entry.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(content).hexdigest()[:16] == entry.name.split(".")[1]:
            return content
        log.info("the kept font subset %s is damaged; making it again", entry.name)
        entry.unlink(missing_ok=True)
    return None


def _keep(cache: Path | None, key: str, content: bytes) -> None:
    if cache is None:
        return
    name = f"{key}.{hashlib.sha256(content).hexdigest()[:16]}.font"
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with atomic_output(cache / name) as output:
            output.write(content)
    except OSError as error:
        log.info("cannot keep the font subset in %s: %s", cache, error)


def without_font_faces(stylesheet: str) -> str:
    """The stylesheet without its ``@font-face`` rules (``[epub] embed_fonts = false``):
    they would name font files the package does not carry."""
    import tinycss2  # type: ignore[import-untyped]

    rules = tinycss2.parse_stylesheet(stylesheet, skip_comments=False, skip_whitespace=False)
    kept = [
        rule
        for rule in rules
        if not (rule.type == "at-rule" and rule.lower_at_keyword == "font-face")
    ]
    return str(tinycss2.serialize(kept))
