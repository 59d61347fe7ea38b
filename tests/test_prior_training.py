"""flows/train.py end to end on tiny datasets: every model and mode trains, saves under main.py's name, logs,
and loads; bad option combinations fail before any work."""

import json

import pytest
import torch

from sfp import paths
from sfp.commands.train_prior import main
from sfp.data.synthetic import write_persistent_dataset
from sfp.priors.loading import load_prior
from sfp.priors.params import parse_train_params
from sfp.priors.training import train_prior
from tests.tiny_runs import tiny_prior

torch.set_num_threads(1)
TINY = tiny_prior(epochs=2, lr=0.001)


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    for variable, name in (("D4RL_DATASET_DIR", "data"), ("SFP_FLOW_DIR", "flows"), ("SFP_LOG_DIR", "logs")):
        monkeypatch.setenv(variable, str(tmp_path / name))
    (tmp_path / "data").mkdir()
    write_persistent_dataset(tmp_path / "data" / "maze_primitive.hdf5", 12, 40, images=True)
    return tmp_path


def train(*extra):
    return train_prior(parse_train_params(TINY + list(extra)))


def condition(prior, batch):
    if prior.one_step:
        return None
    if prior.mode == "image":
        return torch.rand(batch, 3, 64, 64)
    return torch.randn(batch, prior.cond_dim)


@pytest.mark.parametrize(
    "extra",
    [
        ["--model", "flow"],
        ["--model", "deterministic"],
        ["--model", "gaussian"],
        ["--model", "vae"],
        ["--model", "lscde"],
        ["--deterministic", "True"],
        ["--gaussian", "True"],
        ["--mode", "state"],
        ["--mode", "state+goal", "--n_step", "2"],
        ["--mode", "action+state", "--n_step", "3"],
        ["--mode", "image", "--batch_size", "16"],
        ["--one_step", "True"],
        ["--n_step", "2", "--data_ratio", "0.5"],
        ["--shared", "False", "--bn", "False", "--pre_mlp", "False"],
    ],
)
def test_every_model_and_mode_trains_saves_and_loads(dirs, extra):
    result = train(*extra)
    params = parse_train_params(TINY + extra)
    expected = paths.prior_checkpoint(
        "maze", params.model, params.mode, params.n_step, params.data_ratio, params.one_step
    )
    assert result["written"] and result["checkpoint"] == expected and expected.exists()
    prior = load_prior(expected)
    assert (prior.model, prior.mode, prior.n_step) == (params.model, params.mode, params.n_step)
    assert prior.sample(condition(prior, 5), 5).shape == (5, 2)
    assert all(not p.requires_grad for p in prior.network.parameters())
    log = result["log_dir"]
    for name in ("params.json", "config.json", "progress.txt", "diagnostics.json", "model.pt"):
        assert (log / name).exists(), name
    assert any(path.name.startswith("events.out.tfevents") for path in log.iterdir())
    rows = (log / "progress.txt").read_text().splitlines()
    assert rows[0].split("\t") == ["epoch", "train_loss", "val_loss", "best_val_loss"]
    assert len(rows) == (2 if params.model == "lscde" else 3)
    assert json.loads((log / "config.json").read_text())["val_nll"] == pytest.approx(result["val_nll"])
    if params.mode == "action" or params.one_step:
        assert (log / "pairs.png").stat().st_size > 0
        assert set(result["rollouts"]) == {"data", "prior", "rollouts", "steps"}


def test_action_state_condition_is_the_action_window_then_the_current_state_and_goal(dirs):
    train("--mode", "action+state", "--n_step", "2")
    prior = load_prior(paths.prior_checkpoint("maze", "flow", "action+state", 2))
    assert prior.cond_dim == 2 * 2 + 2 + 2


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--mode", "image", "--n_step", "2"], "use --n_step 1"),
        (["--one_step", "True", "--n_step", "2"], "--n_step 1"),
        (["--one_step", "True", "--data_ratio", "0.5"], "checkpoint name"),
        (["--model", "vae", "--gaussian", "True"], "conflicts"),
        (["--mode", "image", "--model", "gaussian"], "needs --model flow"),
        (["--data_ratio", "0"], "above 0"),
        (["--mode", "pixels"], "not one of"),
        (["--device", "cuda:7"], "cuda"),
    ],
)
def test_incompatible_options_fail_before_training(dirs, capsys, argv, message):
    if message == "cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA device exists")
    with pytest.raises(SystemExit) as stop:
        main(TINY + argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err
    assert not (dirs / "logs").exists()


def test_missing_dataset_names_the_command_that_makes_it(dirs, capsys):
    with pytest.raises(SystemExit):
        main(TINY[:0] + ["--env", "meta-world"])
    assert "python scripts/collect_dataset.py --env meta-world" in capsys.readouterr().err


def test_missing_images_are_reported(dirs, capsys):
    write_persistent_dataset(dirs / "data" / "maze_primitive.hdf5", 4, 20)
    with pytest.raises(SystemExit):
        main(TINY + ["--mode", "image"])
    assert "no images" in capsys.readouterr().err


def test_diagnose_only_reports_an_existing_checkpoint(dirs):
    train()
    from sfp.priors.training import diagnose_checkpoint

    report = diagnose_checkpoint(parse_train_params(TINY + ["--diagnose_only", "True"]))
    assert report["log_dir"].name.endswith("_diagnose_s1")
    assert (report["log_dir"] / "pairs.png").exists() and "rollouts" in report
