"""Errors that reach the user: each names the input, what is wrong and the fix."""


class GramfastError(Exception):
    """A failure the user can act on; the CLI prints it and exits with code 1."""

    exit_code = 1


class InputError(GramfastError):
    """Bad input or bad options (a usage error); the CLI exits with code 2."""

    exit_code = 2


class StoreError(GramfastError):
    """A parsed store that is missing, incomplete, corrupt or of another format."""

    exit_code = 2
