"""Parameters: a stage's schema (sfp.schema) turned into a command line, with the defaults of its parameter file.

The file (`default_params.json`, the one users edit) maps each flag to `[default, "help"]`; a flag it leaves out
keeps the schema's default. Every declared parameter becomes `--flag value`; booleans accept True/False/1/0/yes/no,
or a bare `--flag` for True. A number must be finite (inf only where the schema allows it; nan never), an integer
within int64. Unknown keys, wrong types and values outside a parameter's `Rule` fail with one clear line (a
`UserError`) before any work starts. A word after a flag is its value even when it begins with '-'
(`--target_entropy -2`, `--exp_name -x`), at every entry point.
"""

import argparse
import difflib
import functools
import json
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

from sfp.errors import UserError
from sfp.schema import Spec, specs

TRUE_WORDS = {"true", "t", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "off"}
LONG_FLAG = re.compile(r"--[A-Za-z]")  # a word like --name is a flag; any other word beginning with '-' can be a value
INT64_MAX = 2**63 - 1
Schema = TypeVar("Schema")


def parse_bool(text: str) -> bool:
    word = str(text).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean (True/False/1/0), got {text!r}")


def parse_int(text: str) -> int:
    """An integer, also written as 1e6 or 4000.0 as long as it is whole."""
    try:
        value = int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not number.is_integer():
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        value = int(number)
    if abs(value) > INT64_MAX:
        raise argparse.ArgumentTypeError(f"expected an integer of at most 2**63-1, got {text!r}")
    return value


def parse_float(text: str, allow_inf: bool = False) -> float:
    """A finite number (or +-inf when `allow_inf`); nan is never a value."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not _allowed(value, allow_inf):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _allowed(value: float, allow_inf: bool) -> bool:
    return not math.isnan(value) and (allow_inf or not math.isinf(value))


def physical_memory() -> int:
    """Bytes of memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _bytes(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if count < 1000:
            return f"{count:.3g} {unit}"
        count /= 1000
    return f"{count:.3g} PB"


def check_memory(need: float, what: str, flags: dict[str, tuple[float, float]]) -> None:
    """A UserError when `need` bytes (at least what `what` allocates) exceed this machine's memory. It names the
    flag of `flags` ({flag: (value, default)}) that is furthest above its default."""
    memory = physical_memory()
    if need <= memory:
        return
    flag = max(flags, key=lambda key: flags[key][0] / max(flags[key][1], 1))
    raise UserError(
        f"--{flag} {flags[flag][0]} would run out of memory: {what} would need at least {_bytes(need)}, this "
        f"machine has {_bytes(memory)}; lower --{flag}"
    )


def restore_hint(path: Path) -> str:
    """How to get a shipped parameter file back (a symlink's target: `git checkout` of the link restores the link)."""
    return f"restore {path.resolve()} (e.g. git checkout -- {path.resolve()})"


def load_defaults(path: str | Path, schema: type) -> dict[str, tuple[Any, str]]:
    """The defaults of a parameter file {flag: [default, help]} (the one users edit) for `schema`:
    {flag: (default, help)}, the file's default where it has one and the schema's otherwise, the schema's help.
    An unknown key or a default of the wrong type is one UserError line."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"parameter file {path} is missing; {restore_hint(path)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not valid JSON ({err}); fix it or {restore_hint(path)}") from None
    if not isinstance(raw, dict):
        raise UserError(f'{path} must be a JSON object {{"key": [default, "help"]}}; {restore_hint(path)}')
    declared = {spec.flag: spec for spec in specs(schema)}
    defaults = {flag: (spec.default, spec.help) for flag, spec in declared.items()}
    for key, entry in raw.items():
        if key not in declared:
            close = difflib.get_close_matches(key, declared, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UserError(f"{path}: unknown parameter {key!r}; {hint}{restore_hint(path)}")
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], str)):
            raise UserError(f'{path}: entry {key!r} must be [default, "help"]')
        spec = declared[key]
        defaults[key] = (_file_default(path, spec, entry[0]), spec.help)
    return defaults


def _file_default(path: Path, spec: Spec, value: Any) -> Any:
    """A default from a parameter file, checked against the declared type (a whole float is an integer)."""
    kind = spec.kind
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, JSON_TYPES[kind]):
        raise UserError(f"{path}: the default of {spec.flag!r} must be {TYPE_WORDS[kind]}, got {json.dumps(value)}")
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise UserError(f"{path}: the default of {spec.flag!r} must be an integer, got {value}")
        return int(value)
    if kind is float and not _allowed(float(value), spec.allow_inf):
        raise UserError(f"{path}: the default of {spec.flag!r} is {value}; a number must be finite")
    return float(value) if kind is float else value


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one line instead of usage and exit: a bad command line raises a UserError (see errors.py)."""

    def error(self, message: str):
        raise UserError(message)

    def _parse_optional(self, arg_string):
        """A word beginning with '-' is a value (-1e-3, -inf, -x) unless it is one of this parser's options or looks
        like a long flag (--name): argparse alone reads '-1e-3' as an unknown flag."""
        if (
            arg_string.startswith("-")
            and arg_string != "--"
            and not LONG_FLAG.match(arg_string)
            and arg_string not in self._option_string_actions
        ):
            return None
        return super()._parse_optional(arg_string)


def build_parser(schema: type, defaults: dict[str, tuple[Any, str]], description: str) -> argparse.ArgumentParser:
    """One --flag per declared parameter, its type from the schema and its default from `defaults`."""
    parser = ArgumentParser(
        description=description, allow_abbrev=False, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    for spec in specs(schema):
        default, help_text = defaults[spec.flag]
        option = f"--{spec.flag}"
        if spec.kind is bool:
            parser.add_argument(option, type=parse_bool, nargs="?", const=True, default=default, help=help_text)
        elif spec.kind is int:
            parser.add_argument(option, type=parse_int, default=default, help=help_text)
        elif spec.kind is float:
            kind = functools.partial(parse_float, allow_inf=spec.allow_inf)
            parser.add_argument(option, type=kind, default=default, help=help_text)
        else:
            parser.add_argument(option, type=str, default=default, help=help_text)
    return parser


CONFIG_OPTION = "--config"
CONFIG_HELP = "a JSON file {key: value} of parameters (e.g. a run's config.json); flags on the command line win"
JSON_TYPES = {bool: (bool,), int: (int, float), float: (int, float), str: (str,)}
TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def apply_config_file(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """`--config FILE`: the file's {key: value} become the parser's defaults (so flags given on the command line
    win), each checked as its flag would be. Returns argv without the option; a bad file raises one UserError line
    naming the file and the key."""
    rest, path = [], None
    words = iter(argv)
    for word in words:
        if word == CONFIG_OPTION or word.startswith(CONFIG_OPTION + "="):
            path = word.partition("=")[2] or next(words, "")
            if not path or path.startswith("--"):
                raise UserError(f"{CONFIG_OPTION} needs a file: {CONFIG_OPTION} my_run.json")
        else:
            rest.append(word)
    parser.add_argument(CONFIG_OPTION, metavar="FILE", default=argparse.SUPPRESS, help=CONFIG_HELP)  # for --help
    if path is None:
        return rest
    try:
        values = json.loads(Path(path).read_text())
    except OSError as err:
        raise UserError(f"{CONFIG_OPTION} {path}: cannot read it ({err.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f'{CONFIG_OPTION} {path} is not valid JSON ({err}); write it as {{"key": value}}') from None
    if not isinstance(values, dict):
        raise UserError(f'{CONFIG_OPTION} {path} must be a JSON object {{"key": value}}, e.g. {{"epochs": 3}}')
    actions = {action.dest: action for action in parser._actions if action.dest not in ("help", "config")}
    overrides = {}
    for key, value in values.items():
        action = actions.get(key)
        if action is None:
            close = difflib.get_close_matches(key, actions, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"{path}: unknown parameter {key!r}{hint}")
        kind = type(action.default)
        if (
            kind not in JSON_TYPES
            or isinstance(value, bool) != (kind is bool)
            or not isinstance(value, JSON_TYPES[kind])
        ):
            raise UserError(f"{path}: {key!r} must be {TYPE_WORDS.get(kind, kind.__name__)}, got {json.dumps(value)}")
        try:
            overrides[key] = cast(Callable[[str], Any], action.type)(str(value)) if kind is not str else value
        except argparse.ArgumentTypeError as err:
            raise UserError(f"{path}: {key!r}: {err}") from None
    parser.set_defaults(**overrides)
    return rest


def parse_params(
    schema: type[Schema],
    defaults_path: str | Path,
    argv: list[str] | None = None,
    description: str = "",
) -> Schema:
    """Parse `argv` against the schema, with the defaults of its parameter file; check every declared rule.
    Returns a schema instance. Raises UserError on any bad input."""
    defaults = load_defaults(defaults_path, schema)
    parser = build_parser(schema, defaults, description)
    argv = apply_config_file(parser, sys.argv[1:] if argv is None else list(argv))
    args, unknown = parser.parse_known_args(argv)
    flags = [word for word in unknown if LONG_FLAG.match(word)]
    if flags:
        name = flags[0].lstrip("-").split("=")[0]
        close = difflib.get_close_matches(name, defaults, n=1)
        hint = f" (did you mean --{close[0]}?)" if close else f" (the keys are in {Path(defaults_path).resolve()})"
        raise UserError(f"unknown parameter --{name}{hint}")
    if unknown:
        name = unknown[0].lstrip("-").split("=")[0]
        if unknown[0].startswith("-") and name in defaults:
            raise UserError(f"unexpected argument {unknown[0]!r}: write --{name}, with two dashes")
        raise UserError(f"unexpected argument {unknown[0]!r}: parameters are given as --key value")
    for spec in specs(schema):
        spec.rule.check(spec.flag, getattr(args, spec.flag))
    return schema(**{spec.attribute: getattr(args, spec.flag) for spec in specs(schema)})
