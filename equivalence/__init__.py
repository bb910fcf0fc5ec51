"""Proof that torchnet and jaxnet compute the same numbers."""
