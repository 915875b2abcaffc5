#!/usr/bin/env python3
"""Iterations/s of a full GAN training iteration: gankit vs NumPy, PyTorch, JAX (see gankit.bench.speed)."""
import sys

from gankit.bench.speed import main

if __name__ == "__main__":
    sys.exit(main())
