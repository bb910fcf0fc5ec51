"""The one error a port check raises when two models cannot be paired or run: one line, with the fix."""

from netdata.errors import InputError


class PortError(InputError):
    """A leaf without a partner, without a rule, with shapes that do not fit, or an unusable argument.

    The message is one line naming the torch path (and NNX path) and saying what to do; it is an
    InputError, so the command line turns it into exit code 2.
    """

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
