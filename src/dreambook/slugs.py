"""Stable slugs for ids, and the normalised form used to match chapter titles.

Both are pure functions of the text, so the same heading gets the same id in every
build and every output format.
"""

from __future__ import annotations

import re
import unicodedata

# Apostrophes of every style vanish ("can't" -> "cant"); dashes of every style split words.
_APOSTROPHES = "'\u2018\u2019\u02bc\u2032`\u00b4"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_APOSTROPHE_RE = re.compile(f"[{re.escape(_APOSTROPHES)}]")
_SEPARATOR_RE = re.compile(r"[\W_]+", re.UNICODE)

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _words(text: str) -> list[str]:
    """Return the words of ``text``: case-folded, apostrophes dropped, split at anything else."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = _APOSTROPHE_RE.sub("", folded)
    return [word for word in _SEPARATOR_RE.split(folded) if word]


def slugify(text: str) -> str:
    """Return a URL- and id-safe slug of ``text``: ``"Can't See - Why?"`` -> ``"cant-see-why"``.

    Letters outside ASCII are kept (a CJK heading keeps its characters); returns an empty
    string when the text has no letters or digits at all.
    """
    return "-".join(_words(text))


def title_key(text: str) -> str:
    """Return the form of a title used for matching: words only, single spaces.

    Case, punctuation, apostrophe style and dash style do not matter:
    ``title_key("Someone's Chasing You — Again!") == title_key("someones chasing you again")``.
    """
    return " ".join(_words(text))


# Where a name ends and the next part begins: any en or em dash, a spaced hyphen, or ": ".
_CLAUSE_BREAK_RE = re.compile(r"\s*[\u2013\u2014\u2015]\s*|\s+-+\s+|\s*:\s+")
CLAUSE_MARK = "|"


def name_key(text: str) -> str:
    """Return the matching form of a chapter name or Next Stages item, with its clause breaks.

    Like :func:`title_key`, but a dash or colon between words stays as ``|``, so that
    ``"Falling — again and again"`` (the chapter "Falling", then a blurb) cannot be read as
    the chapter "Falling Again": ``"falling | again and again"`` vs ``"falling again"``.
    Dash style still does not matter: em dash, en dash and spaced hyphen are all a break.
    """
    clauses = (title_key(clause) for clause in _CLAUSE_BREAK_RE.split(text))
    return f" {CLAUSE_MARK} ".join(clause for clause in clauses if clause)


_WORD_RUN_RE = re.compile(f"(?:[^\\W_]|[{re.escape(_APOSTROPHES)}])+", re.UNICODE)


def split_after_words(text: str, count: int) -> tuple[str, str]:
    """Split ``text`` after its ``count``-th word, as :func:`title_key` counts words.

    Returns (head, rest); used to cut a matched chapter title off the front of a
    Next Stages item and keep what follows as its blurb.
    """
    if count <= 0:
        return "", text
    seen = 0
    for match in _WORD_RUN_RE.finditer(text):
        if _words(match.group()):
            seen += len(_words(match.group()))
            if seen >= count:
                return text[: match.end()], text[match.end() :]
    return text, ""


_BLURB_LEAD_RE = re.compile(r"^[\s!?.,;:\u2014\u2013\-]+")


def strip_blurb_lead(text: str) -> str:
    """Return a Next Stages blurb without the dash, colon or end of title that leads into it.

    ``"? — why to go there"`` -> ``"why to go there"`` (the "?" ended the title).
    """
    return _BLURB_LEAD_RE.sub("", text).strip()
