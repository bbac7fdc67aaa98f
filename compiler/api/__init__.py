"""The TF1 API functions, one module per family; `tfc/__init__.py` exports them under TF's names."""
