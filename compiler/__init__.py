"""tfc: an ahead-of-time graph compiler for TensorFlow 1.x-style models."""

__version__ = "0.1.0"
