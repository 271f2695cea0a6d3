"""RenderedBook -> PDF with WeasyPrint: the printed book, with every page number resolved.

Page numbers are not left to CSS ``target-counter``: WeasyPrint's target counters and
page-counter resets disagree (front matter in roman numerals, body from arabic 1), and
target counters make it lay the book out again. Instead the book is laid out, the page of
every anchor is read from the laid-out document, the numbers are written into the HTML,
and the book is laid out once more; the loop ends when a layout's pages agree with the
numbers printed in it. The PDF's ``/PageLabels`` then make viewers show the same folios
as the paper.

The modules, by concern:

* ``variant``: the editions (digital, print) and what each means;
* ``weasy``: the one place WeasyPrint is set up (fetcher, fonts, stylesheets);
* ``folios``: page maps and the numbers printed from them;
* ``pages``: the print HTML (chapter bodies prepared for paper, page geometry, the map);
* ``layout``: the settle loop, whole book in this process or in chunks on workers;
* ``chunks``: the chunks, the worker that lays one out, the chunk cache;
* ``merge``: chunk PDFs -> one book, page labels, shared font programs;
* ``writer``: ``PdfWriter``, the pipeline's entry.

This file imports nothing: the CLI imports ``variant`` without loading the PDF stack, and an
EPUB or HTML build never loads WeasyPrint or pikepdf (the EPUB loads uharfbuzz on its own,
to subset its fonts, and reads the page map ``folios`` keeps).
"""
