"""dreambook: a Markdown manuscript of linked chapters in, a book out."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # The version is looked up on first use: importlib.metadata costs some 50 ms at start-up,
    # a fifth of what `dreambook check` takes on a small book.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("dreambook")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'dreambook' has no attribute {name!r}")
