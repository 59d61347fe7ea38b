"""Any Gymnasium id as a task (sfp.envs.gym_task): Gymnasium-Robotics' point maze and Fetch arm run SFP and SAC
from their ids, HER relabels with the environment's own compute_reward, a Box-observation task runs SAC, and what
cannot work stops with one line."""

import json
import os
import shutil
import signal
import sys

import gymnasium
import numpy as np
import pytest

from sfp import paths
from sfp.commands import train, train_sb3
from sfp.commands.plot_exploration import main as plot_exploration
from sfp.data.synthetic import write_persistent_dataset
from sfp.envs import env_family, make_env
from sfp.envs.gym_task import GymTask, check_supported
from sfp.errors import UserError
from sfp.priors.params import parse_train_params
from sfp.priors.training import train_prior
from sfp.rl import trainer as trainer_module
from sfp.rl.build import build_experiment, flat_observation
from sfp.rl.params import load_rl_params
from sfp.rl.replay import ReplayEpisode
from sfp.rl.run import run
from tests.test_hostile_inputs import _check_line
from tests.tiny_runs import tiny_prior, tiny_run

pytest.importorskip("gymnasium_robotics")

MAZE = "gymnasium_robotics:PointMaze_Open-v3"
FETCH = "gymnasium_robotics:FetchReach-v4"
ONE_GOAL = ["--env_kwargs", json.dumps({"continuing_task": False})]
TINY = tiny_run(env=None)


@pytest.fixture(scope="module")
def prior_root(tmp_path_factory):
    """Tiny action priors on synthetic data named as the built-in experts' (pointmaze: 2 actions, fetch: 4)."""
    root = tmp_path_factory.mktemp("gym_priors")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("D4RL_DATASET_DIR", str(root / "datasets"))
        patch.setenv("SFP_FLOW_DIR", str(root / "flows"))
        patch.setenv("SFP_LOG_DIR", str(root / "logs"))
        paths.dataset_dir(create=True)
        for name, width in (("pointmaze", 2), ("fetch", 4)):
            write_persistent_dataset(paths.dataset_file(name), 8, 60, action_dim=width)
            train_prior(parse_train_params(tiny_prior(name, num_threads=None)))
    return root


@pytest.fixture
def priors(prior_root, tmp_path, monkeypatch):
    """The module's data and priors; this test's own log directory (returned)."""
    monkeypatch.setenv("D4RL_DATASET_DIR", str(prior_root / "datasets"))
    monkeypatch.setenv("SFP_FLOW_DIR", str(prior_root / "flows"))
    monkeypatch.setenv("SFP_LOG_DIR", str(tmp_path / "logs"))
    return tmp_path


def _progress(run: str, root) -> list[dict]:
    lines = (root / "logs" / f"{run}_s0" / "progress.txt").read_text().splitlines()
    return [dict(zip(lines[0].split("\t"), map(float, line.split("\t")))) for line in lines[1:]]


@pytest.mark.parametrize("env,extra", [(MAZE, ONE_GOAL), (FETCH, [])])
@pytest.mark.parametrize("method", [[], ["--use_prior", "True", "--alpha", "0.01"]], ids=["sac", "sfp"])
def test_a_robotics_task_runs_an_epoch_from_its_id(priors, env, extra, method, capsys):
    train.main(["--env", env, *extra, *TINY, *method, "--exp_name", "run"])
    (row,) = _progress("run", priors)
    assert row["TotalEnvInteracts"] == 120 and 0.0 <= row["AverageTestSuccessRate"] <= 1.0
    config = json.loads((priors / "logs" / "run_s0" / "config.json").read_text())
    assert config["env"] == env and config["her"] and config["clip_rew"]
    visits = priors / "logs" / "run_s0" / "visitation.npz"
    assert visits.exists() == (env == MAZE)  # the exploration maps of a point maze
    if env == MAZE:
        counts = np.load(visits)
        assert counts["counts"].sum() == 120 and counts["cells"].sum() == 15  # PointMaze_Open: 3 x 5 free cells
        assert not counts["counts"][0][~counts["cells"]].any()  # the point never leaves the free cells
        plot_exploration([str(priors / "logs" / "run_s0"), "--out", f"{priors / 'maps'}/"])
        method_name = "sfp" if method else "sac"
        assert sorted(path.name for path in (priors / "maps").iterdir()) == [  # file names without the module's ':'
            "results_coverage.md",
            "results_coverage.png",
            f"results_visits_PointMaze_Open-v3_{method_name}.png",
        ]
        twin = priors / "logs" / "twin_s0"  # the same id, named without its module: the maps would share a file
        shutil.copytree(priors / "logs" / "run_s0", twin)
        (twin / "config.json").write_text(json.dumps({**config, "env": "PointMaze_Open-v3"}))
        capsys.readouterr()
        with pytest.raises(SystemExit):
            plot_exploration([str(priors / "logs" / "run_s0"), str(twin), "--out", f"{priors / 'twins'}/"])
        _check_line(capsys.readouterr().err, f"runs of {MAZE} and PointMaze_Open-v3 would share a map's file name")
        assert not (priors / "twins").exists()


@pytest.mark.parametrize("env,extra", [(MAZE, ONE_GOAL), (FETCH, [])])
def test_a_robotics_run_stopped_mid_episode_resumes_exactly(priors, env, extra, monkeypatch):
    """Gymnasium-Robotics keeps its random generators on its own classes (the maze's point body, the arm's env): the
    checkpoint must capture them, or the replayed episode differs and the run cannot be resumed."""
    argv = ["--env", env, *extra, *tiny_run(env=None, epochs=2), "--use_prior", "True", "--alpha", "0.01"]
    run(*load_rl_params([*argv, "--exp_name", "whole"]))
    original_step = trainer_module.Trainer._step

    def step_then_interrupt(self):
        original_step(self)
        if self.t == 150:  # mid-episode (episodes of 60 steps), in the second epoch, after updates began
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(trainer_module.Trainer, "_step", step_then_interrupt)
    assert run(*load_rl_params([*argv, "--exp_name", "split"])).t == 150
    monkeypatch.setattr(trainer_module.Trainer, "_step", original_step)
    run(*load_rl_params([*argv, "--exp_name", "split", "--resume", "True"]))
    whole, split = _progress("whole", priors), _progress("split", priors)
    for row in whole + split:
        for column in ("Time", "SPS", "UpdatesPerSec"):
            row.pop(column, None)
    assert len(whole) == 2
    np.testing.assert_equal(whole, split)  # NaN (no test episode ended yet) equals NaN


def test_a_robotics_run_is_named_by_its_id_and_options():
    params, _ = load_rl_params(["--env", MAZE, *ONE_GOAL, "--use_prior", "True", "--alpha", "0.01"])
    assert params.exp_name == "PointMaze_Open-v3__sfp+env_kwargscontinuing_taskfalse"


@pytest.mark.parametrize("env,extra,bounds", [(MAZE, ONE_GOAL, (0.0, 1.0)), (FETCH, [], (-1.0, 0.0))])
def test_her_rewards_are_the_environments_compute_reward(priors, env, extra, bounds):
    """Rows relabelled with a future goal (4 in 5) or keeping their own, one-step returns: the batch's reward is the
    environment's compute_reward of the next achieved goal (the first entries of the observation in both tasks)
    and the goal the row carries; rewards stay in the task's own range."""
    params, _ = load_rl_params(["--env", env, *extra, *TINY, "--n_step_rew", "1", "--replay_k", "4"])
    experiment = build_experiment(params)
    env_ = experiment.env
    assert env_.get_wrapper_attr("reward_bounds") == bounds and experiment.buffer.reward_range == bounds
    observations, rewards = [], []
    obs, _ = env_.reset(seed=3)
    observations.append(obs)
    rng = np.random.default_rng(0)
    for _ in range(40):
        obs, reward, *_ = env_.step(rng.uniform(-1, 1, env_.action_space.shape).astype(np.float32))
        observations.append(obs)
        rewards.append(reward)
    stack = {key: np.stack([o[key] for o in observations]) for key in observations[0]}
    experiment.buffer.store_episode(
        ReplayEpisode(
            observation=stack["observation"],
            act=np.zeros((40, env_.action_space.shape[0]), np.float32),
            rew=np.asarray(rewards, np.float32),
            terminal=np.zeros(40, bool),
            window=np.zeros((41, experiment.buffer.window_dim), np.float32),
            achieved_goal=stack["achieved_goal"],
            desired_goal=stack["desired_goal"],
        )
    )
    batch, _ = experiment.buffer.sample(256)
    goal_dim = stack["desired_goal"].shape[1]
    next_obs, goal = batch.obs2[:, :-goal_dim].numpy(), batch.obs2[:, -goal_dim:].numpy()
    achieved = next_obs[:, :goal_dim]
    expected = env_.unwrapped.compute_reward(achieved, goal, None)
    np.testing.assert_allclose(batch.rew.numpy(), expected, atol=1e-6)
    assert set(np.unique(expected)) == set(bounds)  # relabelled rows meet their goal, others do not
    assert flat_observation(observations[0]).shape == (experiment.buffer.obs_shape[0] + goal_dim,)


def test_a_task_without_goals_runs_sac_without_her(priors, capsys):
    params, notes = load_rl_params(["--env", "Pendulum-v1", *TINY])
    assert not (params.goal_cond or params.her or params.clip_rew)
    assert any("has no goals" in note for note in notes) and any("clip_rew set to False" in note for note in notes)
    train.main(["--env", "Pendulum-v1", *TINY, "--exp_name", "run"])
    (row,) = _progress("run", priors)
    assert row["AverageTestEpRet"] < 0  # Pendulum's own dense, negative rewards, unclipped
    assert make_env("Pendulum-v1").action_space.high.tolist() == [1.0]  # rescaled from [-2, 2]


@pytest.mark.parametrize(
    "argv,fragment",
    [
        (["--env", "NoSuchTask-v0"], "unknown environment 'NoSuchTask-v0'"),
        (["--env", "no_such_module:Foo-v0"], "cannot import the module 'no_such_module'"),
        (["--env", "gymnasium_robotics:NoSuchMaze-v3"], "unknown environment 'gymnasium_robotics:NoSuchMaze-v3'"),
        (["--env", "CartPole-v1"], "SFP and SAC need a flat Box of continuous actions"),
        (["--env", MAZE, "--env_kwargs", "{continuing"], "--env_kwargs '{continuing' is not JSON"),
        (["--env", MAZE, "--env_kwargs", "[1]"], "must be a JSON object"),
        (["--env", MAZE, "--env_kwargs", '{"no_such_option": 1}'], "does not suit PointMaze_Open-v3"),
        (["--env", "room-v1", "--env_kwargs", '{"a": 1}'], "drop it for room-v1"),
        (["--env", FETCH, "--neg_rew", "True"], "keeps its own rewards"),
        (["--env", "Pendulum-v1", "--use_prior", "True"], "has no built-in prior data: name a dataset"),
        (["--env", FETCH, "--use_prior", "True", "--prior_data", "pointmaze"], "2-dim"),
        (["--env", FETCH, "--use_prior", "True", "--prior_data", "../x"], "--prior_data '../x' is not a name"),
        (
            ["--env", FETCH, "--use_prior", "True", "--prior_data", "nosuch"],
            "nor data to train one on: no dataset 'nosuch' in",
        ),
        (
            ["--env", FETCH, "--bc_epochs", "1", "--prior_data", "nosuch"],
            "(it holds fetch, pointmaze); make it with: python scripts/collect_dataset.py --env <Gymnasium id> "
            "--expert <module:callable> --name nosuch, or python scripts/import_minari.py --short nosuch",
        ),
        (["--env", FETCH, "--bc_epochs", "1", "--prior_data", "My-Data"], "--name <data name> ('My-Data' cannot name"),
        (
            ["--env", FETCH, "--bc_epochs", "1", "--prior_data", "pointmaze"],
            "holds 2-dim actions but gymnasium_robotics:FetchReach-v4 takes 4-dim ones; pass --prior_data fetch (",
        ),
        (
            ["--env", "Pendulum-v1", "--bc_epochs", "1", "--prior_data", "fetch"],
            "holds no data of 1-dim actions: collect data with python scripts/collect_dataset.py --env Pendulum-v1 ",
        ),
        (["--env", "Pendulum-v1", "--video_freq", "1"], "has no MuJoCo renderer to record videos with"),
        (["--env", ":Foo-v0"], "'' is not a module name"),
        (["--env", "a..b:Foo-v0"], "'a..b' is not a module name"),
        (["--env", "broken_module:Foo-v0"], "importing the module 'broken_module' failed (RuntimeError: half-written"),
        (["--env", "exiting_module:Foo-v0"], "importing the module 'exiting_module' failed (it called sys.exit(3))"),
        (["--env", MAZE, "--env_kwargs", '{"maze_map": 3}'], "does not suit PointMaze_Open-v3"),
        (["--env", MAZE, "--env_kwargs", '{"maze_map": [[1, 1], [1]]}'], "gymnasium.make('PointMaze_Open-v3') with"),
        (["--env", "CarRacing-v3"], "CarRacing-v3 needs a package that is not installed: Box2D"),
        (["--env", "gymnasium_robotics:FrankaKitchen-v1"], "observes 'achieved_goal' as a nested Dict"),
        (["--env", MAZE, "--env_kwargs", '{"render_mode": "human"}'], "render_mode is the project's to set"),
    ],
)
def test_what_cannot_work_stops_with_one_line(priors, argv, fragment, capsys):
    with pytest.raises(SystemExit) as stop:
        train.main([*argv, *TINY])
    assert stop.value.code == 2
    _check_line(capsys.readouterr().err, fragment)
    assert not list((priors / "logs").glob("*_s0/progress.txt"))


def test_the_project_tasks_keep_their_families():
    assert [env_family(name) for name in ("room-v1", "window-close-v2", "hopper-sparse")] == [
        "maze",
        "sawyer",
        "locomotion",
    ]
    assert env_family(MAZE) == "gym" and env_family("Pendulum-v1") == "gym"


@pytest.mark.parametrize("env,extra", [(MAZE, ONE_GOAL), (FETCH, [])])
def test_the_peer_reference_runs_on_a_robotics_task(priors, env, extra):
    """sb3_sac (Stable-Baselines3 SAC + HER) relabels with the same compute_reward and logs like our runs."""
    pytest.importorskip("stable_baselines3")
    argv = ["--env", env, *extra, "--epochs", "1", "--steps_per_epoch", "400", "--start_steps", "300"]
    train_sb3.main([*argv, "--num_test_episodes", "1", "--num_threads", "1", "--exp_name", "peer"])
    (row,) = _progress("peer", priors)
    assert row["TotalEnvInteracts"] == 400 and 0.0 <= row["AverageTestSuccessRate"] <= 1.0


def test_a_grid_of_robotics_tasks_makes_the_built_in_data_and_prior_first(tmp_path, monkeypatch):
    from sfp.experiments import grid

    monkeypatch.setenv("D4RL_DATASET_DIR", str(tmp_path / "datasets"))
    monkeypatch.setenv("SFP_FLOW_DIR", str(tmp_path / "flows"))
    spec = {"name": "g", "tasks": [MAZE, FETCH], "methods": ["sfp", "sac_auto"], "seeds": [0]}
    grid.validate_spec(spec, "spec")
    runs = grid.grid(spec)
    assert [run.name for run in runs][:2] == ["g__PointMaze_Open-v3__sfp", "g__PointMaze_Open-v3__sac_auto"]
    commands = [" ".join(prep.command) for prep in grid.preparation_commands(spec, runs)]
    making = ["sfp.commands.collect", "sfp.commands.distill", "sfp.commands.train_prior"]
    assert [command.split()[1] for command in commands] == making * 2
    assert f"--env {MAZE} --expert pointmaze" in commands[0] and "--env pointmaze" in commands[2]
    assert f"--env {FETCH} --expert fetch" in commands[3] and "--env fetch" in commands[5]
    with pytest.raises(UserError, match="no built-in data: name a dataset with prior_data"):
        spec = {"name": "g", "tasks": ["Pendulum-v1"], "methods": ["sfp"], "seeds": [0]}
        grid.preparation_commands(spec, grid.grid(spec))


def test_a_namespaced_task_of_a_users_module_runs_from_a_grid(priors, tmp_path, monkeypatch):
    """'module:namespace/Id' in a spec: the module registers the id, the run is named with '_' for '/' (one
    directory, not a nested one) and runs an epoch from the grid's arguments; two tasks that would share run names
    are refused with one line."""
    from sfp.experiments import grid

    (tmp_path / "labenvs.py").write_text(
        "import gymnasium\n"
        "gymnasium.register('lab/Swing-v0', 'gymnasium.envs.classic_control.pendulum:PendulumEnv', "
        "max_episode_steps=30)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = {"name": "g", "tasks": ["labenvs:lab/Swing-v0"], "methods": ["sac"], "seeds": [0]}
    grid.validate_spec(spec, "spec")
    (only,) = grid.grid(spec)
    assert only.name == "g__lab_Swing-v0__sac"
    train.main([*only.argv, *TINY])
    assert [path.name for path in (priors / "logs").iterdir()] == ["g__lab_Swing-v0__sac_s0"]
    (row,) = _progress("g__lab_Swing-v0__sac", priors)
    assert row["TotalEnvInteracts"] == 120 and row["TestEpLen"] == 30  # the id's own time limit
    twins = {"name": "g", "tasks": ["Pendulum-v1", "gymnasium:Pendulum-v1"], "methods": ["sac"], "seeds": [0]}
    with pytest.raises(UserError, match="'Pendulum-v1' and 'gymnasium:Pendulum-v1' would share their run names"):
        grid.validate_spec(twins, "spec")


def test_a_robotics_test_episode_is_recorded_as_a_video(priors):
    import imageio.v2 as imageio

    train.main(["--env", FETCH, *TINY, "--video_freq", "1", "--exp_name", "video"])
    frames = imageio.mimread(priors / "logs" / "video_s0" / "videos" / "epoch_1.mp4")
    assert len(frames) == 51 and frames[0].shape == (480 + 16, 480, 3)  # the reset and 50 steps, under the strip


class _Spaces(gymnasium.Env):
    """An environment that only has spaces (what check_supported reads)."""

    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space


BOX = gymnasium.spaces.Box(-1, 1, (3,))


@pytest.mark.parametrize(
    "observations,actions,fragment",
    [
        (gymnasium.spaces.Box(0, 255, (64, 64, 3), np.uint8), BOX, "image and other non-vector observations"),
        (gymnasium.spaces.Dict({"observation": BOX, "pixels": BOX}), BOX, "goal Dicts of exactly"),
        (
            gymnasium.spaces.Dict(
                {"observation": BOX, "achieved_goal": BOX, "desired_goal": gymnasium.spaces.Discrete(3)}
            ),
            BOX,
            "image and other non-vector observations",
        ),
        (BOX, gymnasium.spaces.MultiDiscrete([2, 2]), "flat Box of continuous actions"),
        (BOX, gymnasium.spaces.Box(-1, 1, (2, 2)), "flat Box of continuous actions"),
        (BOX, gymnasium.spaces.Box(-1, 1, (0,)), "flat Box of continuous actions"),
        (gymnasium.spaces.Box(-1, 1, (0,)), BOX, "non-vector observations"),
        (BOX, gymnasium.spaces.Box(-np.inf, np.inf, (2,)), "finite bounds with low < high"),
        (BOX, gymnasium.spaces.Box(np.float32([-1.0, 0.5]), np.float32([1.0, 0.5])), "finite bounds with low < high"),
    ],
)
def test_unsupported_spaces_are_one_line(observations, actions, fragment):
    with pytest.raises(UserError, match=fragment):
        check_supported(_Spaces(observations, actions), "toy-v0")
    check_supported(_Spaces(BOX, BOX), "toy-v0")  # a flat Box task is fine


class _RaisingReward(gymnasium.Env):
    """A goal task whose compute_reward fails: refused when the task is made, before any run starts."""

    observation_space = gymnasium.spaces.Dict({key: BOX for key in ("observation", "achieved_goal", "desired_goal")})
    action_space = BOX

    def reset(self, *, seed=None, options=None):
        return {key: np.zeros(3, np.float32) for key in ("observation", "achieved_goal", "desired_goal")}, {}

    def compute_reward(self, achieved_goal, desired_goal, info):
        raise ZeroDivisionError("the user's bug")


def test_a_goal_task_whose_reward_fails_is_one_line():
    with pytest.raises(UserError, match="reset or compute_reward failed on a first check: ZeroDivisionError"):
        GymTask(_RaisingReward(), "raising-v0")


class _Faulty(gymnasium.Env):
    """A user's Box task with one fault: its step raises (or calls sys.exit) after 30 steps, or its observations have
    another shape."""

    observation_space = gymnasium.spaces.Box(-1, 1, (3,), np.float32)
    action_space = gymnasium.spaces.Box(-1, 1, (2,), np.float32)

    def __init__(self, fault: str = "step"):
        self.fault, self.steps = fault, 0

    def reset(self, *, seed=None, options=None):
        return np.zeros(4 if self.fault == "shape" else 3, np.float32), {}

    def step(self, action):
        self.steps += 1
        if self.steps > 30:
            if self.fault == "exit":
                sys.exit(5)
            raise RuntimeError("sensor lost")
        return np.zeros(3, np.float32), 0.0, False, self.steps % 20 == 0, {}


gymnasium.register("FaultyTask-v0", entry_point=_Faulty, max_episode_steps=20)


@pytest.mark.parametrize(
    "fault,fragment",
    [
        ("step", "FaultyTask-v0: its step() failed: RuntimeError: sensor lost"),
        ("shape", "FaultyTask-v0: its reset() failed: ValueError: the observation has shape (4,)"),
        ("exit", "FaultyTask-v0: its step() failed: it called sys.exit(5)"),
    ],
)
def test_a_fault_in_the_environments_own_code_is_one_line(priors, fault, fragment, capsys):
    with pytest.raises(SystemExit) as stop:
        train.main(["--env", "FaultyTask-v0", "--env_kwargs", json.dumps({"fault": fault}), *TINY])
    err = capsys.readouterr().err  # a fault during the run follows its progress bar
    assert stop.value.code == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("error: ") and fragment in err.splitlines()[-1]
