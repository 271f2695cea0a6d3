"""dreambook: a Markdown manuscript of linked chapters in, a book out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dreambook")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
