#!/usr/bin/env python3
"""The generator-loss benchmark (minimax vs non-saturating); the same as `gankit bench losses`.

    python benchmarks/losses.py --quick          # about two minutes on 2 cores
    python benchmarks/losses.py                  # the full grid; see benchmarks/README.md
    python benchmarks/losses.py --help

The code lives in gankit.bench.losses so that an installed gankit can run it too.
"""
import sys

try:
    from gankit.bench.losses import main
except ImportError as exc:  # pragma: no cover - a usage error, not a code path
    sys.exit(f"losses.py: cannot import gankit ({exc}); build it first, e.g. `pip install -e .`")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="python benchmarks/losses.py"))
