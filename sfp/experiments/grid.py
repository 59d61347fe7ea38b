"""Grids of runs: methods × tasks × seeds from a small YAML/JSON spec, N at a time, resumable.

A spec (see experiments/*.yaml):

    name: maze                      # runs are named <name>__<task>__<method>, logged in <name>__..._s<seed>/
    tasks: [corridor-v1, maze-v1]
    methods: [sfp, sac, sac_bc, sac_a005]         # presets of sfp/rl/methods.py, or variants below
    seeds: [0, 1, 2]
    params: {epochs: 25, steps_per_epoch: 2000}   # default_params.json overrides for every run
    variants:                                     # methods of this spec (optional): a preset plus overrides,
      sac_a005: {base: sac, params: {alpha: 0.05}}  # named by its key in run names, tables and plots
    method_params: {sac: {alpha: 0.05}}           # per-method overrides (optional)
    data: {num_trajs: 4000, workers: 2}           # collection of a missing dataset (optional)
    prior: {epochs: 30}                           # flows/train.py overrides for a missing prior (optional)

Before launching, the datasets and priors the grid needs are made when missing (the same commands a user would
type). sfp/experiments/launchers.py then runs the grid (locally, on Ray or on Slurm): a finished run is skipped,
an interrupted one resumed (`--resume True`), a new one started; each runs as `python -m <command> ... --num_threads 1`
(main.py's module for every method but the peer sb3_sac, see sfp/rl/methods.py) with its output in
<run directory>.out.
"""

import difflib
import inspect
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sfp import paths
from sfp.data.collector import check_options, collect
from sfp.data.gym_experts import BUILTIN_GYM_EXPERTS
from sfp.envs import env_family, locomotion_body
from sfp.envs.gym_task import known_data_name, split_id, task_label
from sfp.errors import UserError, describe_os_error, one_line
from sfp.experiments.analysis import read_progress
from sfp.invocation import command
from sfp.paths import check_name
from sfp.priors.params import PriorParams, parse_train_params
from sfp.provenance import PROVENANCE_FILE
from sfp.rl.build import needs_dataset, required_priors
from sfp.rl.methods import METHODS, Method, as_flags
from sfp.rl.params import RLParams, load_rl_params
from sfp.rl.peer_sac import PEER_COMMAND, check_peer_params, require_sb3
from sfp.rl.tracking import require_tracking
from sfp.rl.visitation import VISITATION_FILE
from sfp.run_lock import LOCKED_EXIT
from sfp.schema import SEED_MAX, flags

SUITE_OF_SHORT = {short: suite for suite, short in paths.SUITES.items()}
SPEC_KEYS = {"name", "tasks", "methods", "seeds", "params", "variants", "method_params", "data", "prior"}
VARIANT_KEYS = {"base", "params"}
GRID_RL_KEYS = ("env", "seed", "exp_name", "num_threads", "resume", "debug")  # main.py keys the grid sets per run
GRID_PRIOR_KEYS = (
    "env",
    "expert",
    "model",
    "mode",
    "n_step",
    "data_ratio",
    "one_step",
    "deterministic",
    "gaussian",
    "debug",
    "diagnose_only",
)  # flows/train.py keys the grid derives from each run's prior
GRID_DATA_KEYS = ("expert",)  # collector options the grid derives from each run's parameters
DATA_DEFAULTS = {"num_trajs": 4000, "workers": 2}  # the grid's collection defaults (the collector's own otherwise)
_EXAMPLES = {"tasks": "corridor-v1", "methods": "sfp, sac", "seeds": "0, 1, 2"}
KIND_WORDS = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "a mapping",
}


@dataclass
class Run:
    task: str
    method: str
    seed: int
    argv: list[str]
    command: str = "sfp.commands.train"  # the module that runs it: python -m <command> <argv>
    name: str = field(init=False)

    def __post_init__(self):
        self.name = self.argv[self.argv.index("--exp_name") + 1]

    @property
    def directory(self) -> Path:
        return paths.run_dir(self.name, self.seed)

    def status(self, epochs: int) -> str:
        """'finished', 'interrupted' (resumable), 'broken' (a run directory without checkpoint) or 'new'."""
        progress = self.directory / "progress.txt"
        if progress.exists() and last_epoch(progress) >= epochs:
            return "finished"
        if (self.directory / "checkpoint.pt").exists():
            return "interrupted"
        return "broken" if (self.directory / "config.json").exists() else "new"


def load_spec(path: str | Path) -> dict:
    """The spec in `path` (YAML, or JSON for *.json), validated by validate_spec: a UserError for any problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        reason = describe_os_error(err) if isinstance(err, OSError) else f"{path}: {err}"
        raise UserError(f"cannot read the experiment spec {reason}") from None
    try:
        spec = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{path} is not valid JSON: {err}") from None
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML: {_yaml_problem(err)}") from None
    validate_spec(spec, str(path))
    sections = {key: spec.get(key) or {} for key in ("params", "variants", "method_params", "data", "prior")}
    sections["method_params"] = {method: overrides or {} for method, overrides in sections["method_params"].items()}
    sections["variants"] = {
        name: {"base": variant["base"], "params": variant.get("params") or {}}
        for name, variant in sections["variants"].items()
    }
    return {**spec, **sections}  # empty sections (`params:` alone) as {}


def _yaml_problem(err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None)
    if mark is None:
        return one_line(err)
    context = f" ({err.context})" if getattr(err, "context", None) else ""
    return f"line {mark.line + 1}, column {mark.column + 1}: {err.problem}{context}"


def validate_spec(spec, where: str) -> None:
    """Check every section of a spec as main.py, flows/train.py and the collector would check their arguments, so
    that nothing starts from a spec that cannot run. `where` names the spec in the messages."""
    if spec is None:
        raise UserError(f"{where} is empty: a spec has name, tasks, methods and seeds (see experiments/*.yaml)")
    if not isinstance(spec, dict):
        raise UserError(f"{where} holds {_kind(spec)}, not a mapping of name, tasks, methods, seeds, ...")
    unknown = sorted(str(key) for key in spec if key not in SPEC_KEYS)
    missing = [key for key in ("name", "tasks", "methods", "seeds") if key not in spec]
    if unknown or missing:
        raise UserError(
            f"{where}: a spec has name, tasks, methods, seeds and optionally params, variants, "
            f"method_params, data, prior (unknown: {', '.join(unknown) or '-'}; missing: "
            f"{', '.join(missing) or '-'})"
        )
    check_name(spec["name"], f"{where}: name")
    labels: dict[str, str] = {}
    for task in _entries(spec, "tasks", str, where):
        label = task_label(task)
        check_name(label, f"{where}: task" if label == task else f"{where}: task {task!r} (in run names)")
        if (other := labels.setdefault(label, task)) != task:
            raise UserError(f"{where}: tasks {other!r} and {task!r} would share their run names; list one of them")
        try:
            env_family(task)
        except UserError as err:
            raise UserError(f"{where}: {err}") from None
    rl_keys = set(flags(RLParams)) - set(GRID_RL_KEYS)
    variants = _check_variants(_section(spec, "variants", where), rl_keys, where)
    for method in _entries(spec, "methods", str, where):
        if method not in METHODS and method not in variants:
            raise UserError(
                f"{where}: unknown method {method!r}; presets are {', '.join(METHODS)}"
                + (
                    f"; variants of this spec {', '.join(variants)}"
                    if variants
                    else " (or define it under variants: {name: {base: <preset>, params: {...}}})"
                )
            )
    unused = [name for name in variants if name not in spec["methods"]]
    if unused:
        raise UserError(
            f"{where}: variants defines {', '.join(unused)}, which is not among the methods; add it "
            f"to methods or remove it"
        )
    for seed in _entries(spec, "seeds", int, where):
        if seed < 0:
            raise UserError(f"{where}: seed {seed} is negative")
        if seed > SEED_MAX:
            raise UserError(f"{where}: seed {seed} is above numpy's largest seed {SEED_MAX}")
    _check_keys(_section(spec, "params", where), rl_keys, f"{where}: params", GRID_RL_KEYS)
    for method in _section(spec, "method_params", where):
        if method not in spec["methods"]:
            raise UserError(f"{where}: method_params has {method!r}, which is not among the methods")
        _check_keys(
            _section(spec["method_params"], method, f"{where}: method_params"),
            rl_keys,
            f"{where}: method_params: {method}",
            GRID_RL_KEYS,
        )
    _check_data(_section(spec, "data", where), where)
    prior = _section(spec, "prior", where)
    _check_keys(prior, set(flags(PriorParams)) - set(GRID_PRIOR_KEYS), f"{where}: prior", GRID_PRIOR_KEYS)
    for suite in dict.fromkeys(_suite(task) for task in spec["tasks"]):
        if suite is None:  # a Gymnasium id without built-in data: its runs name theirs (--prior_data)
            continue
        try:
            parse_train_params(["--env", suite, *as_flags(prior)])
        except UserError as err:
            raise UserError(f"{where}: prior: {err}") from None


def _check_variants(variants: dict, rl_keys: set, where: str) -> dict:
    """The variants section: {name: {base: <preset>, params: {key: value}}}, each named like a run name part and
    not like a preset. Values are checked with the runs (grid())."""
    for name, variant in variants.items():
        check_name(name, f"{where}: variants")
        if name in METHODS:
            raise UserError(f"{where}: variants: {name!r} is the name of a preset; give the variant a name of its own")
        if "__" in name:
            raise UserError(f"{where}: variants: {name!r} holds '__', which separates the parts of run names")
        if not isinstance(variant, dict):
            raise UserError(
                f"{where}: variants: {name} must be a mapping {{base: <preset>, params: {{...}}}}, not {_kind(variant)}"
            )
        unknown = sorted(str(key) for key in variant if key not in VARIANT_KEYS)
        if unknown or "base" not in variant:
            raise UserError(
                f"{where}: variants: {name} has base and optionally params (unknown: "
                f"{', '.join(unknown) or '-'}; missing: {'base' if 'base' not in variant else '-'})"
            )
        if variant["base"] not in METHODS:
            raise UserError(
                f"{where}: variants: {name}: unknown base {variant['base']!r}; presets are {', '.join(METHODS)}"
            )
        _check_keys(
            _section(variant, "params", f"{where}: variants: {name}"),
            rl_keys,
            f"{where}: variants: {name}: params",
            GRID_RL_KEYS,
        )
    return variants


def method_of(spec: dict, name: str) -> Method:
    """The preset `name`, or the spec's variant `name` as a Method (its base's row with the variant's overrides)."""
    variant = spec.get("variants", {}).get(name)
    if variant is None:
        return METHODS[name]
    base = METHODS[variant["base"]]
    return Method(
        f"{base.label}, {name}", {**base.overrides, **(variant.get("params") or {})}, base.needs, base.command
    )


def _kind(value) -> str:
    return KIND_WORDS.get(type(value), type(value).__name__)


def _entries(spec: dict, key: str, kind: type, where: str) -> list:
    """spec[key]: a non-empty list of `kind` without repeats."""
    values = spec[key]
    if not isinstance(values, list) or not values:
        raise UserError(f"{where}: {key} must be a non-empty list, e.g. {key}: [{_EXAMPLES[key]}]")
    for value in values:
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserError(f"{where}: {key} holds {value!r}, not {KIND_WORDS[kind]}")
    repeated = sorted({str(value) for value in values if values.count(value) > 1})
    if repeated:
        raise UserError(f"{where}: {key} lists {', '.join(repeated)} more than once")
    return values


def _section(spec: dict, key: str, where: str) -> dict:
    """spec[key] (optional): a mapping."""
    value = {} if spec.get(key) is None else spec[key]
    if not isinstance(value, dict):
        raise UserError(f"{where}: {key} must be a mapping of key: value, not {_kind(value)}")
    return value


def _check_keys(section: dict, allowed: set, where: str, grid_keys: tuple) -> None:
    for key in section:
        if key in grid_keys:
            raise UserError(f"{where}: {key} is set by the grid for each run; remove it")
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            raise UserError(f"{where}: unknown key {key!r}" + (f" (did you mean {close[0]}?)" if close else ""))


def _check_data(data: dict, where: str) -> None:
    """The data section against the collector's options (the keyword arguments of sfp.data.collector.collect)."""
    options = {
        name: parameter.default
        for name, parameter in inspect.signature(collect).parameters.items()
        if name not in ("suite", "folder", "progress")
    }
    for key, value in data.items():
        if key in GRID_DATA_KEYS:
            raise UserError(f"{where}: data: {key} is set by the grid from the runs' parameters; remove it")
        if key not in options:
            raise UserError(f"{where}: data: unknown key {key!r}; the collector's options are {', '.join(options)}")
        kind = type(options[key])
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise UserError(f"{where}: data: {key} {value!r} is not {KIND_WORDS.get(kind, kind.__name__)}")
    chosen = {**options, **DATA_DEFAULTS, **data}
    try:
        check_options(chosen["num_trajs"], chosen["traj_len"], chosen["workers"], chosen["seed"])
    except UserError as err:
        raise UserError(f"{where}: data: {err}") from None


def _data_flags(data: dict) -> list[str]:
    """The collect command's flags of a data section (a boolean option is a bare flag)."""
    words = []
    for key, value in data.items():
        if isinstance(value, bool):
            words += [f"--{key}"] if value else []
        else:
            words += [f"--{key}", str(value)]
    return words


def grid(spec: dict) -> list[Run]:
    """Every run of the spec, checked like main.py would check it, with the extras it needs installed (W&B for
    track, Stable-Baselines3 for sb3_sac): an error names the run."""
    runs = []
    for task in spec["tasks"]:
        for method in spec["methods"]:
            row = method_of(spec, method)
            overrides = {**spec.get("params", {}), **row.overrides, **spec.get("method_params", {}).get(method, {})}
            for seed in spec["seeds"]:
                argv = [
                    "--env",
                    task,
                    *as_flags(overrides),
                    "--seed",
                    str(seed),
                    "--num_threads",
                    "1",
                    "--exp_name",
                    f"{spec['name']}__{task_label(task)}__{method}",
                ]
                try:
                    params, _ = load_rl_params(argv)
                    require_tracking(params)
                    if row.command == PEER_COMMAND:
                        require_sb3()
                        check_peer_params(params)
                except UserError as err:
                    raise UserError(f"{task}/{method}: {err}") from None
                if params.track and not params.wandb_group:  # one W&B group per grid
                    argv += ["--wandb_group", spec["name"]]
                runs.append(Run(task, method, seed, argv, row.command))
    return runs


def grid_param(spec: dict, key: str):
    """A main.py parameter every run of the spec shares: the spec's params, else main.py's default."""
    return spec.get("params", {}).get(key, load_rl_params([])[0].value(key))


def grid_epochs(spec: dict) -> int:
    """The epochs every run of the spec trains for."""
    return int(grid_param(spec, "epochs"))


def last_epoch(progress: Path) -> int:
    columns = read_progress(progress)
    return int(columns["Epoch"][-1]) if columns else 0


def _suite(task: str) -> str | None:
    """The suite (or data name) of a task's data: a Gymnasium id's built-in data (None when it has none)."""
    family = env_family(task)
    if family == "gym":
        return known_data_name(split_id(task)[1]) or None
    if family == "locomotion":
        body = locomotion_body(task)
        assert body is not None  # env_family says locomotion exactly when locomotion_body finds a body
        return body
    return SUITE_OF_SHORT[family]


def _gym_collection(name: str) -> list[str] | None:
    """The collect/distill options of a built-in Gymnasium expert's data name (None for any other name)."""
    if name not in BUILTIN_GYM_EXPERTS:
        return None
    return ["--env", BUILTIN_GYM_EXPERTS[name].default_env, "--expert", name]


def _making(name: str) -> str:
    """How a dataset the grid cannot make is made."""
    if not name:
        return "the task has no built-in data: name a dataset with prior_data in the spec's params"
    short = paths.split_data_name(name)[0]
    importing = f"import it with {command('sfp-import-d4rl')} --file <{short}-expert-v2.hdf5>"
    if short in paths.LOCOMOTION_BODIES:
        return importing
    collecting = f"{command('sfp-collect')} --env <Gymnasium id> --expert <module:callable> --name {name}"
    return f"make it with {collecting}, or {importing}"


@dataclass
class Preparation:
    command: list[str]  # arguments of this interpreter, e.g. ["-m", "sfp.commands.train_prior", ...]
    product: Path | None = None  # the file it makes, when another process may be making the same one (a prior)


def preparation_commands(spec: dict, runs: list[Run]) -> list[Preparation]:
    """What makes the missing datasets and priors of the grid, in order."""
    commands: list[Preparation] = []
    seen: set[str | Path] = set()  # data names and prior checkpoints
    data = {**DATA_DEFAULTS, **spec.get("data", {})}
    for run in runs:
        params, _ = load_rl_params(run.argv)
        if params.prior_data or env_family(run.task) == "gym":
            suite = name = params.prior_data or _suite(run.task) or ""
            collection = _gym_collection(name)
            expert = []
        else:
            suite = _suite(run.task) or ""
            short = paths.short_name(suite)
            name = paths.data_name(short, params.expert)
            collection = ["--env", suite] if short in SUITE_OF_SHORT else None
            expert = ["--expert", params.expert] if short == "maze" else []
        if (needs_dataset(params) or required_priors(params)) and name not in seen:
            seen.add(name)
            if not paths.dataset_file(name).exists():
                if collection is None:
                    raise UserError(f"{run.task} needs {paths.dataset_file(name)}: {_making(name)}")
                commands.append(Preparation(["-m", "sfp.commands.collect", *collection, *expert, *_data_flags(data)]))
                commands.append(Preparation(["-m", "sfp.commands.distill", *collection, *expert]))
        for model, cond, n_step, ratio, one_step in required_priors(params):
            checkpoint = paths.prior_checkpoint(name, model, cond, n_step, ratio, one_step)
            if checkpoint not in seen and not checkpoint.exists():
                seen.add(checkpoint)
                commands.append(
                    Preparation(
                        [
                            "-m",
                            "sfp.commands.train_prior",
                            "--env",
                            suite,
                            *expert,
                            "--model",
                            model,
                            "--mode",
                            cond,
                            "--n_step",
                            str(n_step),
                            "--data_ratio",
                            str(ratio),
                            "--one_step",
                            str(one_step),
                            *as_flags(spec.get("prior", {})),
                        ],
                        checkpoint,
                    )
                )
    return commands


def run_preparation(preparation: Preparation, wait_seconds: float = 30.0) -> None:
    """Run one of preparation_commands() with this interpreter; a failure is a UserError. When another process is
    making the same product (the command exits LOCKED_EXIT: a second grid, or a flows/train.py started by hand),
    wait for it, every `wait_seconds`, until the product exists, or run the command again once that process has
    stopped without it (which then continues its run)."""
    text = f"python {' '.join(preparation.command)}"
    print(f"== {text}", flush=True)
    waiting = False
    while True:
        status = subprocess.run([sys.executable, *preparation.command]).returncode
        if status != LOCKED_EXIT or preparation.product is None:
            break
        if not waiting:
            print(f"== waiting for the other process to make {preparation.product}", flush=True)
            waiting = True
        time.sleep(wait_seconds)
        if preparation.product.exists():
            print(f"== {preparation.product} was made by the other process", flush=True)
            return
    if status != 0:
        raise UserError(f"preparation failed: {text}")


def snapshot_logs(directories: list[Path], destination: Path) -> list[Path]:
    """Copy each run's config.json, progress.txt, provenance.json and, for maze runs, visitation.npz (a few kB; no
    checkpoints) to destination/<run>/, so figures can be regenerated from committed logs. Returns the copies."""
    copies = []
    for directory in directories:
        if not (directory / "progress.txt").exists():
            continue
        target = destination / directory.name
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "progress.txt", PROVENANCE_FILE, VISITATION_FILE):  # visitation: maze only
            if (directory / name).exists():
                (target / name).write_bytes((directory / name).read_bytes())
        copies.append(target)
    return copies
