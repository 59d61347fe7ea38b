"""default_params.json -> command line: types, booleans, unknown keys, ranges."""

import json
import re

import pytest

from sfp.config import Rule, parse_params
from sfp.errors import UserError


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.json"
    path.write_text(
        json.dumps(
            {
                "env": ["reach-v2", "task"],
                "epochs": [50, "epochs"],
                "gamma": [0.99, "discount"],
                "her": [True, "hindsight"],
                "gpu": [False, "cuda"],
            }
        )
    )
    return path


def test_defaults_and_types(params_file):
    args = parse_params(params_file, [])
    assert (args.env, args.epochs, args.gamma, args.her, args.gpu) == ("reach-v2", 50, 0.99, True, False)
    args = parse_params(params_file, ["--epochs", "1e3", "--gamma", "1", "--her", "false", "--gpu", "--env", "x"])
    assert (args.epochs, args.gamma, args.her, args.gpu, args.env) == (1000, 1.0, False, True, "x")
    assert isinstance(args.gamma, float) and isinstance(args.epochs, int)


@pytest.mark.parametrize(
    "word,value", [("True", True), ("1", True), ("yes", True), ("False", False), ("0", False), ("no", False)]
)
def test_boolean_spellings(params_file, word, value):
    assert parse_params(params_file, ["--her", word]).her is value


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--epoch", "3"], "unknown parameter --epoch (did you mean --epochs?)"),
        (["--epochs", "2.5"], "expected an integer"),
        (["--gamma", "high"], "expected a number"),
        (["--her", "maybe"], "expected a boolean"),
        (["stray"], "unexpected argument"),
    ],
)
def test_bad_input_is_one_clear_line(params_file, argv, message):
    with pytest.raises(UserError, match=re.escape(message)):
        parse_params(params_file, argv)


def test_rules_reject_out_of_range_and_unknown_choices(params_file):
    rules = {"gamma": Rule(min=0.0, max=1.0), "env": Rule(choices=("reach-v2", "push-v2"))}
    with pytest.raises(UserError, match="above its maximum"):
        parse_params(params_file, ["--gamma", "1.5"], rules)
    with pytest.raises(UserError, match="not one of"):
        parse_params(params_file, ["--env", "fly-v2"], rules)
    assert parse_params(params_file, ["--env", "push-v2"], rules).env == "push-v2"


def test_malformed_parameter_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"a": 1}')
    with pytest.raises(UserError, match=r'must be \[default, "help"\]'):
        parse_params(path, [])
    path.write_text("{")
    with pytest.raises(UserError, match="not valid JSON"):
        parse_params(path, [])
