"""The EPUB 3 edition: one XHTML document per chapter, with navigation, notes and print pages.

``writer`` drives the build (:class:`~dreambook.export.epub.writer.EpubWriter`);
``documents`` says which documents the book holds, ``xhtml`` changes their trees (notes,
page markers, links), ``resources`` reads the fonts, cover and images carried into the
package, and ``package`` assembles it with EbookLib and repacks it reproducibly. Nothing is
imported here, so naming the package loads none of them.
"""
