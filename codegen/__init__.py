"""tfc.codegen: code generators from the IR (LLVM for the host CPU, BANG C for the MLU)."""
