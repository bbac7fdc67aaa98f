"""tfc.passes: transformations over the IR (they import tfc.ir only)."""
