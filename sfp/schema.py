"""A stage's parameters, declared once: a dataclass whose fields are made by `param`.

Each field carries its type (the annotation), default, help, allowed values (a `Rule`) and its flag, the name on
the command line and in JSON files, which is the field's name unless the seed's terse name is kept there (`l` for
`hidden_layers`). The command line and `--config` files (sfp.config), the shipped `default_params.json` files and
the tables of docs/parameters.md (sfp.commands.params_files) are all derived from the dataclass;
tests/test_config_schema.py fails when they disagree.
"""

import dataclasses
import json
import typing
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sfp.errors import UserError
from sfp.paths import check_name

SEED_MAX = 2**32 - 1  # numpy's seeds
TINY = 1e-12  # the smallest value of a parameter that must be positive
_META = "sfp.param"


@dataclass(frozen=True)
class Rule:
    """Allowed values of one parameter: an inclusive range and/or a set of choices; `name`: the value becomes a
    directory name (no path: see sfp.paths.check_name), `optional`: the empty string is allowed (a default)."""

    min: float | None = None
    max: float | None = None
    choices: Collection | None = None
    name: bool = False
    optional: bool = False

    def check(self, flag: str, value: Any) -> None:
        if self.choices is not None and value not in self.choices:
            raise UserError(f"--{flag} {value!r} is not one of {', '.join(map(str, self.choices))}")
        if self.name and (value or not self.optional):
            check_name(value, f"--{flag}")
        if self.min is not None and value < self.min:
            raise UserError(f"--{flag} {value} is below its minimum {self.min}")
        if self.max is not None and value > self.max:
            raise UserError(f"--{flag} {value} is above its maximum {self.max}")

    def words(self) -> str:
        """The rule as the docs print it: '>= 1', '0 .. 1', 'one of: a, b', 'a name'."""
        if self.choices is not None:
            return "one of: " + ", ".join(map(str, self.choices))
        if self.name:
            return "a directory name" + (" or empty" if self.optional else "")
        if self.min is not None and self.max is not None:
            return f"{_number(self.min)} .. {_number(self.max)}"
        if self.min is not None:
            return f">= {_number(self.min)}"
        if self.max is not None:
            return f"<= {_number(self.max)}"
        return ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


@dataclass(frozen=True)
class Spec:
    """One declared parameter: `attribute` in the code, `flag` on the command line and in JSON files."""

    attribute: str
    flag: str
    kind: type  # bool, int, float or str
    default: Any
    help: str
    rule: Rule
    allow_inf: bool  # a float that may be +-inf (never nan)


def param(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    allow_inf: bool = False,
    min: float | None = None,
    max: float | None = None,
    choices: Collection | None = None,
    name: bool = False,
    optional: bool = False,
) -> Any:
    """A dataclass field declaring one parameter (see the module docstring)."""
    rule = Rule(min=min, max=max, choices=choices, name=name, optional=optional)
    return dataclasses.field(default=default, metadata={_META: (help, flag, rule, allow_inf)})


def specs(schema: type) -> tuple[Spec, ...]:
    """The parameters of a schema dataclass, in declaration order."""
    if schema not in _SPECS:
        _SPECS[schema] = _declared(schema)
    return _SPECS[schema]


_SPECS: dict[type, tuple[Spec, ...]] = {}


def _declared(schema: type) -> tuple[Spec, ...]:
    kinds = typing.get_type_hints(schema)
    declared = []
    for field in dataclasses.fields(schema):
        help_text, flag, rule, allow_inf = field.metadata[_META]
        declared.append(
            Spec(field.name, flag or field.name, kinds[field.name], field.default, help_text, rule, allow_inf)
        )
    return tuple(declared)


def flags(schema: type) -> tuple[str, ...]:
    """The flags of a schema (the keys of its parameter file and of a run's config.json)."""
    return tuple(spec.flag for spec in specs(schema))


def by_flag(schema: type) -> dict[str, Spec]:
    return {spec.flag: spec for spec in specs(schema)}


class Params:
    """Base of a stage's parameter dataclass: conversion between attributes and flags (JSON keys)."""

    def flag_values(self) -> dict[str, Any]:
        """{flag: value}: what config.json files hold."""
        return {spec.flag: getattr(self, spec.attribute) for spec in specs(type(self))}

    def value(self, flag: str) -> Any:
        return getattr(self, by_flag(type(self))[flag].attribute)

    @classmethod
    def from_flag_values(cls, values: dict[str, Any]):
        """An instance from {flag: value}; flags left out keep their declared defaults."""
        known = by_flag(cls)
        return cls(**{known[flag].attribute: value for flag, value in values.items()})


def defaults_file_text(schema: type) -> str:
    """The shipped default_params.json of a schema: {flag: [default, help]}, one parameter per line."""
    lines = [f"  {json.dumps(spec.flag)}: {json.dumps([spec.default, spec.help])}" for spec in specs(schema)]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def markdown_table(schema: type) -> str:
    """The docs' table of a schema: parameter, default, allowed values, meaning."""
    rows = ["| parameter | default | allowed | meaning |", "|---|---|---|---|"]
    for spec in specs(schema):
        allowed = (
            spec.rule.words() or {bool: "true / false", int: "an integer", float: "a number", str: "text"}[spec.kind]
        )
        meaning = spec.help.replace("|", "\\|")
        if spec.attribute != spec.flag:
            meaning += f" (`{spec.attribute}` in the code)"
        rows.append(f"| `{spec.flag}` | `{json.dumps(spec.default)}` | {allowed} | {meaning} |")
    return "\n".join(rows) + "\n"
