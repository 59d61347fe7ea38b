"""--config FILE: a run's parameters from a JSON file; command-line flags win; a run's config.json is a valid file."""

import json

import numpy as np
import pytest

import main
from sfp import paths
from sfp.priors.params import parse_train_params
from sfp.rl.params import load_rl_params

TINY = {
    "env": "corridor-v1",
    "epochs": 1,
    "steps_per_epoch": 150,
    "start_steps": 60,
    "update_after": 50,
    "update_every": 25,
    "batch_size": 16,
    "hid": 16,
    "max_ep_len": 100,
    "num_test_episodes": 1,
    "num_threads": 1,
    "replay_size": 1000,
    "alpha": 0.05,
    "her": False,
    "lr": 3e-4,
}
VOLATILE = ("Time", "SPS", "UpdatesPerSec")


def write(path, payload):
    path.write_text(json.dumps(payload))
    return str(path)


def progress(name):
    header, *rows = [line.split("\t") for line in (paths.run_dir(name, 0) / "progress.txt").read_text().splitlines()]
    keep = [i for i, column in enumerate(header) if column not in VOLATILE]
    return np.array([[float(row[i]) for i in keep] for row in rows])


def test_a_runs_config_json_reruns_the_same_run_under_another_name(tmp_path):
    main.main(["--config", write(tmp_path / "my_run.json", {**TINY, "exp_name": "first"})])
    stored = json.loads((paths.run_dir("first", 0) / "config.json").read_text())
    assert (stored["alpha"], stored["her"], stored["lr"], stored["hid"]) == (0.05, False, 3e-4, 16)

    main.main(["--config", str(paths.run_dir("first", 0) / "config.json"), "--exp_name", "other"])
    again = json.loads((paths.run_dir("other", 0) / "config.json").read_text())
    assert {**again, "exp_name": "first"} == stored
    np.testing.assert_array_equal(progress("other"), progress("first"))


def test_a_resumed_runs_config_json_is_a_valid_config_too(tmp_path):
    main.main(["--config", write(tmp_path / "my_run.json", {**TINY, "exp_name": "first"})])
    main.main(
        [
            "--config",
            write(tmp_path / "my_run.json", {**TINY, "exp_name": "first"}),
            "--resume",
            "True",
            "--epochs",
            "2",
        ]
    )
    stored = json.loads((paths.run_dir("first", 0) / "config.json").read_text())
    assert stored["resume"] is False and stored["epochs"] == 2
    main.main(["--config", str(paths.run_dir("first", 0) / "config.json"), "--exp_name", "other"])
    np.testing.assert_array_equal(progress("other"), progress("first"))


def test_the_file_overrides_defaults_and_flags_override_the_file(tmp_path):
    path = write(
        tmp_path / "my_run.json", {"env": "room-v1", "epochs": 3, "gamma": 1, "use_prior": True, "replay_size": 1e5}
    )
    params, _ = load_rl_params(["--config", path, "--epochs", "7"])
    assert (params.env, params.epochs, params.gamma, params.use_prior) == ("room-v1", 7, 1.0, True)
    assert params.replay_size == 100000 and isinstance(params.replay_size, int) and isinstance(params.gamma, float)
    assert params.alpha == 0.2  # not in the file: the default
    assert load_rl_params([f"--config={path}"])[0].epochs == 3
    assert "config" not in vars(params)


@pytest.mark.parametrize(
    "payload,message",
    [
        ({"epoch": 3}, "my_run.json: unknown parameter 'epoch' (did you mean 'epochs'?)"),
        ({"epochs": "3"}, "my_run.json: 'epochs' must be an integer, got \"3\""),
        ({"epochs": 2.5}, "my_run.json: 'epochs': expected an integer"),
        ({"her": 1}, "my_run.json: 'her' must be true or false, got 1"),
        ({"env": None}, "my_run.json: 'env' must be a string, got null"),
        ({"lr": "fast"}, "my_run.json: 'lr' must be a number"),
        ({"config": "other.json"}, "my_run.json: unknown parameter 'config'"),
        ([["epochs", 3]], "must be a JSON object"),
    ],
)
def test_a_bad_file_stops_with_one_line_naming_the_file_and_key(tmp_path, capsys, payload, message):
    path = write(tmp_path / "my_run.json", payload)
    with pytest.raises(SystemExit) as exit_info:
        main.main(["--config", path, "--exp_name", "bad"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not paths.run_dir("bad", 0).exists()


def test_unreadable_files_and_a_missing_name_stop_with_one_line(tmp_path, capsys):
    (tmp_path / "broken.json").write_text('{"epochs": 3,')
    for argv, message in (
        (["--config", str(tmp_path / "broken.json")], "broken.json is not valid JSON"),
        (["--config", str(tmp_path / "absent.json")], "absent.json: cannot read it"),
        (["--config"], "--config needs a file"),
        (["--config", "--epochs", "3"], "--config needs a file"),
    ):
        with pytest.raises(SystemExit):
            main.main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (argv, err)


def test_a_rule_still_applies_to_values_from_the_file(tmp_path):
    from sfp.errors import UserError

    with pytest.raises(UserError, match="--gamma 2.0 is above its maximum"):
        load_rl_params(["--config", write(tmp_path / "my_run.json", {"gamma": 2.0})])


def test_flows_train_reads_its_own_keys_from_a_file(tmp_path):
    path = write(tmp_path / "prior.json", {"mode": "state", "epochs": 4, "bn": False})
    params = parse_train_params(["--config", path, "--epochs", "2"])
    assert (params.mode, params.epochs, params.bn) == ("state", 2, False)
