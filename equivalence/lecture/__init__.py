"""The lecture's proof: every stage in PyTorch, JAX and a float64 NumPy oracle, compared step by step."""
