"""The lecture's programs in JAX (jit, grad, Flax NNX, Optax), mirroring `torchnet` name for name."""
