"""The downstream-RL parameters (default_params.json): allowed values and the combinations that make sense.

`load_rl_params(argv)` parses the command line, names the run when --exp_name is not given, checks every rule,
combination and size, applies the settings an environment family implies, and returns (params, notes): `notes` are
the one-line explanations of what was adjusted (printed and logged). Anything contradictory, or too large for this
machine, raises a UserError before any work starts.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sfp.config import check_memory, load_defaults, parse_params
from sfp.envs import env_family, make_env_from_params
from sfp.envs.gym_task import task_label
from sfp.envs.maze_layouts import maze_layout
from sfp.errors import UserError
from sfp.paths import EXPERTS, MAX_NAME_BYTES
from sfp.priors.factory import MODELS
from sfp.rl.action_priors import ACTION_PRIORS, ACTION_PRIORS_TABLE
from sfp.rl.methods import Method, matching_preset
from sfp.rl.mixture import PRIOR_CONDITIONS
from sfp.schema import SEED_MAX, TINY, Params, param

PARAMS_FILE = Path(__file__).resolve().parent / "default_params.json"
ACTION_NOISES = ("white", "pink")
DEFAULT_COMMAND = Method.command  # main.py's module
MAX_STEPS = 10**12  # environment steps of one run: years at any speed
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


@dataclass
class RLParams(Params):
    """The downstream-RL parameters: main.py's flags, default_params.json and docs/parameters.md come from here.
    `hidden_layers`, `hidden_units`, `lambda_bonus` and `lambda_loss_scale` keep the original release's flags
    (`l`, `hid`, `beta`, `epsilon`)."""

    exp_name: str = param(
        "",
        "experiment name; logs go to $SFP_LOG_DIR/<exp_name>_s<seed> (empty: <env>__<method>, the preset of "
        "sfp/rl/methods.py the parameters match, e.g. room-v1__sfp, then +<key><value> for each other "
        "parameter that is not its default, leaving out the budget keys such as epochs and replay_size)",
        name=True,
        optional=True,
    )
    env: str = param(
        "reach-v2",
        "environment name: a point maze (corridor-v1, room-v1, maze-v1), a Meta-World task (e.g. "
        "window-close-v2), a locomotion task (e.g. hopper-sparse) or any Gymnasium id, module:Id to import its "
        "module first (e.g. gymnasium_robotics:PointMaze_Medium-v3)",
    )
    env_kwargs: str = param(
        "",
        "a Gymnasium id's keyword arguments for gymnasium.make, as a JSON object (e.g. "
        "'{\"continuing_task\": false}'; empty: none)",
    )
    epochs: int = param(50, "number of epochs", min=1)
    seed: int = param(0, "seed", min=0, max=SEED_MAX)
    num_threads: int = param(8, "number of torch threads (clamped to the cores available)", min=1)
    num_test_episodes: int = param(10, "number of test episodes", min=0)
    save_freq: int = param(1, "epochs between checkpoints (0: only at the end and on Ctrl-C)", min=0)
    video_freq: int = param(
        0,
        "record one deterministic test episode every video_freq epochs into videos/epoch_<k>.mp4 (0: never)",
        min=0,
    )
    debug: bool = param(False, "log to the system temp folder instead of $SFP_LOG_DIR")
    gpu: bool = param(False, "run the networks, replay batches and the prior on CUDA")
    steps_per_epoch: int = param(4000, "environment steps per epoch", min=1)
    start_steps: int = param(
        10000,
        "initial exploration steps: the prior (use_prior and prior_initial), PolyRL (use_polyrl) or uniform actions",
        min=0,
    )
    update_after: int = param(
        1000,
        "no gradient update before this many environment steps (rounds due before the first episode ends run "
        "when it does)",
        min=0,
    )
    update_every: int = param(
        50,
        "environment steps between update rounds; each round makes update_every gradient steps",
        min=1,
    )
    max_ep_len: int = param(1000, "episode cap in agent steps (a time limit, never a terminal)", min=1)
    terminate_on_success: bool = param(False, "end an episode at its first success (a true terminal)")
    batch_size: int = param(100, "batch size for optimization", min=1)
    replay_size: int = param(1000000, "replay capacity in transitions (the oldest whole episodes are evicted)", min=1)
    gamma: float = param(0.99, "discount rate", min=0.0, max=1.0)
    polyak: float = param(0.995, "polyak rate", min=0.0, max=1.0)
    alpha: float = param(0.2, "fixed entropy weight (inverse of reward scale)", min=0.0)
    autotune_alpha: bool = param(
        False,
        "learn alpha (automatic entropy tuning, starting from alpha) so the policy's entropy tracks target_entropy",
    )
    target_entropy: str = param(
        "auto",
        "target entropy of autotune_alpha: 'auto' (minus the number of action dimensions) or a number",
    )
    action_noise: str = param(
        "white",
        "SAC's behaviour noise: 'white' (i.i.d. normal) or 'pink' (one colored-noise sequence per action "
        "dimension and episode)",
        choices=ACTION_NOISES,
    )
    noise_beta: float = param(
        1.0,
        "colour of --action_noise pink: exponent of the 1/f^beta spectrum (0 white, 1 pink, 2 red)",
        min=0.0,
        max=2.0,
    )
    lr: float = param(0.001, "learning rate for neural networks", min=TINY)
    hidden_units: int = param(256, "units per hidden layer", flag="hid", min=1)
    hidden_layers: int = param(2, "number of hidden layers", flag="l", min=1)
    visual: bool = param(False, "64x64 image observations and a CNN actor-critic (goal_cond and her are turned off)")
    fix_env_seed: bool = param(False, "Meta-World: one fixed object/goal configuration for every episode")
    neg_rew: bool = param(False, "rewards -1/0 instead of 0/1 (HER relabelling too)")
    action_prior: str = param(
        "none",
        "action-space wrapper: a row of sfp/rl/action_priors.py (none: the plain action space)",
        choices=ACTION_PRIORS,
    )
    goal_cond: bool = param(True, "goal-conditioned observations: the agent sees [observation, desired_goal]")
    her: bool = param(True, "hindsight experience replay (future strategy), relabelling the goal of s and s' alike")
    replay_k: int = param(4, "HER relabels a sampled transition with probability 1 - 1/(1 + replay_k)", min=0)
    prioritize: bool = param(False, "enables PER")
    prioritize_alpha: float = param(0.6, "alpha for PER", min=0.0)
    prioritize_beta: float = param(
        0.4,
        "PER importance exponent at the start, annealed linearly to 1",
        min=0.0,
        max=1.0,
    )
    prioritize_epsilon: float = param(1e-05, "epsilon for PER", min=TINY)
    clip_gradients: bool = param(False, "clip the critics' gradient norm to 1")
    sil: bool = param(False, "self-imitation learning after each update round (the RL batches are then uniform)")
    sil_m: int = param(4, "SIL steps per RL gradient step", min=1)
    sil_bs: int = param(100, "SIL batch size", min=1)
    sil_weight: float = param(1.0, "weight of SIL loss", min=0.0)
    sil_value_weight: float = param(0.1, "relative weight of SIL value loss", min=0.0)
    n_step_rew: int = param(10, "n of the n-step return (fewer steps at episode ends and terminals)", min=1)
    clip_rew: bool = param(True, "clip the n-step reward to one step's range: [0, 1], or [-1, 0] with neg_rew")
    use_prior: bool = param(False, "SFP: mix the frozen prior with the policy through a learned weight lambda(s)")
    prior_model: str = param(
        "flow",
        "prior model: 'flow', 'deterministic', 'gaussian', 'lscde' or 'vae'",
        choices=MODELS,
    )
    prior_cond: str = param(
        "action",
        "prior conditioning: 'action', 'state', 'action+state' or 'state+goal'",
        choices=PRIOR_CONDITIONS,
    )
    prior_n_step: int = param(1, "number of steps to condition prior on", min=1)
    prior_objective: bool = param(True, "actor loss alpha*log pi - (1 - lambda(s))*Q (false: the plain SAC actor loss)")
    prior_initial: bool = param(True, "act with the prior only during the start_steps")
    prior_schedule: int = param(0, "ramp the acting mixing weight linearly over this many steps (0: no ramp)", min=0)
    data_ratio: float = param(
        1.0,
        "fraction of the data the prior was trained on (selects the _<ratio> checkpoint)",
        min=TINY,
        max=1.0,
    )
    expert: str = param(
        "original",
        "point mazes: the expert whose data and priors the run uses, original (the paper's) or fixed (selects"
        " the maze-fixed_ files)",
        choices=EXPERTS,
    )
    prior_data: str = param(
        "",
        "the data name of the prior's data and initial windows, a dataset in $D4RL_DATASET_DIR (empty: the "
        "task's suite, with --expert; a Gymnasium id: pointmaze for PointMaze_*, fetch for Fetch*)",
        name=True,
        optional=True,
    )
    one_step: bool = param(False, "unconditional action prior (selects the _one_step checkpoint)")
    bc_epochs: int = param(0, "behaviour-cloning epochs on the expert data before RL", min=0)
    use_polyrl: bool = param(False, "SAC-PolyRL: PolyRL exploration during the start_steps")
    rand_init_cond: bool = param(
        True,
        "an episode's first prior window: a random dataset window (false: the start of a random trajectory)",
    )
    lambda_param: bool = param(False, "lambda as one learned scalar instead of a network of the state")
    lambda_bonus: float = param(0.0, "parameter encouraging high mixing weights", flag="beta")
    learn_lambda: bool = param(True, "train lambda (false: lambda stays at lambda_init)")
    lambda_init: float = param(0.95, "initial mixing weight lambda", min=1e-06, max=1 - 1e-06)
    prior_clamp: float = param(
        0.0,
        "restricts the prior's samples to +-(0.99 - prior_clamp), plus noise clipped to +-prior_clamp",
        min=0.0,
        max=0.99,
    )
    prior_smoothing: float = param(0.0, "probability of replacing a prior sample by a uniform action", min=0.0, max=1.0)
    lambda_loss_scale: float = param(
        1e-09,
        "scale of the lambda loss (damps lambda's Adam steps)",
        flag="epsilon",
        min=TINY,
    )
    sparsity: float = param(14.0, "locomotion '-sparse' tasks: reward 1 once the x displacement exceeds this", min=0.0)
    bias: float = param(0.1, "locomotion '-biased' tasks: offset added to the observations")
    permute_action: bool = param(False, "locomotion: reverse the action vector")
    kl_reg: bool = param(
        False,
        "KL-regularised baseline: alpha*KL(pi || Gaussian prior) replaces alpha*log pi (needs --prior_model gaussian)",
    )
    lambda_batch_mean: bool = param(
        False,
        "reproduce the original release's batch-mean lambda in the actor and lambda losses (default: per state)",
    )
    resume: bool = param(
        False,
        "continue the run in its log directory from its last checkpoint (same results as an uninterrupted run)",
    )
    track: bool = param(
        False,
        "track the run with Weights & Biases (the optional extra sfp[track]); W&B's files go to <run>/wandb",
    )
    wandb_project: str = param("sfp", "W&B project of --track")
    wandb_entity: str = param("", "W&B entity (user or team) of --track (empty: your default entity)")
    wandb_group: str = param("", "W&B group of --track (empty: none; run_experiments.py sets the grid's name)")


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
    """A parameter's value in a run name (a JSON text, --env_kwargs, keeps its letters, digits and '_.-')."""
    if isinstance(value, float):
        return format(value, "g")
    text = str(value)
    return "".join(char for char in text if char.isalnum() or char in "_.-") if text.startswith("{") else text


def default_run_name(params: RLParams, defaults: dict, command: str = DEFAULT_COMMAND) -> str:
    """<env>__<method>: the preset of sfp/rl/methods.py run by `command` with the most of the run's changed
    parameters (sac for main.py when none), then each other changed parameter as +<key><value> (a hash of them when
    the name would be too long)."""
    changed = {
        key: params.value(key)
        for key, (default, _) in defaults.items()
        if key not in UNNAMED_KEYS and params.value(key) != default
    }
    preset, rest = matching_preset(changed, command)
    extra = "".join(f"+{key}{_word(value)}" for key, value in sorted(rest.items()))
    task = task_label(params.env)
    name = f"{task}__{preset}{extra}"
    if len(name.encode()) > MAX_NAME_BYTES:
        name = f"{task}__{preset}+{hashlib.sha1(extra.encode()).hexdigest()[:10]}"
    return name


def check_sizes(params: RLParams, defaults: dict) -> None:
    """Sizes this process cannot hold or reach: one line naming the flag, before anything is built or written."""
    total = params.epochs * params.steps_per_epoch
    if total > MAX_STEPS:
        flag = "epochs" if params.epochs >= params.steps_per_epoch else "steps_per_epoch"
        raise UserError(
            f"--epochs {params.epochs} x --steps_per_epoch {params.steps_per_epoch} = {total:.3g} steps "
            f"is more than a run can take (at most {MAX_STEPS:.0e}); lower --{flag}"
        )

    def flags(*keys):
        return {key: (params.value(key), defaults[key][0]) for key in keys}

    act, window = 1, params.prior_n_step  # lower bounds: the smallest action space, one action per window step
    observation = 3 * 64 * 64 if params.visual else 2 * 4
    row = 2 * observation + 4 * act + 13 + 16 + 2 * 4 * act * window + (32 if params.prioritize else 0)
    check_memory(
        params.replay_size * row,
        f"a replay buffer of {params.replay_size} rows of {row} bytes",
        flags("replay_size", "prior_n_step"),
    )
    weights = (params.hidden_layers - 1) * params.hidden_units**2 + params.hidden_units * (2 + act * window)
    check_memory(4 * 5 * weights, "the actor and critics", flags("hid", "l", "prior_n_step"))
    batch = params.batch_size * (params.hidden_units * params.hidden_layers + params.n_step_rew + act * window) * 4
    check_memory(batch, "a training batch", flags("batch_size", "hid", "l", "n_step_rew", "prior_n_step"))
    if env_family(params.env) == "maze":
        xs, ys = zip(*maze_layout(params.env).cells)
        box = (max(xs) - min(xs) + 1) * (max(ys) - min(ys) + 1)
        check_memory(2 * 4 * box * params.epochs, "the visitation counts (one map per epoch)", flags("epochs"))


def resolve_family_settings(params: RLParams) -> list[str]:
    """Settings an environment family implies (as the original did silently); returns what was changed."""
    notes = []
    family = env_family(params.env)
    if family == "locomotion" and (params.goal_cond or params.her):
        notes.append(f"{params.env} is not goal-conditioned: goal_cond and her set to False")
        params.goal_cond = params.her = False
    if params.visual and (params.goal_cond or params.her):
        notes.append("visual observations are images without goals: goal_cond and her set to False")
        params.goal_cond = params.her = False
    if family == "gym":
        notes += resolve_gym_settings(params)
    if params.her and not params.goal_cond:
        notes.append("--goal_cond False: observations without a goal leave HER nothing to relabel: her set to False")
        params.her = False
    return notes


def resolve_gym_settings(params: RLParams) -> list[str]:
    """What a Gymnasium id implies, read from one instance of it: a task without goals runs without HER, one without
    a sparse reward range without clip_rew."""
    if params.neg_rew:
        raise UserError(
            f"--neg_rew turns this project's 0/1 rewards into -1/0; {params.env} keeps its own rewards: drop it"
        )
    if params.visual:
        raise UserError(f"--visual renders this project's tasks; {params.env} is used as it observes: drop it")
    probe = make_env_from_params(params)
    goal_task, bounds = probe.get_wrapper_attr("goal_cond"), probe.get_wrapper_attr("reward_bounds")
    try:
        if params.video_freq:
            from sfp.rl.video import gym_renderer

            gym_renderer(probe)  # a task without a renderer is refused now, not at the first video
    finally:
        probe.close()
    notes = []
    if not goal_task and (params.goal_cond or params.her):
        notes.append(
            f"{params.env} has no goals (not a Dict of observation/achieved_goal/desired_goal): "
            "goal_cond and her set to False"
        )
        params.goal_cond = params.her = False
    if bounds is None and params.clip_rew:
        notes.append(f"{params.env} has no sparse reward range to clip n-step rewards to: clip_rew set to False")
        params.clip_rew = False
    return notes


def check_combinations(params: RLParams) -> None:
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
    if params.env_kwargs and env_family(params.env) != "gym":
        raise UserError(f"--env_kwargs is passed to gymnasium.make for a Gymnasium id; drop it for {params.env}")
    if params.expert != "original" and env_family(params.env) != "maze":
        raise UserError(f"--expert {params.expert} chooses the point mazes' data; drop it for {params.env}")
    if params.one_step and params.prior_n_step != 1:
        raise UserError("--one_step True is an unconditional prior: use it with --prior_n_step 1")
    wrapper_flow = ACTION_PRIORS_TABLE[params.action_prior].flow  # params -> (cond, n_step) of its flow checkpoint
    if wrapper_flow is not None and wrapper_flow(params)[1] != params.prior_n_step:
        raise UserError(
            f"--action_prior {params.action_prior} acts through a flow prior of n_step {wrapper_flow(params)[1]}: "
            f"drop --prior_n_step {params.prior_n_step} (--action_prior flow uses an n-step prior)"
        )
    if wrapper_flow is not None and params.prior_model != "flow":
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
    params = parse_params(RLParams, params_file, argv, "SAC (+HER) with a state-free prior, and baselines")
    defaults = load_defaults(params_file, RLParams)
    env_family(params.env)  # an unknown task is named before anything else
    if not params.exp_name:
        params.exp_name = default_run_name(params, defaults, command)
    notes = resolve_family_settings(params)
    check_combinations(params)
    check_sizes(params, defaults)
    return params, notes
