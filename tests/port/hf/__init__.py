"""Hugging Face models from small configs against hand-written Flax NNX ports: equivalence.port's real-model zoo."""
