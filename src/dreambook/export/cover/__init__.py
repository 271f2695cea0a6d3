"""The book's covers: the print wrap (back, spine and front on one PDF/X page, its spine sized
from the interior just laid out) with an ISBN barcode, and the ebook cover image.

``geometry`` measures the wrap, ``barcode`` lays out the ISBN's bars, ``page`` renders the
cover HTML and lays it out with WeasyPrint, ``writer`` is the registered ``cover`` format,
and ``ebook`` draws the front cover as the picture the EPUB and the HTML edition carry.
"""
