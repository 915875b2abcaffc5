#!/usr/bin/env python3
"""GEMM throughput, gankit's micro-kernels next to NumPy; the same as `gankit bench gemm`.

    python benchmarks/gemm.py                 # sizes 64..2048, 1 and 2 threads
    python benchmarks/gemm.py --threads 1 --sizes 512,1024 --kernel all --json out.json
    python benchmarks/gemm.py --help

The code lives in gankit.bench.gemm so that an installed gankit can run it too.
"""
import sys

try:
    from gankit.bench.gemm import main
except ImportError as exc:  # pragma: no cover - a usage error, not a code path
    sys.exit(f"gemm.py: cannot import gankit ({exc}); build it first, e.g. `pip install -e .`")

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], prog="python benchmarks/gemm.py"))
