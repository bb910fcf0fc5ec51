"""Check your own port: a PyTorch model against its Flax NNX twin, layer by layer (see docs/port.md)."""
