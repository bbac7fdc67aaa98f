"""The LLVM backend for the host CPU."""
