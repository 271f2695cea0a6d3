"""The HTML edition: ``preview`` writes the whole book as one page, ``site`` a folder with a
page per chapter, and ``writer`` holds the HtmlWriter that makes both. Nothing is imported
here, so naming the package loads none of them."""
