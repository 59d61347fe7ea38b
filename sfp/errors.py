"""User-facing errors: one line that says what is wrong and how to fix it."""

import functools
import sys

USER_ERROR_STATUS = 2


class UserError(Exception):
    """A mistake the user can fix (bad parameter, missing file, ...). The message names the fix; entry points exit
    with `exit_code`."""

    exit_code = USER_ERROR_STATUS


def one_line(text: object) -> str:
    """`text` with its lines joined by spaces: an error is always one line."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def describe_fault(err: BaseException) -> str:
    """'<Type>: <message>' of an error raised in a user's code (module, environment, expert), 'it called
    sys.exit(<code>)' for a sys.exit there (catch USER_CODE_FAULTS around such code)."""
    if isinstance(err, SystemExit):
        return f"it called sys.exit({'' if err.code is None else repr(err.code)})"
    return f"{type(err).__name__}: {one_line(err)}"


USER_CODE_FAULTS = (Exception, SystemExit)  # what a user's code may raise that is its fault (Ctrl-C is not)


def describe_os_error(err: OSError) -> str:
    """'<path>: <reason>' (or '<path> -> <path2>: <reason>') of an operating-system error."""
    reason = err.strerror or str(err)
    if err.filename is None:
        return one_line(reason)
    where = str(err.filename) + (f" -> {err.filename2}" if err.filename2 is not None else "")
    return one_line(f"{where}: {reason}")


def out_of_memory(err: BaseException) -> bool:
    """A failed allocation: MemoryError, or torch's RuntimeError (and OutOfMemoryError) saying so."""
    return isinstance(err, MemoryError) or "can't allocate memory" in str(err) or "out of memory" in str(err)


def exits_cleanly(main):
    """Decorate a command's main(): a UserError prints `error: <message>`, an OSError (a path that cannot be
    read or created) `error: <path>: <reason>`, a failed allocation `error: out of memory ...`, each on one line,
    and exits with status 2 (or the error's exit_code). Anything else is a bug and keeps its traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as err:
            message, status = one_line(err), err.exit_code
        except OSError as err:
            message, status = describe_os_error(err), USER_ERROR_STATUS
        except (MemoryError, RuntimeError) as err:
            if not out_of_memory(err):
                raise
            message = f"out of memory ({one_line(err)[:160]}): lower the sizes asked for (e.g. --hid, --batch_size)"
            status = USER_ERROR_STATUS
        print(f"error: {message}", file=sys.stderr)
        sys.exit(status)

    return wrapper
