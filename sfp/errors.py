"""User-facing errors: one line that says what is wrong and how to fix it."""
import functools
import sys


class UserError(Exception):
    """A mistake the user can fix (bad parameter, missing file, ...). The message names the fix."""


def exits_cleanly(main):
    """Decorate a script's main(): a UserError prints `error: <message>` and exits with status 2."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    return wrapper
