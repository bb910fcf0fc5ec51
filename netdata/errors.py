"""Bad input a user can fix: the CLIs turn it into exit code 2 and one line, never a traceback."""


class InputError(ValueError):
    """A file, flag or array the user gave is unusable; the message says what is wrong and the fix."""


def one_line(message: str) -> InputError:
    """An InputError whose message is one line: a newline from a path or exception text would break the CLIs'."""
    return InputError(" ".join(message.split()))
