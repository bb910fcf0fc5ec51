"""The lecture's programs in PyTorch, one stage per file, mirrored name for name by `jaxnet`."""
