"""All environments of the project, built by one `make_env` from the `env` parameter.

Families (every environment is a `gymnasium.Env`):
  point mazes   corridor-v1, room-v1, maze-v1                      pure numpy      (sfp.envs.maze)
  Meta-World    the 17 tasks of SAWYER_TASKS, `-v2` or `-v3`       metaworld 3     (sfp.envs.sawyer)
  locomotion    <body>[-sparse][-biased][-noisy], body in          gymnasium -v5   (sfp.envs.locomotion)
                swimmer, hopper, walker, ant, halfcheetah
  gym           any other Gymnasium id, `module:Id` to import the  gymnasium       (sfp.envs.gym_task)
                module that registers it (gymnasium_robotics:PointMaze_Medium-v3), with --env_kwargs
`import sfp` registers each with gymnasium as `sfp/<name>` (e.g. `gymnasium.make("sfp:sfp/corridor-v1")`).
Families import their simulator lazily, so a maze never imports MuJoCo.
"""

import difflib
import warnings

import gymnasium

from sfp.errors import UserError
from sfp.paths import LOCOMOTION_BODIES

MAZE_LAYOUTS = ("corridor-v1", "room-v1", "maze-v1")
SAWYER_TASKS = (
    "reach-v2",
    "push-v2",
    "pick-place-v2",
    "door-open-v2",
    "door-close-v2",
    "drawer-open-v2",
    "drawer-close-v2",
    "button-press-topdown-v2",
    "button-press-v2",
    "peg-insert-side-v2",
    "window-open-v2",
    "window-close-v2",
    "sweep-v2",
    "basketball-v2",
    "shelf-place-v2",
    "sweep-into-v2",
    "lever-pull-v2",
)
LOCOMOTION_VARIANTS = ("sparse", "biased", "noisy")


def sawyer_task(name: str) -> str | None:
    """The paper's `-v2` name of a Meta-World task given as `-v2` or `-v3`, else None."""
    if name.endswith("-v3"):
        name = name[:-3] + "-v2"
    return name if name in SAWYER_TASKS else None


def locomotion_body(name: str) -> str | None:
    """'hopper-sparse-biased' -> 'hopper'; None if `name` is not a locomotion task."""
    body, *variants = name.split("-")
    if body in LOCOMOTION_BODIES and all(v in LOCOMOTION_VARIANTS for v in variants):
        return body
    return None


def env_family(name: str) -> str:
    """'maze', 'sawyer', 'locomotion', or 'gym' for a registered Gymnasium id (`module:Id` imports the module
    first); a UserError listing the valid names otherwise."""
    if name in MAZE_LAYOUTS:
        return "maze"
    if sawyer_task(name):
        return "sawyer"
    if locomotion_body(name):
        return "locomotion"
    from sfp.envs.gym_task import gym_spec, split_id

    if split_id(name)[0] is None and split_id(name)[1] not in gymnasium.registry:
        close = difflib.get_close_matches(name, [*registered_names(), *gymnasium.registry], n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise UserError(
            f"unknown environment {name!r}: {guess}use a maze ({', '.join(MAZE_LAYOUTS)}), a Meta-World task "
            f"({', '.join(SAWYER_TASKS)}; -v3 also accepted), a locomotion task such as hopper-sparse "
            f"(bodies {', '.join(LOCOMOTION_BODIES)}; variants {', '.join(LOCOMOTION_VARIANTS)}) or a Gymnasium "
            f"id (module:Id imports its module first, e.g. gymnasium_robotics:PointMaze_Medium-v3)"
        )
    gym_spec(name)  # imports the module; one line when it cannot, or when it does not register the id
    return "gym"


def make_env(
    name: str,
    *,
    goal_cond: bool = True,
    visual: bool = False,
    neg_rew: bool = False,
    terminate_on_success: bool = False,
    fix_env_seed: bool = False,
    sparsity: float = 14.0,
    bias: float = 0.1,
    permute_action: bool = False,
    env_kwargs: dict | None = None,
    render_mode: str | None = None,
) -> gymnasium.Env:
    """Build the environment `name` with the options that apply to its family (`env_kwargs`: a Gymnasium id's)."""
    family = env_family(name)
    if family == "gym":
        from sfp.envs.gym_task import make_gym_task

        return make_gym_task(name, env_kwargs, render_mode)
    if family == "maze":
        from sfp.envs.maze import MazeEnv

        return MazeEnv(
            name,
            goal_cond=goal_cond,
            visual=visual,
            neg_rew=neg_rew,
            terminate_on_success=terminate_on_success,
            render_mode=render_mode,
        )
    if family == "sawyer":
        from sfp.envs.sawyer import SawyerEnv

        task = sawyer_task(name)
        assert task is not None  # env_family found it
        return SawyerEnv(
            task,
            goal_cond=goal_cond,
            visual=visual,
            neg_rew=neg_rew,
            terminate_on_success=terminate_on_success,
            fix_env_seed=fix_env_seed,
            render_mode=render_mode,
        )
    from sfp.envs.locomotion import LocomotionEnv

    return LocomotionEnv(name, sparsity=sparsity, bias=bias, permute_action=permute_action, render_mode=render_mode)


def make_env_from_params(params) -> gymnasium.Env:
    """`make_env` from the RL parameters (sfp.rl.params.RLParams)."""
    from sfp.envs.gym_task import parse_env_kwargs

    return make_env(
        params.env,
        goal_cond=params.goal_cond,
        visual=params.visual,
        neg_rew=params.neg_rew,
        terminate_on_success=params.terminate_on_success,
        fix_env_seed=params.fix_env_seed,
        sparsity=params.sparsity,
        bias=params.bias,
        permute_action=params.permute_action,
        env_kwargs=parse_env_kwargs(params.env_kwargs),
    )


EPISODE_STEPS = {"maze": 500, "sawyer": 500, "locomotion": 1000}


def episode_steps(name: str, env_kwargs: dict | None = None) -> int:
    """Steps of one episode of a task: its family's, or a Gymnasium id's time limit (a max_episode_steps of
    `env_kwargs` included)."""
    family = env_family(name)
    if family != "gym":
        return EPISODE_STEPS[family]
    from sfp.envs.gym_task import NO_LIMIT, gym_spec

    steps = (env_kwargs or {}).get("max_episode_steps", gym_spec(name).max_episode_steps)
    return int(steps) if steps else NO_LIMIT


def registered_names() -> tuple[str, ...]:
    """Every name `make_env` accepts, in one spelling each: the mazes, the Meta-World tasks as -v2 and -v3, and each
    locomotion body with every combination of its variants (in the order sparse, biased, noisy)."""
    combos: list[tuple[str, ...]] = [()]
    for variant in LOCOMOTION_VARIANTS:
        combos += [combo + (variant,) for combo in combos]
    locomotion = tuple("-".join((body, *combo)) for body in LOCOMOTION_BODIES for combo in combos)
    return MAZE_LAYOUTS + SAWYER_TASKS + tuple(name[:-3] + "-v3" for name in SAWYER_TASKS) + locomotion


def register_all() -> None:
    """Register `sfp/<name>` with gymnasium for every name of `registered_names` (idempotent; no simulator is
    imported until an environment is made). Meta-World's -v2 ids are the paper's tasks, not outdated ones, so
    gymnasium's advice to upgrade `sfp/<task>-v2` to the -v3 id registered beside it is silenced (for sfp/ only)."""
    warnings.filterwarnings("ignore", message=r".*The environment sfp/\S+ is out of date", category=DeprecationWarning)
    for name in registered_names():
        env_id = f"sfp/{name}"
        if env_id not in gymnasium.registry:
            gymnasium.register(
                env_id,
                entry_point="sfp.envs:make_env",
                kwargs={"name": name},
                max_episode_steps=EPISODE_STEPS[env_family(name)],
            )
