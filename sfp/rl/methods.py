"""Every method of the paper (and the newer baselines) as a preset of RL parameters: the one table that the grid
launcher, the README's method table and the baseline tests read.

A preset is a dict of default_params.json overrides; `as_flags` spells overrides as command-line flags (`flags(name)`
a preset's), for the tests and the grid launcher alike. Adding a baseline means one row here and the line of the
docs/rl.md method table (a test checks it), plus, for an action wrapper, its class in sfp/rl/wrappers/ and its row of
sfp/rl/action_priors.py (docs/development.md, "How to add a baseline"). A row's `command` is the module the grid
launcher runs for it: main.py's (sfp.commands.train) for every method of this project, Stable-Baselines3's SAC for
the peer reference `sb3_sac` (docs: the fair-evidence section of results/README.md).

The `*_auto` presets are the tuned-entropy protocol: the same method with automatic entropy tuning
(`autotune_alpha`), starting from the preset's own alpha, towards `target_entropy` auto (-|A|).
"""

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    label: str  # the name in the paper's figures and the README
    overrides: dict  # default_params.json keys -> values
    needs: str  # what must exist before it runs (README wording)
    command: str = "sfp.commands.train"  # the module the grid launcher runs (python -m <command> <flags>)


METHODS = {
    "sfp": Method("SFP", {"use_prior": True, "alpha": 0.01}, "action prior (`flows/train.py --env <suite>`)"),
    "sfp_fixed": Method(
        "SFP with the fixed maze expert's prior",
        {"use_prior": True, "alpha": 0.01, "expert": "fixed"},
        "action prior of `--expert fixed` data (point mazes)",
    ),
    "sac": Method("SAC", {}, "nothing"),
    "sac_bc": Method("SAC + BC", {"bc_epochs": 10}, "dataset; with or without `--goal_cond`"),
    "parrot_state": Method(
        "PARROT-state",
        {"action_prior": "parrot_state"},
        "`flows/train.py --mode state+goal` (`--mode state` when `--goal_cond False`)",
    ),
    "parrot_image": Method(
        "PARROT-image",
        {"action_prior": "parrot_image", "visual": True},
        "`flows/train.py --mode image` on data collected with `--images`",
    ),
    "parrot_action": Method("PARROT-action", {"action_prior": "parrot_action"}, "action prior, `n_step 1`"),
    "polyrl": Method("SAC-PolyRL", {"use_polyrl": True}, "nothing"),
    "sil": Method("SIL", {"sil": True}, "nothing"),
    "per": Method("PER", {"prioritize": True}, "nothing"),
    "kl_reg": Method(
        "KL-regularised prior", {"kl_reg": True, "prior_model": "gaussian"}, "`flows/train.py --model gaussian`"
    ),
    "ez_greedy": Method("temporally-extended ε-greedy", {"action_prior": "ez-greedy"}, "nothing"),
    "flow_latent": Method("flow latent actions", {"action_prior": "flow"}, "action prior"),
    "visual_sfp": Method("visual SFP", {"visual": True, "use_prior": True}, "action prior"),
    "pink": Method(
        "pink action noise (Eberhard et al. 2023; state-free, data-free)", {"action_noise": "pink"}, "nothing"
    ),
    "sac_auto": Method("SAC, autotuned alpha", {"autotune_alpha": True}, "nothing"),
    "pink_auto": Method(
        "pink action noise, autotuned alpha", {"action_noise": "pink", "autotune_alpha": True}, "nothing"
    ),
    "sfp_auto": Method(
        "SFP, autotuned alpha",
        {"use_prior": True, "alpha": 0.01, "autotune_alpha": True},
        "action prior (`flows/train.py --env <suite>`)",
    ),
    "sb3_sac": Method(
        "Stable-Baselines3 SAC + HER (peer reference, its own defaults)",
        {},
        "the extra `sfp[bench]`; goal-conditioned tasks",
        command="sfp.commands.train_sb3",
    ),
}


def as_flags(overrides: dict) -> list[str]:
    """Parameter overrides as command-line arguments: {'use_prior': True, 'alpha': 0.01} -> ['--use_prior', 'True',
    '--alpha', '0.01']; a mapping (a spec's env_kwargs: {continuing_task: false}) as its JSON text."""
    return [
        word
        for key, value in overrides.items()
        for word in (f"--{key}", json.dumps(value, default=str) if isinstance(value, dict) else str(value))
    ]


def flags(name: str) -> list[str]:
    """The preset `name` as main.py arguments."""
    return as_flags(METHODS[name].overrides)


PRESET_KEYS = frozenset(key for method in METHODS.values() for key in method.overrides)


def matching_preset(changed: dict, command: str = Method.command, ignored: tuple[str, ...] = ()) -> tuple[str, dict]:
    """The preset a run is: among the presets run by `command`, the one with the most overrides that the run's
    changed parameters ({flag: value}, those that differ from the defaults) all contain (sac, with none, when no
    other does); `ignored` flags count neither way. Returns (preset, the changed parameters it leaves over)."""
    changed = {key: value for key, value in changed.items() if key not in ignored}

    def overrides(name: str) -> dict:
        return {key: value for key, value in METHODS[name].overrides.items() if key not in ignored}

    contained = [
        name
        for name, method in METHODS.items()
        if method.command == command
        and all(changed.get(key, object()) == value for key, value in overrides(name).items())
    ]
    preset = max(contained, key=lambda name: len(overrides(name)))  # the first of equals, in table order
    return preset, {key: value for key, value in changed.items() if key not in overrides(preset)}
