"""What a book's stylesheets and SVG images may carry into an output.

The writers copy a book's own stylesheets (``epub.css``, ``site.css``, ``print.css``) and
its SVG images into the EPUB, the HTML edition and the PDF. Raw HTML in chapters is
cleaned by sanitize.py; these files are cleaned here, before any writer sees them:

* **Stylesheets** keep every rule except what would reach outside the book: an ``@import``
  or a ``url()`` with a scheme (``http:``, ``file:``...), an absolute path or a ``..``
  segment. Such an ``@import`` rule, or the declaration holding such a ``url()``, is left
  out. ``data:`` URLs and relative paths inside the styles folder are kept.
* **SVG images** are parsed as XML without resolving any entity or DTD, and rebuilt from an
  allow-list: the SVG drawing, text, paint-server, filter and structure elements. Scripts,
  ``foreignObject``, animations (which can change a link), event-handler attributes,
  ``xml-stylesheet`` instructions and every reference that is not a ``#fragment`` inside the
  image (or a ``data:`` raster image) are removed; ``<style>`` elements and ``style``
  attributes are cleaned as stylesheets.

A file with nothing to remove is returned byte for byte as it was. ``check`` reports each
removal with its file and line (DB065 for stylesheets, DB066 for SVG images).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import tinycss2  # type: ignore[import-untyped]
from lxml import etree


@dataclass(frozen=True)
class Removal:
    """One thing left out of a copied file: its line in that file and what it was."""

    line: int
    what: str


class NotAnSvgError(ValueError):
    """The file is not a well-formed SVG document; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# --- stylesheets ----------------------------------------------------------------------------------

_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")


def url_stays_inside(url: str) -> bool:
    """Whether a stylesheet's ``url`` names something inside the book: a ``#fragment``, a
    ``data:`` URL, or a relative path with no ``..`` segment."""
    url = url.strip()
    if url.startswith("#") or url.lower().startswith("data:"):
        return True
    if _SCHEME_RE.match(url) or url.startswith(("/", "\\")):
        return False
    return ".." not in re.split(r"[/\\]", url.split("?", 1)[0].split("#", 1)[0])


def _urls(tokens: Any) -> list[str]:
    """Every URL written in ``tokens`` (``url(x)``, ``url("x")``, and ``image-set("x")``'s
    bare strings are all URLs), however deep in functions and blocks."""
    found: list[str] = []
    for token in tokens or ():
        if token.type == "url":
            found.append(token.value)
        elif token.type == "function":
            if token.lower_name in {"url", "src"} or token.lower_name.endswith("image-set"):
                found += [t.value for t in token.arguments if t.type == "string"]
            found += _urls(token.arguments)
        elif token.type in {"() block", "[] block", "{} block"}:
            found += _urls(token.content)
    return found


def _import_url(rule: Any) -> str | None:
    for token in rule.prelude:
        if token.type in {"url", "string"}:
            return str(token.value)
        if token.type == "function" and token.lower_name == "url":
            strings = [t.value for t in token.arguments if t.type == "string"]
            return str(strings[0]) if strings else ""
    return None


def _clean_items(items: list[Any], removed: list[Removal]) -> tuple[str, bool]:
    """Serialise the rules and declarations ``items`` without what reaches outside; return
    the text and whether anything was removed."""
    parts: list[str] = []
    changed = False
    for item in items:
        if item.type in {"error", "whitespace", "comment"}:
            parts.append(item.serialize() if item.type != "error" else "")
            changed = changed or item.type == "error"
            continue
        if item.type == "at-rule" and item.lower_at_keyword == "import":
            url = _import_url(item)
            if url is None or not url_stays_inside(url):
                removed.append(Removal(item.source_line, f"the @import of {url or '?'}"))
                changed = True
                continue
            parts.append(item.serialize())
            continue
        if item.type == "declaration":
            bad = [url for url in _urls(item.value) if not url_stays_inside(url)]
            if bad:
                removed += [Removal(item.source_line, f"url({url})") for url in bad]
                changed = True
                continue
            parts.append(item.serialize() + ";")
            continue
        # A qualified rule or an at-rule: its prelude, then its block cleaned in turn.
        bad = [url for url in _urls(item.prelude) if not url_stays_inside(url)]
        if bad:
            removed += [Removal(item.source_line, f"url({url})") for url in bad]
            changed = True
            continue
        if item.content is None:
            parts.append(item.serialize())
            continue
        inner = tinycss2.parse_blocks_contents(item.content)
        text, inner_changed = _clean_items(inner, removed)
        if not inner_changed:
            parts.append(item.serialize())
            continue
        changed = True
        head = "@" + item.at_keyword if item.type == "at-rule" else ""
        parts.append(f"{head}{tinycss2.serialize(item.prelude)}{{{text}}}")
    return "".join(parts), changed


def clean_stylesheet(text: str) -> tuple[str, tuple[Removal, ...]]:
    """Return ``text`` without what reaches outside the book, and what was removed (with
    lines counted from 1). A stylesheet with nothing to remove is returned unchanged."""
    removed: list[Removal] = []
    rules = tinycss2.parse_stylesheet(text, skip_comments=False, skip_whitespace=False)
    cleaned, changed = _clean_items(rules, removed)
    if not removed:
        return text, ()
    return (cleaned if changed else text), tuple(removed)


def clean_declarations(text: str) -> tuple[str, tuple[Removal, ...]]:
    """``clean_stylesheet`` for the declarations of a ``style`` attribute."""
    removed: list[Removal] = []
    items = tinycss2.parse_blocks_contents(text, skip_comments=True, skip_whitespace=True)
    cleaned, _ = _clean_items(items, removed)
    return (cleaned if removed else text), tuple(removed)


# --- SVG images -----------------------------------------------------------------------------------

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
XLINK_NAMESPACE = "http://www.w3.org/1999/xlink"

_SVG_ELEMENTS = frozenset(
    [
        "svg",
        "g",
        "defs",
        "symbol",
        "use",
        "title",
        "desc",
        "metadata",
        "switch",
        "a",
        "image",
        "style",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "textPath",
        "linearGradient",
        "radialGradient",
        "stop",
        "pattern",
        "clipPath",
        "mask",
        "marker",
        "filter",
        "feBlend",
        "feColorMatrix",
        "feComponentTransfer",
        "feComposite",
        "feConvolveMatrix",
        "feDiffuseLighting",
        "feDisplacementMap",
        "feDistantLight",
        "feDropShadow",
        "feFlood",
        "feFuncA",
        "feFuncB",
        "feFuncG",
        "feFuncR",
        "feGaussianBlur",
        "feImage",
        "feMerge",
        "feMergeNode",
        "feMorphology",
        "feOffset",
        "fePointLight",
        "feSpecularLighting",
        "feSpotLight",
        "feTile",
        "feTurbulence",
    ]
)
# Elements that draw what their href names: without one they draw nothing.
_NEEDS_HREF = frozenset({"image", "feImage", "use"})
# What drawing programs write beside the drawing: left out without a word.
_EDITOR_NAMESPACES = (
    "http://www.inkscape.org/namespaces/inkscape",
    "http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://creativecommons.org/ns#",
    "http://web.resource.org/cc/",
    "http://purl.org/dc/elements/1.1/",
    "http://www.bohemiancoding.com/sketch/ns",
    "http://ns.adobe.com/",
)
_RASTER_DATA_RE = re.compile(r"^\s*data:image/(png|jpeg|gif|webp)[;,]", re.IGNORECASE)
_URL_VALUE_RE = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)


def _local(name: str) -> tuple[str, str]:
    """(namespace, local name) of an lxml tag or attribute name."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return "", name


def _clean_attributes(element: Any, removed: list[Removal]) -> None:
    line = element.sourceline or 1
    tag = _local(element.tag)[1]
    for name in list(element.attrib):
        namespace, local = _local(name)
        value = element.attrib[name]
        if local.lower().startswith("on"):
            del element.attrib[name]
            removed.append(Removal(line, f"the event-handler attribute {local}="))
        elif local == "href" and namespace in ("", XLINK_NAMESPACE):
            inside = value.strip().startswith("#")
            if tag in {"image", "feImage"} and _RASTER_DATA_RE.match(value):
                inside = True
            if not inside:
                del element.attrib[name]
                removed.append(Removal(line, f"the reference {value.strip()[:80]}"))
        elif local == "style":
            cleaned, found = clean_declarations(value)
            if found:
                element.attrib[name] = cleaned
                removed += [Removal(line, r.what) for r in found]
        elif "url(" in value.lower():
            bad = [u for u in _URL_VALUE_RE.findall(value) if not u.startswith("#")]
            if bad:
                del element.attrib[name]
                removed += [Removal(line, f"url({url})") for url in bad]


def _remove(element: Any) -> None:
    """Take ``element`` out of its tree, keeping the text that followed it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _clean_tree(parent: Any, removed: list[Removal]) -> None:
    """Clean the children of ``parent``, depth first; a removed element's own children
    are not looked at (nor reported)."""
    for node in list(parent):
        line = node.sourceline or 1
        if isinstance(node, etree._Entity):
            removed.append(Removal(line, f"the entity reference &{node.name};"))
            _remove(node)
        elif isinstance(node, etree._ProcessingInstruction):
            if node.target == "xml-stylesheet":
                removed.append(Removal(line, "an xml-stylesheet instruction"))
            _remove(node)
        elif isinstance(node, etree._Comment):
            _remove(node)
        else:
            namespace, local = _local(node.tag)
            if namespace == SVG_NAMESPACE and local in _SVG_ELEMENTS:
                _clean_attributes(node, removed)
                if local in _NEEDS_HREF and not any(_local(a)[1] == "href" for a in node.attrib):
                    _remove(node)  # its reference was removed (and reported): nothing to draw
                    continue
                if local == "style" and node.text:
                    cleaned, found = clean_stylesheet(node.text)
                    node.text = cleaned
                    removed += [Removal(line + r.line - 1, r.what) for r in found]
                _clean_tree(node, removed)
                continue
            if not namespace.startswith(_EDITOR_NAMESPACES):
                removed.append(Removal(line, f"the <{local}> element"))
            _remove(node)


def clean_svg(data: bytes) -> tuple[bytes, tuple[Removal, ...]]:
    """Return the SVG image ``data`` rebuilt from the allow-list, and what was removed.

    An image with nothing to remove is returned unchanged. Raises NotAnSvgError when
    ``data`` is not well-formed XML or its root is not an SVG ``<svg>`` element.
    """
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_blank_text=False,
    )  # fmt: skip
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise NotAnSvgError(f"not well-formed XML: {error}") from error
    if root.tag != f"{{{SVG_NAMESPACE}}}svg":
        raise NotAnSvgError(f"its root element is <{_local(root.tag)[1]}>, not an SVG <svg>")
    removed: list[Removal] = []
    _clean_attributes(root, removed)
    # What stands beside the root element: instructions, and a document type declaration
    # whose internal subset may declare entities (never expanded here).
    document: Any = root.getroottree()
    for sibling in [*root.itersiblings(preceding=True), *root.itersiblings()]:
        if isinstance(sibling, etree._ProcessingInstruction) and sibling.target == "xml-stylesheet":
            line = sibling.sourceline if isinstance(sibling.sourceline, int) else 1
            removed.append(Removal(line, "an xml-stylesheet instruction"))
    subset = document.docinfo.internalDTD
    if subset is not None and any(True for _ in subset.iterentities()):
        removed.append(Removal(1, "the entity declarations of the document type"))
    _clean_tree(root, removed)
    if not removed:
        return data, ()
    # The root element alone: no DOCTYPE (with its entities), no outer instructions.
    cleaned = etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return cleaned, tuple(sorted(removed, key=lambda r: r.line))
