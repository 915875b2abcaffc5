#!/usr/bin/env python3
"""Per-phase time of a gankit training iteration (see gankit.bench.profile)."""
import sys

from gankit.bench.profile import main

if __name__ == "__main__":
    sys.exit(main())
