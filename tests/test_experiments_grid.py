"""The experiment launcher: specs, the grid of runs, run status, the preparation commands."""

import os
from pathlib import Path

import pytest

from sfp import paths
from sfp.errors import UserError
from sfp.experiments.grid import grid, load_spec, preparation_commands


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "grid.yaml"
    path.write_text(
        "name: g\ntasks: [corridor-v1]\nmethods: [sfp, sac, parrot_state]\nseeds: [0, 1]\n"
        "params: {epochs: 2, steps_per_epoch: 100}\nmethod_params: {sac: {alpha: 0.05}}\n"
        "prior: {epochs: 3}\n"
    )
    return path


def test_grid_names_and_flags(spec_file):
    runs = grid(load_spec(spec_file))
    assert [(run.method, run.seed) for run in runs] == [
        ("sfp", 0),
        ("sfp", 1),
        ("sac", 0),
        ("sac", 1),
        ("parrot_state", 0),
        ("parrot_state", 1),
    ]
    sfp, sac = runs[0], runs[2]
    assert sfp.name == "g__corridor-v1__sfp" and sfp.directory == paths.run_dir("g__corridor-v1__sfp", 0)
    assert sfp.argv[sfp.argv.index("--use_prior") + 1] == "True"
    assert sac.argv[sac.argv.index("--alpha") + 1] == "0.05"


def test_env_kwargs_as_a_yaml_mapping_runs_as_its_json_text(tmp_path):
    """YAML's natural spelling of env_kwargs gives the runs (names and command lines) of main.py's JSON text."""
    runs = []
    for kwargs in ("{g: 9.5, max_episode_steps: 50}", """'{"g": 9.5, "max_episode_steps": 50}'"""):
        path = tmp_path / "grid.yaml"
        path.write_text(
            "name: g\ntasks: [Pendulum-v1]\nmethods: [sac]\nseeds: [0]\n"
            f"params: {{env_kwargs: {kwargs}}}\nmethod_params: {{sac: {{env_kwargs: {kwargs}}}}}\n"
        )
        runs.append([(run.name, run.argv) for run in grid(load_spec(path))])
    assert runs[0] == runs[1]
    (name, argv), *_ = runs[0]
    assert (
        name == "g__Pendulum-v1__sac" and argv[argv.index("--env_kwargs") + 1] == '{"g": 9.5, "max_episode_steps": 50}'
    )


def test_missing_data_and_priors_become_the_commands_a_user_would_type(spec_file):
    preparations = preparation_commands(load_spec(spec_file), grid(load_spec(spec_file)))
    commands = [preparation.command for preparation in preparations]
    assert commands[0][:4] == ["-m", "sfp.commands.collect", "--env", "point-maze"]
    assert commands[1] == ["-m", "sfp.commands.distill", "--env", "point-maze", "--expert", "original"]
    modes = [command[command.index("--mode") + 1] for command in commands[2:]]
    assert modes == ["action", "state+goal"] and all(command[-2:] == ["--epochs", "3"] for command in commands[2:])
    # each prior names the checkpoint it makes (a grid waits for it when another process is making it)
    assert [p.product for p in preparations[:2]] == [None, None]
    assert [p.product.name for p in preparations[2:]] == [
        "maze_primitive_flow_action_1.pt",
        "maze_primitive_flow_state+goal_1.pt",
    ]


def test_run_status_follows_the_log_directory(spec_file):
    run = grid(load_spec(spec_file))[0]
    assert run.status(epochs=2) == "new"
    run.directory.mkdir(parents=True)
    (run.directory / "config.json").write_text("{}")
    assert run.status(epochs=2) == "broken"
    (run.directory / "checkpoint.pt").write_bytes(b"x")
    (run.directory / "progress.txt").write_text("Epoch\tX\n1\t0\n")
    assert run.status(epochs=2) == "interrupted"
    (run.directory / "progress.txt").write_text("Epoch\tX\n1\t0\n2\t0\n")
    assert run.status(epochs=2) == "finished"


@pytest.mark.parametrize(
    "text,message",
    [
        ("name: g\ntasks: [corridor-v1]\nmethods: [dqn]\nseeds: [0]\n", "unknown method 'dqn'"),
        ("name: g\ntasks: [corridor-v1]\nmethods: [sac]\n", "a spec has name, tasks, methods, seeds"),
        (
            "name: g\ntasks: [corridor-v1]\nmethods: [sac]\nseeds: [0]\nparams: {epoch: 3}\n",
            r"params: unknown key 'epoch' \(did you mean epochs\?\)",
        ),
    ],
)
def test_bad_specs_fail_with_one_line(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=message):
        grid(load_spec(path))


@pytest.mark.parametrize(
    "spec", sorted((Path(__file__).resolve().parents[1] / "experiments").glob("*.yaml")), ids=lambda path: path.name
)
def test_every_committed_spec_makes_a_valid_grid(spec):
    """grid() checks each run's parameters as main.py would."""
    runs = grid(load_spec(spec))
    assert runs and len({run.name for run in runs}) * len(load_spec(spec)["seeds"]) == len(runs)


VARIANT_SPEC = (
    "name: g\ntasks: [corridor-v1]\nmethods: [sac_auto, sac_a001]\nseeds: [0]\n"
    "params: {epochs: 1, steps_per_epoch: 120, start_steps: 40, update_after: 40, update_every: 20, "
    "batch_size: 16, hid: 16, max_ep_len: 60, num_test_episodes: 1, replay_size: 1000}\n"
    "variants:\n  sac_a001: {base: sac, params: {alpha: 0.01}}\n"
)


def test_a_variant_is_its_base_preset_plus_its_params_and_runs(tmp_path):
    from sfp.commands.train import main as train_main
    from sfp.experiments.analysis import read_run

    path = tmp_path / "variants.yaml"
    path.write_text(VARIANT_SPEC)
    auto, variant = grid(load_spec(path))
    assert auto.argv[auto.argv.index("--autotune_alpha") + 1] == "True"
    assert variant.name == "g__corridor-v1__sac_a001" and variant.argv[variant.argv.index("--alpha") + 1] == "0.01"
    train_main(variant.argv)
    run = read_run(variant.directory)
    assert run.method == "sac_a001" and run.columns["Alpha"][-1] == pytest.approx(0.01)  # fixed: the variant's alpha


@pytest.mark.parametrize(
    "variants,message",
    [
        ("  sac_a001: {base: dqn, params: {alpha: 0.01}}\n", "variants: sac_a001: unknown base 'dqn'"),
        ("  sac_a001: {base: sac, params: {alfa: 0.01}}\n", r"unknown key 'alfa' \(did you mean alpha\?\)"),
        ("  sac_a001: {base: sac, params: {alpha: -1}}\n", "corridor-v1/sac_a001: --alpha -1.0 is below its minimum"),
        ("  sac_a001: {base: sac, prams: {alpha: 0.01}}\n", "has base and optionally params \\(unknown: prams"),
        ("  sac_a001: {params: {alpha: 0.01}}\n", "missing: base"),
        ("  sac_a001: sac\n", "must be a mapping"),
        ("  sac_a001: {base: sac}\n  sac: {base: pink}\n", "'sac' is the name of a preset"),
        ("  sac_a001: {base: sac}\n  pink_x: {base: pink}\n", "defines pink_x, which is not among the methods"),
        ("  sac_a001: {base: sac, params: {seed: 3}}\n", "seed is set by the grid for each run"),
    ],
)
def test_an_invalid_variant_is_refused_with_one_line(tmp_path, variants, message):
    path = tmp_path / "bad.yaml"
    path.write_text(VARIANT_SPEC.split("variants:\n")[0] + "variants:\n" + variants)
    with pytest.raises(UserError, match=message) as caught:
        grid(load_spec(path))
    assert "\n" not in str(caught.value)


def test_a_method_missing_from_presets_and_variants_names_both(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(VARIANT_SPEC.replace("[sac_auto, sac_a001]", "[sac_auto, sac_a001, sac_a01]"))
    with pytest.raises(UserError, match="unknown method 'sac_a01'.*variants of this spec sac_a001"):
        grid(load_spec(path))


def test_status_reads_where_each_run_stands_and_writes_nothing(spec_file, capsys):
    """Run 0 finished (2 of 2 epochs, 2 h), run 1 interrupted after 1 epoch (1 h), run 2 held by a live process,
    the other three not started: 300 steps took 3 h, so the 900 steps left take about 9 run-hours."""
    from sfp.commands.grid import main
    from sfp.run_lock import hold_run_lock

    runs = grid(load_spec(spec_file))
    header = "Epoch\tTotalEnvInteracts\tAverageTestSuccessRate\tAlpha\tTime\n"
    for run, rows in (
        (runs[0], ["1\t100\t0.5\t0.2\t3600", "2\t200\t1.0\t0.1\t7200"]),
        (runs[1], ["1\t100\t0\t0.2\t3600"]),
    ):
        run.directory.mkdir(parents=True)
        (run.directory / "config.json").write_text('{"epochs": 2, "steps_per_epoch": 100}')
        (run.directory / "progress.txt").write_text(header + "\n".join(rows) + "\n")
    (runs[1].directory / "checkpoint.pt").write_bytes(b"x")
    logs = paths.log_dir()
    with hold_run_lock(runs[2].directory):
        before = sorted(str(path) for path in logs.rglob("*"))
        main([str(spec_file), "--status"])
        assert sorted(str(path) for path in logs.rglob("*")) == before
    out = capsys.readouterr().out
    assert "| g__corridor-v1__sfp_s0 | finished | 200 of 200 | 1.00 | 0.75 | 0.1 | 2.00 |" in out
    assert "| g__corridor-v1__sfp_s1 | interrupted | 100 of 200 | 0.00 | 0.00 | 0.2 | 1.00 |" in out
    assert f"| g__corridor-v1__sac_s0 | running (process {os.getpid()} on " in out
    assert "| g__corridor-v1__parrot_state_s1 | not started | 0 of 200 |  |  |  | 0.00 |" in out
    assert "1 finished, 1 running, 1 interrupted, 3 not started; 3.0 run-hours so far, about 9.0 run-hours left" in out


def test_status_shows_a_run_with_a_damaged_progress_file_as_broken(spec_file, capsys):
    from sfp.commands.grid import main

    run = grid(load_spec(spec_file))[0]
    run.directory.mkdir(parents=True)
    (run.directory / "progress.txt").write_text("Epoch\tTotalEnvInteracts\n1\t100\ngarbage\n2\t200\n")
    main([str(spec_file), "--status"])
    out = capsys.readouterr().out
    assert "| g__corridor-v1__sfp_s0 | broken | 0 of 200 |  |  |  | 0.00 |" in out
    assert "1 broken, 5 not started" in out
