"""Execution: the reference interpreter (and, later, native loaders and the MLU simulator)."""
