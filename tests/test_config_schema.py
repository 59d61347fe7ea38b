"""The schemas are the one place of every parameter: the shipped JSON files, the docs and the code agree with them."""

import dataclasses
import json

import pytest

from sfp.commands.params_files import DOCS_PAGE, TABLES, stale_files
from sfp.config import load_defaults
from sfp.priors.params import PARAMS_FILE as PRIOR_PARAMS_FILE
from sfp.priors.params import PriorParams
from sfp.rl.params import PARAMS_FILE as RL_PARAMS_FILE
from sfp.rl.params import RLParams
from sfp.schema import specs


def test_the_json_files_and_the_docs_tables_are_made_from_the_schemas():
    assert stale_files() == [], "a schema changed: run `make params` and commit the files it rewrites"


@pytest.mark.parametrize("schema,path", [(RLParams, RL_PARAMS_FILE), (PriorParams, PRIOR_PARAMS_FILE)])
def test_every_declared_parameter_is_in_its_file_with_its_default(schema, path):
    shipped = json.loads(path.read_text())
    assert [spec.flag for spec in specs(schema)] == list(shipped)
    for spec in specs(schema):
        assert shipped[spec.flag] == [spec.default, spec.help]
        assert isinstance(spec.default, spec.kind) and spec.kind in (bool, int, float, str)
        spec.rule.check(spec.flag, spec.default)  # every default obeys its own rule
    assert {flag: default for flag, (default, _) in load_defaults(path, schema).items()} == {
        spec.flag: spec.default for spec in specs(schema)
    }


@pytest.mark.parametrize("marker", TABLES)
def test_the_docs_list_every_flag_once(marker):
    page = DOCS_PAGE.read_text()
    table = page.split(f"<!-- {marker} -->")[1].split(f"<!-- /{marker} -->")[0]
    rows = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")]
    assert rows == [spec.flag for spec in specs(TABLES[marker])]


def test_no_other_copy_of_the_defaults_is_left():
    """The agent and the prior trainer read the stage's params themselves (no AgentConfig / TrainingSettings)."""
    import sfp.priors.trainer
    import sfp.rl.agent

    for module, schema in ((sfp.rl.agent, RLParams), (sfp.priors.trainer, PriorParams)):
        copies = [
            name
            for name, value in vars(module).items()
            if dataclasses.is_dataclass(value)
            and value.__module__ == module.__name__
            and {field.name for field in dataclasses.fields(value)} & {spec.attribute for spec in specs(schema)}
        ]
        assert copies == [], f"{module.__name__} declares parameter defaults again: {copies}"
