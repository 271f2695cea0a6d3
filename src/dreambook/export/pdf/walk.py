"""Walking a written PDF's resources: the pages' and those of the forms they draw."""

from __future__ import annotations

from collections.abc import Iterator

import pikepdf


def resource_dictionaries(pdf: pikepdf.Pdf) -> Iterator[pikepdf.Dictionary]:
    """Every /Resources dictionary of ``pdf``'s pages and of the forms (form XObjects)
    they draw, however deep; each form is entered once."""
    entered: set[tuple[int, int]] = set()
    pending = [page.obj.get("/Resources") for page in pdf.pages]
    while pending:
        resources = pending.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        yield resources
        for item in resources.get("/XObject", pikepdf.Dictionary()).values():
            if item.get("/Subtype") == "/Form" and item.objgen not in entered:
                entered.add(item.objgen)
                pending.append(item.get("/Resources"))
