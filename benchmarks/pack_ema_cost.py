#!/usr/bin/env python3
"""What packing and averaging cost per iteration; the same as `gankit bench pack_ema_cost`.

    python benchmarks/pack_ema_cost.py        # ring's default networks, 1 and 2 threads
    python benchmarks/pack_ema_cost.py --rounds 9 --seconds 1
    python benchmarks/pack_ema_cost.py --help

The code lives in gankit.bench.pack_ema_cost so that an installed gankit can run it too.
"""
import sys

try:
    from gankit.bench.pack_ema_cost import main
except ImportError as exc:  # pragma: no cover - a usage error, not a code path
    sys.exit(f"pack_ema_cost.py: cannot import gankit ({exc}); build it first, e.g. `pip install -e .`")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="python benchmarks/pack_ema_cost.py"))
