"""gankit's benchmarks, here in the installed package so that `gankit bench NAME` runs after a
plain `pip install gankit`, without the source tree.

Each is gankit.bench.NAME with main(argv) -> exit status: one module (profile, gemm,
pack_ema_cost) or, when it has several parts, a subpackage (speed/, losses/, quality/);
the _-prefixed modules here are helpers they share. benchmarks/ in the repository holds
the scripts (benchmarks/NAME.py runs the same main; metrics.py and soak.py, which need
tests/, are whole scripts), their README and the committed results; cpp/bench/ holds the
C++-only micro-benchmarks that need just the CMake build.
"""
