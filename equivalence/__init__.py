"""Proof that torchnet and jaxnet compute the same numbers.

Checking your own torch model against its Flax NNX twin: ``from equivalence import port`` (docs/port.md).
"""
