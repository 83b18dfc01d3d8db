"""Allow ``python -m nodedesk``."""

from nodedesk.tui.cli import main

raise SystemExit(main())
