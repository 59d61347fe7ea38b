"""A baseline added where docs/development.md says ("How to add a baseline"): an action wrapper's row in
sfp.rl.action_priors and a preset's row in sfp.rl.methods. Nothing else is touched, and it runs from main.py's entry
point, is a choice of --action_prior and a method of the grid launcher."""

import dataclasses

import numpy as np
import pytest

from sfp.errors import UserError
from sfp.experiments.grid import grid, load_spec
from sfp.rl.action_priors import ACTION_PRIORS_TABLE, ActionPrior
from sfp.rl.build import needs_dataset, required_priors
from sfp.rl.methods import METHODS, Method, flags
from sfp.rl.params import ACTION_PRIORS, load_rl_params
from sfp.rl.run import run
from sfp.rl.wrappers import TaskWrapper
from tests.tiny_runs import tiny_run

TINY_RUN = tiny_run()


class HalfActions(TaskWrapper):
    """The toy baseline: the environment executes half of each agent action."""

    def __init__(self, env):
        super().__init__(env)
        self.steps = 0

    def step(self, action):
        self.steps += 1
        return self.env.step(0.5 * np.asarray(action))


@pytest.fixture
def half(monkeypatch):
    """The two rows of the toy baseline `half`."""
    row = ActionPrior("the environment executes half of each action", lambda env, params, device: HalfActions(env))
    monkeypatch.setitem(ACTION_PRIORS_TABLE, "half", row)
    monkeypatch.setitem(METHODS, "half", Method("half actions", {"action_prior": "half"}, "nothing"))
    return row


def test_the_new_baseline_runs_an_epoch_from_its_preset(half):
    params, notes = load_rl_params(TINY_RUN + flags("half"))
    assert params.exp_name.startswith("corridor-v1__half+")  # named after its preset (+ the budget flags)
    trainer = run(params, notes)
    assert trainer.finished and trainer.updates > 0
    assert isinstance(trainer.experiment.env, HalfActions) and trainer.experiment.env.steps == 120


def test_the_new_baseline_is_a_choice_and_a_grid_method(half, tmp_path):
    assert "half" in ACTION_PRIORS
    with pytest.raises(UserError, match="is not one of .*, half"):
        load_rl_params(["--env", "corridor-v1", "--action_prior", "halve"])
    spec = tmp_path / "grid.yaml"
    spec.write_text("name: g\ntasks: [corridor-v1]\nmethods: [half]\nseeds: [0]\n")
    (only,) = grid(load_spec(spec))
    assert only.name == "g__corridor-v1__half" and only.argv[only.argv.index("--action_prior") + 1] == "half"


def test_its_row_says_which_priors_and_data_it_needs(half, monkeypatch):
    params, _ = load_rl_params(["--env", "corridor-v1", *flags("half")])
    assert required_priors(params) == [] and not needs_dataset(params)
    flow_row = dataclasses.replace(half, flow=lambda params: ("action", params.prior_n_step), needs_dataset=True)
    monkeypatch.setitem(ACTION_PRIORS_TABLE, "half", flow_row)
    params, _ = load_rl_params(["--env", "corridor-v1", *flags("half"), "--prior_n_step", "2"])
    assert required_priors(params) == [("flow", "action", 2, 1.0, False)] and needs_dataset(params)
    with pytest.raises(UserError, match="acts through a flow prior: drop --prior_model gaussian"):
        load_rl_params(["--env", "corridor-v1", *flags("half"), "--prior_model", "gaussian"])
