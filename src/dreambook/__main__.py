"""Allow ``python -m dreambook``."""

from dreambook.cli import main

raise SystemExit(main())
