"""Every method of the paper (and the newer baselines) as a preset of RL parameters: the one table that the grid
launcher, the README's method table and the baseline tests read.

A preset is a dict of default_params.json overrides; `flags(name)` spells it as main.py flags. Adding a baseline
means its own module, its parameters in default_params.json, and one row here. A row's `command` is the module the
grid launcher runs for it: main.py's (sfp.commands.train) for every method of this project, Stable-Baselines3's SAC
for the peer reference `sb3_sac` (docs: the fair-evidence section of results/README.md).

The `*_auto` presets are the tuned-entropy protocol: the same method with automatic entropy tuning
(`autotune_alpha`), starting from the preset's own alpha, towards `target_entropy` auto (-|A|).
"""

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


def _word(value) -> str:
    return str(value) if not isinstance(value, bool) else ("True" if value else "False")


def flags(name: str) -> list[str]:
    """The preset `name` as main.py arguments, e.g. ['--use_prior', 'True', '--alpha', '0.01']."""
    return [word for key, value in METHODS[name].overrides.items() for word in (f"--{key}", _word(value))]
