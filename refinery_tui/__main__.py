"""Entry point for `python -m refinery_tui`."""

import sys

from refinery_tui.cli import main

sys.exit(main())
