"""The quick inline processor gives the HTML Python-Markdown's own gives, for any text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown import Markdown

from dreambook.markdown_ext import (
    _INLINE_TRIGGERS,
    _QuickInlineProcessor,
    quicken_inline_processors,
)
from dreambook.render import _SMARTY, MARKDOWN_EXTENSIONS, _extensions

# Every character some inline pattern looks for, and plain ones between them.
PIECES = [
    "word", " ", "  ", "\n", "\n\n", "[", "]", "(", ")", "!", "^", "*", "_", "`", "\\",
    "<", ">", "&", ";", "#", "'", '"', "-", "--", "---", ".", "...", "1", "a@b.c",
    "http://x.y", "&amp;", "&#8212;", "<b>", "</b>", "<!-- c -->", "[^1]", "[^1]: note",
    "[t](u.md)", "![i](p.png)", "[r]", "[r]: u.md", "'90s", "\u2014", "&nbsp;",
]  # fmt: skip


def _markdown(quick: bool) -> Markdown:
    configs = {**_SMARTY, "footnotes": {"SEPARATOR": "-"}}
    md = Markdown(extensions=_extensions(MARKDOWN_EXTENSIONS, configs), output_format="html")
    if quick:
        quicken_inline_processors(md)
    return md


PLAIN, QUICK = _markdown(False), _markdown(True)


def test_every_pattern_listed_is_skipped_and_the_processors_are_quick() -> None:
    for name in ("inline", "smarty"):
        processor = QUICK.treeprocessors[name]
        assert isinstance(processor, _QuickInlineProcessor)
        listed = [n for n in _INLINE_TRIGGERS if n in processor.inlinePatterns]
        # Each listed pattern's expression is the installed one, so each gets its triggers.
        assert sum(needs is not None for needs in processor.needs) == len(listed)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40))
def test_quick_and_plain_python_markdown_give_the_same_html(pieces: list[str]) -> None:
    text = "".join(pieces)
    PLAIN.reset()
    QUICK.reset()
    assert QUICK.convert(text) == PLAIN.convert(text)


@pytest.mark.parametrize(
    "text",
    [
        "a  \nb", "*a* and **b**", "_a_ and __b__", "`c` and ``d``", "\\*not\\*",
        "t[^1]\n\n[^1]: note", "[t](u.md)", "[t][r]\n\n[r]: u.md", "[r]\n\n[r]: u.md",
        "![i](p.png)", "![i][r]\n\n[r]: p.png", "<http://x.y>", "<a@b.c>", "<b>x</b>",
        "&amp; &#38;", "a -- b", "a --- b", "a... b", "'q' and \"r\"", "'90s", "it's",
        "\"'a' b\"", "'\"a\" b'", "word\u2014'a'", "\"\"", "''",
    ],
)  # fmt: skip
def test_text_each_pattern_matches_gives_the_same_html(text: str) -> None:
    PLAIN.reset()
    QUICK.reset()
    assert QUICK.convert(text) == PLAIN.convert(text)
