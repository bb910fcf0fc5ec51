"""Hugging Face models from small configs against hand-written Flax NNX ports: the real-model zoo of equivalence.port."""
