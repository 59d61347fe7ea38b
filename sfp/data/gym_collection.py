"""Task-agnostic collections in any Gymnasium environment, with a built-in expert or a scripted one of your own.

    sfp-collect --env <Gymnasium id> --expert <pointmaze | fetch | module:callable> [--name <data name>]
        [--env_kwargs JSON] [--traj_len <episode length>] [--num_trajs 4000] [--workers 1] [--seed 0]

The expert, `module:callable` (the module is imported from the current directory or the installed packages; the
callable may be a dotted attribute of it), is either
  a function   expert(observation, rng) -> action, the same function for every trajectory (keep no state in it), or
  a class      instantiated with no arguments at the start of every trajectory; its instances are such functions,
               so they may keep state (their current target, a step counter, ...).
observation is what the environment gives (for a goal task the dict of observation, achieved_goal, desired_goal),
rng the trajectory's numpy Generator: draw every random number from it, so that trajectory i depends only on (seed,
i) and a resumed or parallel collection makes the same pieces. action: A finite floats in [-1, 1] (the environment's
action box, rescaled to [-1, 1] by sfp.envs.gym_task when it differs); anything else stops the collection with one
line naming the expert (its first step is tried before any work). Optional attributes of the expert:
  target   after a call, the point it heads for: stored as the row's goal (rows of a trajectory share its width).
           Without one, the goal is the next achieved_goal (goal tasks) or the next observation, as for D4RL data.
  version  an integer recorded with the pieces (default 1): bump it when the expert's behaviour changes, so that a
           folder of the old behaviour is never resumed with the new one.
The built-in experts (sfp.data.gym_experts) follow the class rule.

A piece holds T = --traj_len rows: observations = obs["observation"] (goal tasks) or obs, actions as executed
(float32), goals as above, rewards zeros (the data is task-agnostic), no terminals, a timeout on the last row. The
environment must run T steps without ending its episode: --traj_len defaults to its episode length (at most 500,
the collector's cap); ask for longer episodes with --env_kwargs '{"max_episode_steps": N}'. Frames (--images) are
stored for the built-in suites only.

The data name (<name>_primitive/ pieces, <name>_primitive.hdf5, priors) is --name, by default the built-in expert's
(pointmaze, fetch) or the callable's name in lower case with words joined by '_' (Circler -> circler,
walkAround -> walk_around).
"""

import importlib
import inspect
import json
import os
import re
import shlex
import sys
import traceback

import numpy as np

from sfp import paths
from sfp.data.gym_experts import BUILTIN_GYM_EXPERTS
from sfp.errors import USER_CODE_FAULTS, UserError, describe_fault
from sfp.invocation import command

GYM_SUITE = "gym"  # the suite recorded in the pieces and the manifest of every Gymnasium collection
SPEC = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)$")


def bare_id(env: str) -> str:
    """'gymnasium_robotics:PointMaze_Open-v3' -> 'PointMaze_Open-v3' (the id without the module that registers it)."""
    return env.rpartition(":")[2]


def default_expert(env: str) -> str:
    """The built-in expert of an id (pointmaze for PointMaze_Open*, fetch for Fetch*), else a UserError."""
    for key, builtin in BUILTIN_GYM_EXPERTS.items():
        if bare_id(env).startswith(builtin.id_prefix):
            return key
    raise UserError(
        f"{env} has no built-in expert: name yours with --expert module:callable (docs/data.md, 'Your own "
        f"environment and expert'); built-in are {', '.join(BUILTIN_GYM_EXPERTS)}"
    )


def check_spec(spec: str) -> str:
    """`spec` if it names a built-in expert or a module:callable, else a UserError."""
    if spec in BUILTIN_GYM_EXPERTS or SPEC.match(spec):
        return spec
    raise UserError(
        f"--expert {spec!r} is neither a built-in expert of Gymnasium tasks ({', '.join(BUILTIN_GYM_EXPERTS)}) nor "
        "module:callable (e.g. my_experts:wander, a function or class in my_experts.py)"
    )


def default_data_name(spec: str) -> str:
    """The data name of an expert: a built-in expert's own, else its callable's name in lower-case words."""
    if spec in BUILTIN_GYM_EXPERTS:
        return spec
    attr = spec.rpartition(":")[2].rpartition(".")[2]
    words = re.findall(r"[a-z0-9]+", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", attr).lower())
    if not words:
        raise UserError(f"--expert {spec}: its name gives no data name; choose one with --name (e.g. --name my_data)")
    return "_".join(words)


def check_data_name(name: str, expert: str, given: bool = True) -> str:
    """`name` if a Gymnasium collection of `expert` may use it as its data name, else a UserError. Names that other
    data own are refused: the suites' (maze, sawyer), imported locomotion data's (hopper, ...) and a built-in
    expert's unless it is this collection's expert. given: the user passed --name (else it came from --expert)."""
    origin = f"--name {name!r}" if given else f"--expert {expert} gives the data name {name!r}, which"
    fix = "choose another" if given else "give the collection a name of its own with --name (e.g. --name my_data)"
    if not paths.IMPORTED_NAME.fullmatch(name):
        raise UserError(
            f"{origin} cannot name a dataset: use lower-case letters and digits, words joined by '_' (e.g. my_walker)"
        )
    owner = {  # every short name the project gives data (paths.SHORT_NAMES), but this collection's own expert's
        short: f"imported {short} data (scripts/import_d4rl.py)"
        if short in paths.LOCOMOTION_BODIES
        else f"the built-in expert {short}"
        for short in paths.SHORT_NAMES
        if short != expert
    }
    owner.update({short: f"the {suite} suite's expert" for suite, short in paths.SUITES.items()})
    if name in owner:
        raise UserError(f"{origin} is the data name of {owner[name]}; {fix}")
    return name


def import_callable(spec: str):
    """The object `module:attr` names (the current directory is searched too, as `python -c` would)."""
    module_name, _, attr = spec.partition(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise UserError(
            f"--expert {spec}: cannot import the module {module_name!r} ({err}); put {module_name.split('.')[0]}.py "
            "in the current directory or install its package"
        ) from None
    except USER_CODE_FAULTS as err:  # an error inside the user's module
        raise UserError(f"--expert {spec}: importing {module_name} failed ({describe_fault(err)})") from None
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            available = ", ".join(sorted(name for name in dir(module) if not name.startswith("_"))[:12])
            raise UserError(f"--expert {spec}: {module_name} has no attribute {attr!r} (it has {available or 'none'})")
        target = getattr(target, part)
    if not callable(target):
        raise UserError(
            f"--expert {spec}: {attr} = {target!r:.60} is not callable; give a function expert(observation, rng) -> "
            "action or a class of such callables"
        )
    return target


def expert_version(spec: str, expert) -> int:
    version = getattr(expert, "version", 1)
    if isinstance(version, bool) or not isinstance(version, int | np.integer) or version < 0:
        raise UserError(f"--expert {spec}: its version attribute {version!r} must be a non-negative integer")
    return int(version)


def gym_options(env: str, expert: str, name: str, env_kwargs: dict | None = None) -> str:
    """The command-line options of a Gymnasium collection (env_kwargs: the collect command's only)."""
    words = f"--env {env} --expert {expert}"
    if name != default_data_name(expert):
        words += f" --name {name}"
    if env_kwargs:
        words += f" --env_kwargs {shlex.quote(json.dumps(env_kwargs))}"
    return words


def gym_commands(name: str) -> str | None:
    """'sfp-collect ... && sfp-distill ...' that make the data name `name` from a Gymnasium collection: the one its
    folder records, else the built-in expert's of that name; None for other names."""
    from sfp.data.collector import read_manifest  # here: the collector imports this module

    manifest = read_manifest(paths.pieces_dir(name)) or {}
    if manifest.get("suite") == GYM_SUITE and {"env", "expert"} <= set(manifest):
        env, expert, kwargs = str(manifest["env"]), str(manifest["expert"]), manifest.get("env_kwargs") or {}
    elif name in BUILTIN_GYM_EXPERTS:
        env, expert, kwargs = BUILTIN_GYM_EXPERTS[name].default_env, name, {}
    else:
        return None
    return (
        f"{command('sfp-collect')} {gym_options(env, expert, name, kwargs)} && "
        f"{command('sfp-distill')} {gym_options(env, expert, name)}"
    )


class GymCollection:
    """The maker of a Gymnasium collection, with the interface of the suites' experts (sfp.data.experts): suite,
    name (the expert: a built-in key or module:callable), env_name, data_name, short, dims (None: read from the
    environment), make_env() and rollout(). Cheap to build (checks names only); the expert is imported and the
    environment made on first use, so worker processes rebuild it from the collection's settings."""

    suite = GYM_SUITE
    dims = None

    def __init__(self, env: str, expert: str | None = None, name: str | None = None, env_kwargs: dict | None = None):
        self.env_name = env
        self.env_kwargs = dict(env_kwargs or {})
        self.name = check_spec(expert) if expert else default_expert(env)
        self.data_name = check_data_name(name or default_data_name(self.name), self.name, given=bool(name))
        self.short = self.data_name
        self._expert = None

    @property
    def options(self) -> str:
        """The options that name this collection for both collect and distill (--env, --expert, --name)."""
        return gym_options(self.env_name, self.name, self.data_name)

    @property
    def collect_options(self) -> str:
        return gym_options(self.env_name, self.name, self.data_name, self.env_kwargs)

    def expert(self):
        """The function, or the class made once per trajectory, that --expert names (imported once)."""
        if self._expert is None:
            if self.name in BUILTIN_GYM_EXPERTS:
                builtin = BUILTIN_GYM_EXPERTS[self.name]
                if not bare_id(self.env_name).startswith(builtin.id_prefix):
                    raise UserError(
                        f"--expert {self.name} is made for {builtin.arena} ({builtin.id_prefix}* ids, e.g. "
                        f"{builtin.default_env}), not {self.env_name}; use --expert module:callable for your own"
                    )
                self._expert = builtin.expert
            else:
                self._expert = import_callable(self.name)
        return self._expert

    @property
    def version(self) -> int:
        return expert_version(self.name, self.expert())

    def make_env(self):
        from sfp.envs.gym_task import make_gym_task

        return make_gym_task(self.env_name, self.env_kwargs)

    def new_expert(self):
        """The callable of one trajectory: a new instance of a class, the function itself otherwise."""
        expert = self.expert()
        if not inspect.isclass(expert):
            return expert
        try:
            instance = expert()
        except USER_CODE_FAULTS as err:
            raise UserError(
                f"--expert {self.name}: a class expert is made with no arguments once per trajectory, and "
                f"{expert.__name__}() failed ({describe_fault(err)})"
            ) from None
        if not callable(instance):
            raise UserError(
                f"--expert {self.name}: instances of {expert.__name__} are not callable; give it a "
                "__call__(self, observation, rng) -> action"
            )
        return instance

    def act(self, expert, observation, rng: np.random.Generator, action_dim: int, where: str) -> np.ndarray:
        """The expert's action as float32 (A,), or a UserError naming the expert and `where`."""
        try:
            raw = expert(observation, rng)
        except UserError:
            raise
        except USER_CODE_FAULTS as err:  # a bug in the expert: one line, with where it happened
            frame = traceback.extract_tb(err.__traceback__)[-1]
            raise UserError(
                f"--expert {self.name} failed {where} ({frame.filename}, line {frame.lineno}): "
                f"{describe_fault(err)[:300]}"
            ) from None
        try:
            action = np.asarray(raw)
        except Exception:  # a ragged list, a tensor that requires grad, ...: not an array of numbers
            action = None
        if action is None or action.dtype.kind not in "iuf":
            raise UserError(
                f"--expert {self.name} returned {raw!r:.80} {where}; an expert must return real numbers: "
                f"{action_dim} floats in [-1, 1] (e.g. a numpy array of shape ({action_dim},))"
            )
        if action.shape != (action_dim,):
            raise UserError(
                f"--expert {self.name} returned shape {action.shape} {where}; {self.env_name} takes actions of shape "
                f"({action_dim},) in [-1, 1]"
            )
        if not np.all(np.isfinite(action)):
            raise UserError(f"--expert {self.name} returned a non-finite action {action.tolist()} {where}")
        if np.any(np.abs(action) > 1.0):
            raise UserError(
                f"--expert {self.name} returned {np.round(action, 4).tolist()} {where}, outside [-1, 1]; clip it "
                "(np.clip(action, -1, 1)): the stored action must be the one executed"
            )
        return action.astype(np.float32)

    def try_first_step(self, env, env_seed: int, rng: np.random.Generator) -> None:
        """Make the expert of trajectory 0 and check its first action (a UserError before any work)."""
        observation, _ = env.reset(seed=env_seed)
        expert = self.new_expert()
        self.check_signature(expert)
        self.act(expert, observation, rng, env.action_space.shape[0], "on its first step")

    def check_signature(self, expert) -> None:
        """A UserError naming the user's callable unless it can be called as expert(observation, rng)."""
        try:
            signature = inspect.signature(expert)
        except ValueError:  # no signature to read (a builtin): its first call tells
            return
        try:
            signature.bind(None, None)
        except TypeError as err:
            name = getattr(expert, "__qualname__", f"{type(expert).__qualname__}.__call__")  # a function, an instance
            raise UserError(
                f"--expert {self.name}: {name}{signature} cannot be called as expert(observation, rng) ({err}); "
                "the documented signature is expert(observation, rng) -> action, rng the trajectory's numpy "
                "Generator (docs/data.md, 'Your own environment and expert')"
            ) from None

    def rollout(self, env, rng: np.random.Generator, env_seed: int, traj_len: int, images: bool = False) -> dict:
        """One piece (module docstring): traj_len steps of a new expert from env.reset(seed=env_seed)."""
        from sfp.data.experts import empty_piece

        assert not images, "frames are stored for the built-in suites only"
        observation, _ = env.reset(seed=env_seed)
        expert = self.new_expert()
        action_dim = env.action_space.shape[0]
        states: list[np.ndarray] = []
        actions: list[np.ndarray] = []
        goals: list[np.ndarray] = []
        with_target: bool | None = None
        for k in range(traj_len):
            states.append(observation_vector(observation))
            actions.append(self.act(expert, observation, rng, action_dim, f"at step {k}"))
            target = getattr(expert, "target", None)
            if with_target is None:
                with_target = target is not None
            observation, _, terminated, truncated, _ = env.step(actions[-1])
            goals.append(self.goal(target, observation, with_target, goals[0] if goals else None, k))
            if (terminated or truncated) and k + 1 < traj_len:
                why = "it terminated" if terminated else "its time limit"
                raise UserError(
                    f"{self.env_name} ended its episode after {k + 1} steps ({why}), before the {traj_len} of "
                    f"--traj_len: collect shorter trajectories (--traj_len {k + 1}) or keep the episode running "
                    "with --env_kwargs"
                )
        piece = empty_piece(traj_len, len(states[0]), action_dim, len(goals[0]), False)
        piece["observations"][:] = states
        piece["actions"][:] = actions
        piece["goals"][:] = goals
        return piece

    def goal(self, target, observation, with_target: bool, first: np.ndarray | None, k: int) -> np.ndarray:
        """The goal of a row: the expert's target, else the next achieved goal or observation."""
        if with_target:
            if target is None:
                raise UserError(f"--expert {self.name}: its target is None at step {k} but was set before")
            try:
                goal = np.array(target, np.float32).reshape(-1)  # a copy: the expert may change it in place
            except (TypeError, ValueError):
                raise UserError(f"--expert {self.name}: its target {target!r:.80} is not a vector") from None
        else:
            goal = observation_vector(observation, key="achieved_goal")
        if first is not None and goal.shape != first.shape:
            raise UserError(
                f"--expert {self.name}: its target has {goal.size} entries at step {k} but {first.size} before"
            )
        return goal


def observation_vector(observation, key: str = "observation") -> np.ndarray:
    """A goal task's observation[key] (or a flat observation) as float32 (S,)."""
    value = observation[key] if isinstance(observation, dict) else observation
    return np.array(value, np.float32).reshape(-1)
