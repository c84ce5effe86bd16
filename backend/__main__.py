"""``python -m backend <command>``: the command line (:mod:`backend.cli`)."""

from __future__ import annotations

import sys

from backend.cli import main

if __name__ == "__main__":
    sys.exit(main())
