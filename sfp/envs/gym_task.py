"""Any Gymnasium environment as a task of this project: `--env <id>` or `--env <module>:<id>`.

`gymnasium.make(id, **env_kwargs)` builds it (the `module:` prefix imports the module first, which registers its
ids, e.g. `gymnasium_robotics:PointMaze_Medium-v3`). `GymTask` then gives it the interface the rest of the
project reads from the built-in tasks:

  short_name       the data name of its default prior data (KNOWN_DATA: PointMaze_* -> pointmaze, Fetch* -> fetch),
                   "" when it has none (then --prior_data names it)
  max_steps        the episode length of its time limit
  goal_cond        a goal task: a Dict observation of exactly observation, achieved_goal and desired_goal, and a
                   compute_reward(achieved_goal, desired_goal, info); HER relabels with that function (batched when
                   the environment takes arrays, row by row otherwise)
  compute_reward   (B,G), (B,G) -> (B,) float32
  reward_bounds    (reward of a failed step, reward of a successful step) of a goal task, probed from
                   compute_reward ((0, 1) for point mazes, (-1, 0) for Fetch); None for other tasks
  info["success"]  from the environment's info["success"] or info["is_success"]

Actions are rescaled to [-1, 1] when the environment's box differs (the squashed policy acts in [-1, 1]). Image
observations, Dict observations with other keys and non-box actions are refused with one line.
"""

import contextlib
import difflib
import importlib
import io
import json
from collections.abc import Callable

import gymnasium
import numpy as np

from sfp.errors import USER_CODE_FAULTS, UserError, describe_fault, one_line

KNOWN_DATA = (("PointMaze_", "pointmaze"), ("Fetch", "fetch"))  # id prefix -> data name of its built-in expert
GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")
SUCCESS_KEYS = ("success", "is_success")
NO_LIMIT = 1000  # the episode length of an environment without a time limit (main.py's --max_ep_len default)
ROBOTICS_INSTALL = 'pip install "sfp[robotics]" (or -r requirements-robotics.txt)'


def split_id(name: str) -> tuple[str | None, str]:
    """'module:Id' -> ('module', 'Id'); 'Id' -> (None, 'Id')."""
    module, sep, env_id = name.rpartition(":")
    return (module, env_id) if sep else (None, name)


def task_label(name: str) -> str:
    """A task as part of one file name: the id without its module, a namespace joined by '_' instead of '/'
    ('gymnasium_robotics:PointMaze_Medium-v3' -> 'PointMaze_Medium-v3', 'mine:lab/Arm-v0' -> 'lab_Arm-v0'); the
    project's own names stay as they are. Run names (main.py's default, the grid's) and exploration maps use it."""
    return split_id(name)[1].replace("/", "_")


def gym_spec(name: str) -> gymnasium.envs.registration.EnvSpec:
    """The registered spec of a Gymnasium id (importing the module of a 'module:Id' first), or one UserError line."""
    module, env_id = split_id(name)
    if module is not None:
        if not module or not all(part.isidentifier() for part in module.split(".")):
            raise UserError(f"--env {name}: {module!r} is not a module name; write --env <module>:<id>")
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # Gymnasium-Robotics prints notices about other envs
                importlib.import_module(module)
        except ImportError as err:
            hint = ROBOTICS_INSTALL if module.startswith("gymnasium_robotics") else f"install the package of {module}"
            raise UserError(f"--env {name}: cannot import the module {module!r} ({err}); {hint}") from None
        except USER_CODE_FAULTS as err:  # the user's module itself fails: say where, not a traceback of the import
            raise UserError(
                f"--env {name}: importing the module {module!r} failed ({describe_fault(err)}); fix the module"
            ) from None
        if module == "gymnasium_robotics":
            import gymnasium_robotics

            gymnasium.register_envs(gymnasium_robotics)
    try:
        return gymnasium.spec(env_id)
    except gymnasium.error.Error:
        close = difflib.get_close_matches(env_id, list(gymnasium.registry), n=1)
        otherwise = f"{module} registers no such id" if module else "prefix its module: --env <module>:<id>"
        hint = f"did you mean {close[0]!r}?" if close else otherwise
        raise UserError(
            f"unknown environment {name!r}: not a task of this project nor a Gymnasium id; {hint}"
        ) from None


def parse_env_kwargs(text: str) -> dict:
    """--env_kwargs: a JSON object of keyword arguments for gymnasium.make ('' or '{}': none)."""
    if not text.strip():
        return {}
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(
            f"--env_kwargs {text!r} is not JSON ({err}); write e.g. '{{\"continuing_task\": false}}'"
        ) from None
    if not isinstance(kwargs, dict):
        raise UserError(f"--env_kwargs {text!r} must be a JSON object, e.g. '{{\"continuing_task\": false}}'")
    if "render_mode" in kwargs:
        raise UserError(
            f"--env_kwargs {text!r}: render_mode is the project's to set (training never renders; --video_freq and "
            "evaluate.py --video record videos): remove it"
        )
    return kwargs


def known_data_name(env_id: str) -> str:
    """The data name of the built-in expert data of an id ('' when there is none)."""
    return next((data for prefix, data in KNOWN_DATA if env_id.startswith(prefix)), "")


def make_gym_task(name: str, env_kwargs: dict | None = None, render_mode: str | None = None) -> "GymTask":
    spec = gym_spec(name)
    kwargs = dict(env_kwargs or {})
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    try:
        env = gymnasium.make(spec.id, **kwargs)
    except TypeError as err:
        raise UserError(f"--env_kwargs {json.dumps(env_kwargs)} does not suit {spec.id}: {one_line(err)}") from None
    except gymnasium.error.DependencyNotInstalled as err:
        raise UserError(f"{spec.id} needs a package that is not installed: {one_line(err)}") from None
    except USER_CODE_FAULTS as err:  # the environment's own constructor fails (a bad env_kwargs value, a missing asset)
        given = f" with --env_kwargs {json.dumps(env_kwargs)}" if env_kwargs else ""
        raise UserError(f"gymnasium.make({spec.id!r}){given} failed: {describe_fault(err)}") from None
    return GymTask(env, spec.id)


class GymTask(gymnasium.Wrapper):
    """A Gymnasium environment with the task interface of sfp.envs (module docstring). Observations stay as the
    environment gives them (a goal task's Dict, or a flat vector), actions (A,) in [-1, 1]."""

    visual = False

    def __init__(self, env: gymnasium.Env, env_id: str):
        check_supported(env, env_id)
        box = env.action_space
        assert isinstance(box, gymnasium.spaces.Box)
        if not (np.all(box.low == -1.0) and np.all(box.high == 1.0)):
            env = gymnasium.wrappers.RescaleAction(env, np.float32(-1.0), np.float32(1.0))
        super().__init__(env)
        self.env_id = env_id
        self.short_name = known_data_name(env_id)
        self.max_steps = int(env.spec.max_episode_steps) if env.spec and env.spec.max_episode_steps else NO_LIMIT
        self.goal_cond = is_goal_task(env)
        self._reward: Callable | None = getattr(env.unwrapped, "compute_reward", None) if self.goal_cond else None
        self._batched = False
        self.reward_bounds = self._probe_rewards(self._reward) if self._reward is not None else None

    def step(self, action):
        try:
            obs, reward, terminated, truncated, info = self.env.step(action)
            float(reward)  # a number (checked, not converted: the value goes on as the environment gave it)
        except USER_CODE_FAULTS as err:  # the environment's own code, or a step that is not Gymnasium's 5-tuple
            raise self.fault("step", err) from None
        return obs, reward, terminated, truncated, with_success(info)

    def reset(self, *, seed=None, options=None):
        try:
            obs, info = self.env.reset(seed=seed, options=options)
            check_observation_shapes(obs, self.observation_space)
        except USER_CODE_FAULTS as err:
            raise self.fault("reset", err) from None
        return obs, with_success(info)

    def fault(self, call: str, err: BaseException) -> UserError:
        """One line for a failure inside the environment's own code (a user's task: not this project's bug)."""
        return UserError(f"{self.env_id}: its {call}() failed: {describe_fault(err)[:300]}")

    def compute_reward(self, achieved_goal: np.ndarray, desired_goal: np.ndarray, info=None) -> np.ndarray:
        """(B,G), (B,G) -> (B,) float32 rewards of the environment's own compute_reward (`info`: accepted for
        Stable-Baselines3's HER, unused, as by this project's tasks)."""
        assert self._reward is not None, f"{self.env_id} is not a goal task"
        if self._batched:
            return np.asarray(self._reward(achieved_goal, desired_goal, None), np.float32).reshape(-1)
        return np.array([self._reward(a, d, None) for a, d in zip(achieved_goal, desired_goal)], np.float32)

    def _probe_rewards(self, reward: Callable) -> tuple[float, float]:
        """Whether compute_reward takes batches (it must agree with row-by-row calls) and the rewards of a failed
        and of a successful step (a goal met exactly vs a goal far away)."""
        try:
            obs, _ = self.env.reset(seed=0)
            achieved = np.asarray(obs["achieved_goal"], np.float32)
            goals = np.stack([achieved, achieved + 1e3])  # met exactly, far away
            rows = np.array([float(reward(achieved, goal, None)) for goal in goals])
        except USER_CODE_FAULTS as err:  # the environment's own code fails before anything runs
            raise UserError(
                f"{self.env_id}: its reset or compute_reward failed on a first check: {describe_fault(err)}"
            ) from None
        try:
            batch = np.asarray(reward(np.stack([achieved, achieved]), goals, None), np.float64)
            self._batched = batch.shape == (2,) and np.allclose(batch, rows)
        except USER_CODE_FAULTS:  # an environment that only takes single rows: it is called row by row
            self._batched = False
        success, failure = rows
        if not success > failure:
            raise UserError(
                f"{self.env_id}: its compute_reward gives {success} for a met goal and {failure} for a missed one; "
                "a sparse goal task rewards success more"
            )
        return float(failure), float(success)


def is_goal_task(env: gymnasium.Env) -> bool:
    space = env.observation_space
    return (
        isinstance(space, gymnasium.spaces.Dict)
        and set(space.spaces) == set(GOAL_KEYS)
        and callable(getattr(env.unwrapped, "compute_reward", None))
    )


def check_supported(env: gymnasium.Env, env_id: str) -> None:
    """One line for what this project cannot train on: non-box actions, image or nested observations."""
    box = env.action_space
    if not isinstance(box, gymnasium.spaces.Box) or len(box.shape) != 1 or box.shape[0] == 0:
        raise UserError(f"{env_id} has {box} actions; SFP and SAC need a flat Box of continuous actions")
    if not (np.all(np.isfinite(box.low)) and np.all(np.isfinite(box.high)) and np.all(box.low < box.high)):
        raise UserError(
            f"{env_id} has actions in [{box.low}, {box.high}]; SFP and SAC need finite bounds with low < high on "
            "every axis (they act in [-1, 1] and rescale to them)"
        )
    space = env.observation_space
    if isinstance(space, gymnasium.spaces.Dict):
        if set(space.spaces) != set(GOAL_KEYS):
            raise UserError(
                f"{env_id} observes a Dict of {', '.join(space.spaces)}; supported are flat Box observations and "
                f"goal Dicts of exactly {', '.join(GOAL_KEYS)}"
            )
        parts = [(f" {key!r}", part) for key, part in space.spaces.items()]
    else:
        parts = [("", space)]
    for key, part in parts:
        if isinstance(part, gymnasium.spaces.Dict):
            raise UserError(
                f"{env_id} observes{key} as a nested Dict of {', '.join(part.spaces)}; supported are flat Box "
                "observations and goals (use a version of the task with vector goals)"
            )
        if not isinstance(part, gymnasium.spaces.Box) or len(part.shape) != 1 or part.shape[0] == 0:
            raise UserError(
                f"{env_id} observes{key} as {part}; image and other non-vector observations are not supported (use "
                "a state-observation version of the task)"
            )


def check_observation_shapes(obs, space: gymnasium.spaces.Space) -> None:
    """A ValueError when an observation does not have the shapes its (supported) space declares."""
    parts = space.spaces if isinstance(space, gymnasium.spaces.Dict) else {"": space}
    for key, part in parts.items():
        value = (obs.get(key) if isinstance(obs, dict) else None) if key else obs
        shape = np.shape(value) if value is not None else None
        if shape != part.shape:
            where = f"{key!r} " if key else ""
            raise ValueError(f"the observation {where}has shape {shape}, its observation space declares {part.shape}")


def with_success(info: dict) -> dict:
    """info with "success" (bool) from the environment's success or is_success entry (False when it has none)."""
    value = next((info[key] for key in SUCCESS_KEYS if key in info), False)
    return {**info, "success": bool(value)}
