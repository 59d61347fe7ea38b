"""The downstream-RL parameters (default_params.json): allowed values and the combinations that make sense.

`load_rl_params(argv)` parses the command line, names the run when --exp_name is not given, checks every rule,
combination and size, applies the settings an environment family implies, and returns (params, notes): `notes` are
the one-line explanations of what was adjusted (printed and logged). Anything contradictory, or too large for this
machine, raises a UserError before any work starts.
"""

import hashlib
from pathlib import Path

from sfp.config import SEED_MAX, Rule, check_memory, load_defaults, parse_params
from sfp.envs import env_family
from sfp.envs.maze_layouts import maze_layout
from sfp.errors import UserError
from sfp.paths import EXPERTS, MAX_NAME_BYTES
from sfp.priors.factory import MODELS
from sfp.rl.methods import METHODS, Method
from sfp.rl.mixture import PRIOR_CONDITIONS

PARAMS_FILE = Path(__file__).resolve().parent / "default_params.json"
ACTION_PRIORS = (
    "none",
    "parrot_state",
    "parrot_image",
    "parrot_action",
    "ez-greedy",
    "nstep",
    "diagonal",
    "densediagonal",
    "flow",
)
ACTION_NOISES = ("white", "pink")
TINY = 1e-12
DEFAULT_COMMAND = Method.command  # main.py's module
MAX_STEPS = 10**12  # environment steps of one run: years at any speed
WRAPPER_FLOWS = ("parrot_state", "parrot_image", "parrot_action", "flow")  # action priors that act through a flow
# keys that do not say what a run is (its task, budget and bookkeeping): left out of its default name
UNNAMED_KEYS = (
    "exp_name",
    "env",
    "seed",
    "epochs",
    "steps_per_epoch",
    "start_steps",
    "update_after",
    "max_ep_len",
    "num_test_episodes",
    "replay_size",
    "num_threads",
    "save_freq",
    "video_freq",
    "debug",
    "gpu",
    "resume",
    "track",
    "wandb_project",
    "wandb_entity",
    "wandb_group",
)

RULES = {
    "epochs": Rule(min=1),
    "seed": Rule(min=0, max=SEED_MAX),
    "num_threads": Rule(min=1),
    "num_test_episodes": Rule(min=0),
    "save_freq": Rule(min=0),
    "video_freq": Rule(min=0),
    "steps_per_epoch": Rule(min=1),
    "start_steps": Rule(min=0),
    "update_after": Rule(min=0),
    "update_every": Rule(min=1),
    "max_ep_len": Rule(min=1),
    "batch_size": Rule(min=1),
    "replay_size": Rule(min=1),
    "gamma": Rule(min=0.0, max=1.0),
    "polyak": Rule(min=0.0, max=1.0),
    "alpha": Rule(min=0.0),
    "lr": Rule(min=TINY),
    "hid": Rule(min=1),
    "l": Rule(min=1),
    "action_prior": Rule(choices=ACTION_PRIORS),
    "replay_k": Rule(min=0),
    "prioritize_alpha": Rule(min=0.0),
    "prioritize_beta": Rule(min=0.0, max=1.0),
    "prioritize_epsilon": Rule(min=TINY),
    "sil_m": Rule(min=1),
    "sil_bs": Rule(min=1),
    "sil_weight": Rule(min=0.0),
    "sil_value_weight": Rule(min=0.0),
    "n_step_rew": Rule(min=1),
    "prior_model": Rule(choices=MODELS),
    "prior_cond": Rule(choices=PRIOR_CONDITIONS),
    "prior_n_step": Rule(min=1),
    "prior_schedule": Rule(min=0),
    "data_ratio": Rule(min=TINY, max=1.0),
    "bc_epochs": Rule(min=0),
    "lambda_init": Rule(min=1e-6, max=1 - 1e-6),
    "expert": Rule(choices=EXPERTS),
    "exp_name": Rule(name=True, optional=True),
    "prior_clamp": Rule(min=0.0, max=0.99),
    "prior_smoothing": Rule(min=0.0, max=1.0),
    "epsilon": Rule(min=TINY),
    "sparsity": Rule(min=0.0),
    "action_noise": Rule(choices=ACTION_NOISES),
    "noise_beta": Rule(min=0.0, max=2.0),
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


def _word(value) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def default_run_name(params, defaults: dict, command: str = DEFAULT_COMMAND) -> str:
    """<env>__<method>: the preset of sfp/rl/methods.py run by `command` with the most of the run's changed
    parameters (sac for main.py when none), then each other changed parameter as +<key><value> (a hash of them when
    the name would be too long)."""
    changed = {
        key: getattr(params, key)
        for key, (default, _) in defaults.items()
        if key not in UNNAMED_KEYS and getattr(params, key) != default
    }
    presets = [
        name
        for name, method in METHODS.items()
        if method.command == command
        and all(key in changed and changed[key] == value for key, value in method.overrides.items())
    ]
    preset = max(presets, key=lambda name: len(METHODS[name].overrides))
    extra = "".join(
        f"+{key}{_word(value)}" for key, value in sorted(changed.items()) if key not in METHODS[preset].overrides
    )
    name = f"{params.env}__{preset}{extra}"
    if len(name.encode()) > MAX_NAME_BYTES:
        name = f"{params.env}__{preset}+{hashlib.sha1(extra.encode()).hexdigest()[:10]}"
    return name


def check_sizes(params, defaults: dict) -> None:
    """Sizes this process cannot hold or reach: one line naming the flag, before anything is built or written."""
    total = params.epochs * params.steps_per_epoch
    if total > MAX_STEPS:
        flag = "epochs" if params.epochs >= params.steps_per_epoch else "steps_per_epoch"
        raise UserError(
            f"--epochs {params.epochs} x --steps_per_epoch {params.steps_per_epoch} = {total:.3g} steps "
            f"is more than a run can take (at most {MAX_STEPS:.0e}); lower --{flag}"
        )

    def flags(*keys):
        return {key: (getattr(params, key), defaults[key][0]) for key in keys}

    act, window = 1, params.prior_n_step  # lower bounds: the smallest action space, one action per window step
    observation = 3 * 64 * 64 if params.visual else 2 * 4
    row = 2 * observation + 4 * act + 13 + 16 + 2 * 4 * act * window + (32 if params.prioritize else 0)
    check_memory(
        params.replay_size * row,
        f"a replay buffer of {params.replay_size} rows of {row} bytes",
        flags("replay_size", "prior_n_step"),
    )
    weights = (params.l - 1) * params.hid**2 + params.hid * (2 + act * window)
    check_memory(4 * 5 * weights, "the actor and critics", flags("hid", "l", "prior_n_step"))
    batch = params.batch_size * (params.hid * params.l + params.n_step_rew + act * window) * 4
    check_memory(batch, "a training batch", flags("batch_size", "hid", "l", "n_step_rew", "prior_n_step"))
    if env_family(params.env) == "maze":
        xs, ys = zip(*maze_layout(params.env).cells)
        box = (max(xs) - min(xs) + 1) * (max(ys) - min(ys) + 1)
        check_memory(2 * 4 * box * params.epochs, "the visitation counts (one map per epoch)", flags("epochs"))


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
            raise UserError(
                f"--{key} {getattr(params, key)} is larger than the replay buffer (--replay_size "
                f"{params.replay_size}): lower it"
            )
    if params.kl_reg and params.prior_model != "gaussian":
        raise UserError("--kl_reg True needs a Gaussian prior: add --prior_model gaussian")
    if params.kl_reg and params.use_prior:
        raise UserError("--kl_reg is a baseline of its own: use it with --use_prior False")
    if params.use_prior and params.action_prior != "none":
        raise UserError(
            f"--use_prior True mixes the prior into the policy; --action_prior {params.action_prior} "
            "replaces the action space: choose one of them"
        )
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
    if params.action_prior in ("parrot_state", "parrot_image", "parrot_action") and params.prior_n_step != 1:
        raise UserError(
            f"--action_prior {params.action_prior} acts through the one-step PARROT prior: drop "
            f"--prior_n_step {params.prior_n_step} (--action_prior flow uses an n-step prior)"
        )
    if params.action_prior in WRAPPER_FLOWS and params.prior_model != "flow":
        raise UserError(
            f"--action_prior {params.action_prior} acts through a flow prior: drop --prior_model {params.prior_model}"
        )
    if params.use_polyrl and params.use_prior and params.prior_initial:
        raise UserError(
            "--use_polyrl True explores with PolyRL during the start_steps, which --prior_initial True "
            "gives to the prior: add --prior_initial False, or drop one of them"
        )
    if params.visual and params.bc_epochs > 0:
        raise UserError("behaviour cloning works on vector observations only: drop --bc_epochs with --visual True")
    if params.visual and params.prior_cond in ("state", "action+state", "state+goal") and params.use_prior:
        raise UserError(f"--prior_cond {params.prior_cond} needs vector states; visual runs use --prior_cond action")
    if params.gpu:
        import torch

        if not torch.cuda.is_available():
            raise UserError("--gpu True but CUDA is not available on this machine: use --gpu False")


def load_rl_params(argv: list[str] | None = None, params_file: Path = PARAMS_FILE, command: str = DEFAULT_COMMAND):
    """Parse and check the RL parameters against `params_file` (`command`: the module that runs them, for the default
    run name). Returns (params namespace, notes)."""
    params = parse_params(params_file, argv, RULES, description="SAC (+HER) with a state-free prior, and baselines")
    defaults = load_defaults(params_file)
    env_family(params.env)  # an unknown task is named before anything else
    if not params.exp_name:
        params.exp_name = default_run_name(params, defaults, command)
    notes = resolve_family_settings(params)
    check_combinations(params)
    check_sizes(params, defaults)
    return params, notes
