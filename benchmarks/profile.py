#!/usr/bin/env python3
"""Per-phase time of a gankit training iteration; the same as `gankit bench profile`.

    python benchmarks/profile.py --configs toy2d --threads 1
    python benchmarks/profile.py --help

The code lives in gankit.bench.profile so that an installed gankit can run it too.
"""
import sys

try:
    from gankit.bench.profile import main
except ImportError as exc:  # pragma: no cover - a usage error, not a code path
    sys.exit(f"profile.py: cannot import gankit ({exc}); build it first, e.g. `pip install -e .`")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
