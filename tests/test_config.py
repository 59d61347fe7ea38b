"""A schema -> command line: types, booleans, unknown keys, ranges, the parameter file's defaults."""

import json
import re
from dataclasses import dataclass

import pytest

from sfp.config import load_defaults, parse_params
from sfp.errors import UserError
from sfp.schema import Params, param


@dataclass
class Toy(Params):
    env: str = param("reach-v2", "task", choices=("reach-v2", "push-v2", "x"))
    epochs: int = param(50, "epochs", min=1)
    gamma: float = param(0.99, "discount", min=0.0, max=1.0)
    her: bool = param(True, "hindsight")
    gpu: bool = param(False, "cuda")
    horizon: float = param(10.0, "a threshold that may be inf", allow_inf=True)
    hidden_units: int = param(8, "units", flag="hid")


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"env": ["reach-v2", "task"], "epochs": [50, "epochs"], "her": [True, "hindsight"]}))
    return path


def test_defaults_and_types(params_file):
    args = parse_params(Toy, params_file, [])
    assert (args.env, args.epochs, args.gamma, args.her, args.gpu) == ("reach-v2", 50, 0.99, True, False)
    args = parse_params(Toy, params_file, ["--epochs", "1e3", "--gamma", "1", "--her", "false", "--gpu", "--env", "x"])
    assert (args.epochs, args.gamma, args.her, args.gpu, args.env) == (1000, 1.0, False, True, "x")
    assert isinstance(args.gamma, float) and isinstance(args.epochs, int)


def test_a_flag_can_differ_from_the_attribute(params_file):
    args = parse_params(Toy, params_file, ["--hid", "3"])
    assert args.hidden_units == 3 and args.value("hid") == 3 and args.flag_values()["hid"] == 3
    assert Toy.from_flag_values({"hid": 5}).hidden_units == 5


@pytest.mark.parametrize(
    "word,value", [("True", True), ("1", True), ("yes", True), ("False", False), ("0", False), ("no", False)]
)
def test_boolean_spellings(params_file, word, value):
    assert parse_params(Toy, params_file, ["--her", word]).her is value


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--epoch", "3"], "unknown parameter --epoch (did you mean --epochs?)"),
        (["--epochs", "2.5"], "expected an integer"),
        (["--gamma", "high"], "expected a number"),
        (["--her", "maybe"], "expected a boolean"),
        (["stray"], "unexpected argument"),
        (["--gamma", "1.5"], "above its maximum"),
        (["--epochs", "0"], "below its minimum"),
        (["--env", "fly-v2"], "not one of"),
        (["--gamma", "inf"], "expected a finite number"),
        (["--horizon", "nan"], "expected a finite number"),
        (["--hidden_units", "3"], "unknown parameter --hidden_units"),
    ],
)
def test_bad_input_is_one_clear_line(params_file, argv, message):
    with pytest.raises(UserError, match=re.escape(message)):
        parse_params(Toy, params_file, argv)


def test_inf_only_where_the_schema_allows_it(params_file):
    assert parse_params(Toy, params_file, ["--horizon", "inf"]).horizon == float("inf")


def test_the_file_sets_defaults_and_a_left_out_key_keeps_the_schema_default(tmp_path):
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"epochs": [7, "a user's own default"], "gamma": [1, "an integer is a number"]}))
    args = parse_params(Toy, path, [])
    assert (args.epochs, args.gamma, args.her) == (7, 1.0, True)
    assert load_defaults(path, Toy)["epochs"] == (7, "epochs")  # the help comes from the schema


@pytest.mark.parametrize(
    "text,message",
    [
        ('{"epochs": 1}', r'must be \[default, "help"\]'),
        ("{", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        ('{"epoch": [1, ""]}', "unknown parameter 'epoch'; did you mean 'epochs'?"),
        ('{"epochs": [2.5, ""]}', "must be an integer"),
        ('{"her": [1, ""]}', "must be true or false"),
        ('{"env": [3, ""]}', "must be a string"),
        ('{"gamma": ["high", ""]}', "must be a number"),
        ('{"epochs": [0, ""]}', "below its minimum"),
    ],
)
def test_a_damaged_parameter_file_is_one_line(tmp_path, text, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        parse_params(Toy, path, [])
