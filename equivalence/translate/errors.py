"""The single error raised when a PyTorch object cannot be matched exactly."""


class UnsupportedError(ValueError):
    """A PyTorch class or option has no exactly matching Optax/JAX translation.

    The message always names the class or option and says what to do instead;
    the translator refuses rather than returning an approximation.
    """
