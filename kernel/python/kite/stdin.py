"""input() and getpass.getpass() through the host's stdin channel."""

import _kite

from . import iopub
from .errors import StdinNotImplementedError

allowed = True  # the running execute_request's allow_stdin


def _ask(prompt, password, caller):
    iopub.flush()
    if allowed:
        value = _kite.input(str(prompt), password)
        if value is not None:
            return value
    raise StdinNotImplementedError(
        "%s was called, but this frontend does not support input requests." % caller)


def input(prompt=""):
    """Read a line from the frontend (without its trailing newline)."""
    return _ask(prompt, False, "raw_input")


def getpass(prompt="Password: ", stream=None):
    """Read a password from the frontend, hidden while typed."""
    return _ask(prompt, True, "getpass")
