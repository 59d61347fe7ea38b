"""The downstream-RL parameters (default_params.json): allowed values and the combinations that make sense.

`load_rl_params(argv)` parses the command line, checks every rule and combination, applies the settings an
environment family implies, and returns (params, notes): `notes` are the one-line explanations of what was adjusted
(printed and logged). Anything contradictory raises a UserError before any work starts.
"""
from pathlib import Path

from sfp.config import Rule, parse_params
from sfp.envs import env_family
from sfp.errors import UserError
from sfp.paths import EXPERTS
from sfp.priors.factory import MODELS
from sfp.rl.mixture import PRIOR_CONDITIONS

PARAMS_FILE = Path(__file__).resolve().parent / "default_params.json"
ACTION_PRIORS = ("none", "parrot_state", "parrot_image", "parrot_action", "ez-greedy", "nstep", "diagonal",
                 "densediagonal", "flow")
ACTION_NOISES = ("white", "pink")
TINY = 1e-12

RULES = {
    "epochs": Rule(min=1), "seed": Rule(min=0), "num_threads": Rule(min=1), "num_test_episodes": Rule(min=0),
    "save_freq": Rule(min=0), "video_freq": Rule(min=0), "steps_per_epoch": Rule(min=1), "start_steps": Rule(min=0),
    "update_after": Rule(min=0), "update_every": Rule(min=1), "max_ep_len": Rule(min=1),
    "batch_size": Rule(min=1), "replay_size": Rule(min=1), "gamma": Rule(min=0.0, max=1.0),
    "polyak": Rule(min=0.0, max=1.0), "alpha": Rule(min=0.0), "lr": Rule(min=TINY), "hid": Rule(min=1),
    "l": Rule(min=1), "action_prior": Rule(choices=ACTION_PRIORS), "replay_k": Rule(min=0),
    "prioritize_alpha": Rule(min=0.0), "prioritize_beta": Rule(min=0.0, max=1.0),
    "prioritize_epsilon": Rule(min=TINY), "sil_m": Rule(min=1), "sil_bs": Rule(min=1), "sil_weight": Rule(min=0.0),
    "sil_value_weight": Rule(min=0.0), "n_step_rew": Rule(min=1), "prior_model": Rule(choices=MODELS),
    "prior_cond": Rule(choices=PRIOR_CONDITIONS), "prior_n_step": Rule(min=1), "prior_schedule": Rule(min=0),
    "data_ratio": Rule(min=TINY, max=1.0), "bc_epochs": Rule(min=0), "lambda_init": Rule(min=1e-6, max=1 - 1e-6),
    "expert": Rule(choices=EXPERTS), "exp_name": Rule(name=True),
    "prior_clamp": Rule(min=0.0, max=0.99), "prior_smoothing": Rule(min=0.0, max=1.0), "epsilon": Rule(min=TINY),
    "sparsity": Rule(min=0.0), "action_noise": Rule(choices=ACTION_NOISES), "noise_beta": Rule(min=0.0, max=2.0),
}


def target_entropy_value(text: str, act_dim: int) -> float:
    """--target_entropy: "auto" is SAC's default -|A| (minus the number of action dimensions), else the number."""
    if str(text).strip().lower() == "auto":
        return -float(act_dim)
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"--target_entropy {text!r} must be 'auto' (-|A|) or a number, e.g. -2.0") from None
    if not value == value or abs(value) == float("inf"):
        raise UserError(f"--target_entropy {text!r} must be a finite number or 'auto'")
    return value


def resolve_family_settings(params) -> list[str]:
    """Settings an environment family implies (as the original did silently); returns what was changed."""
    notes = []
    family = env_family(params.env)
    if family == "locomotion" and (params.goal_cond or params.her):
        notes.append(f"{params.env} is not goal-conditioned: goal_cond and her set to False")
        params.goal_cond = params.her = False
    if params.visual and (params.goal_cond or params.her):
        notes.append("visual observations are images without goals: goal_cond and her set to False")
        params.goal_cond = params.her = False
    if params.her and not params.goal_cond:
        notes.append("--goal_cond False: observations without a goal leave HER nothing to relabel: her set to False")
        params.her = False
    return notes


def check_combinations(params) -> None:
    """Contradictory options: one clear line naming the fix."""
    for key in ("batch_size", "sil_bs"):
        if getattr(params, key) > params.replay_size:
            raise UserError(f"--{key} {getattr(params, key)} is larger than the replay buffer (--replay_size "
                            f"{params.replay_size}): lower it")
    if params.kl_reg and params.prior_model != "gaussian":
        raise UserError("--kl_reg True needs a Gaussian prior: add --prior_model gaussian")
    if params.kl_reg and params.use_prior:
        raise UserError("--kl_reg is a baseline of its own: use it with --use_prior False")
    if params.use_prior and params.action_prior != "none":
        raise UserError(f"--use_prior True mixes the prior into the policy; --action_prior {params.action_prior} "
                        "replaces the action space: choose one of them")
    target_entropy_value(params.target_entropy, 1)
    if params.target_entropy.strip().lower() != "auto" and not params.autotune_alpha:
        raise UserError("--target_entropy is the target of automatic entropy tuning: add --autotune_alpha True")
    if params.autotune_alpha and params.alpha <= 0:
        raise UserError("--autotune_alpha True starts from --alpha, which must be positive (e.g. 0.2)")
    if params.noise_beta != 1.0 and params.action_noise != "pink":
        raise UserError("--noise_beta sets the colour of colored action noise: add --action_noise pink")
    if params.expert != "original" and env_family(params.env) != "maze":
        raise UserError(f"--expert {params.expert} chooses the point mazes' data; drop it for {params.env}")
    if params.one_step and params.prior_n_step != 1:
        raise UserError("--one_step True is an unconditional prior: use it with --prior_n_step 1")
    if params.visual and params.prior_cond in ("state", "action+state", "state+goal") and params.use_prior:
        raise UserError(f"--prior_cond {params.prior_cond} needs vector states; visual runs use --prior_cond action")
    if params.gpu:
        import torch

        if not torch.cuda.is_available():
            raise UserError("--gpu True but CUDA is not available on this machine: use --gpu False")


def load_rl_params(argv: list[str] | None = None, params_file: Path = PARAMS_FILE):
    """Parse and check the RL parameters against `params_file`. Returns (params namespace, notes)."""
    params = parse_params(params_file, argv, RULES, description="SAC (+HER) with a state-free prior, and baselines")
    notes = resolve_family_settings(params)
    check_combinations(params)
    return params, notes
