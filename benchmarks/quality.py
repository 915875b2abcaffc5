#!/usr/bin/env python3
"""PacGAN's Table 1 (sample quality on the ring and grid mixtures); the same as `gankit bench quality`.

    python benchmarks/quality.py --quick         # 3 seeds instead of 10
    python benchmarks/quality.py                 # the full table
    python benchmarks/quality.py --help

The code lives in gankit.bench.quality so that an installed gankit can run it too.
"""
import sys

try:
    from gankit.bench.quality import main
except ImportError as exc:  # pragma: no cover - a usage error, not a code path
    sys.exit(f"quality.py: cannot import gankit ({exc}); build it first, e.g. `pip install -e .`")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="python benchmarks/quality.py"))
