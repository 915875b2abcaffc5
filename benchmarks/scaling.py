#!/usr/bin/env python3
"""Data-parallel scaling on one machine; the same as `gankit bench scaling`.

    python benchmarks/scaling.py                 # ~5 minutes on 2 cores
    python benchmarks/scaling.py --quick --configs mnist64
    python benchmarks/scaling.py --help

The code lives in gankit.bench.scaling so that an installed gankit can run it too.
"""
import sys

try:
    from gankit.bench.scaling import main
except ImportError as exc:  # pragma: no cover - a usage error, not a code path
    sys.exit(f"scaling.py: cannot import gankit ({exc}); build it first, e.g. `pip install -e .`")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="python benchmarks/scaling.py"))
