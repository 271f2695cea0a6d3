"""One lock for the native libraries that must not be entered by two threads at once.

WeasyPrint lays text out with Pango, fontconfig and HarfBuzz, and PDFium (pypdfium2) draws
pages; neither is safe to call from several threads of one process at the same time. A
catalogue builds several books at once on threads of one process (its covers are laid out and
drawn there), the preview draws pages on one thread while another builds, and a Dask worker
may run several tasks on threads: two of them inside Pango or PDFium corrupted memory (a
crash, "double free or corruption") or drew a different cover. Every call into these
libraries holds ``NATIVE``; a worker process running one task at a time never waits on it.
"""

from __future__ import annotations

import threading

# Re-entrant: a caller holding it may call code that takes it again (a typesetter made
# inside a layout).
NATIVE = threading.RLock()
