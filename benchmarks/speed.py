#!/usr/bin/env python3
"""Iterations/s of a GAN training iteration, gankit vs NumPy, PyTorch, JAX; the same as `gankit bench speed`.

    python benchmarks/speed.py --quick        # 1-1.5 minutes
    python benchmarks/speed.py                # 4 configs x 1 and 2 threads, ~6 minutes
    python benchmarks/speed.py --help

The code lives in gankit.bench.speed so that an installed gankit can run it too.
"""
import sys

try:
    from gankit.bench.speed import main
except ImportError as exc:  # pragma: no cover - a usage error, not a code path
    sys.exit(f"speed.py: cannot import gankit ({exc}); build it first, e.g. `pip install -e .`")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
