"""gankit's benchmarks, importable so that `gankit bench NAME` works after a plain install.

Each module has main(argv) -> exit status; benchmarks/NAME.py in the repository runs it.
"""
