"""Stage 2 end to end: dataset -> samples -> model -> training -> checkpoint -> diagnostics.

A run continues the newest unfinished run of the same prior with identical parameters (sfp.priors.training_state)
on its own, with a note; --resume True makes that required. Ctrl-C or SIGTERM stops at once (the state of the last
finished epoch is on disk) with status 130/143 and a line saying how to continue.
"""

import math
import signal
import time
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from sfp import paths
from sfp.data.dataset import ExpertData, load_dataset
from sfp.errors import UserError
from sfp.invocation import command
from sfp.paths import file_md5, write_json
from sfp.priors.checkpoint import (
    check_replaceable,
    replacement_verdict,
    save_checkpoint,
)
from sfp.priors.diagnostics import action_prior_report
from sfp.priors.factory import build_model, model_config
from sfp.priors.loading import load_prior
from sfp.priors.lscde import LSCDE, fit_lscde
from sfp.priors.params import PriorParams
from sfp.priors.runlog import RunLog, fresh_directory
from sfp.priors.trainer import Progress, adam, mean_loss, train_model
from sfp.priors.training_state import find_resumable, identity, lock, mark_finished, restore, save_state
from sfp.priors.windows import (
    build_samples,
    check_mode,
    condition_shape,
    split_trajectories,
)
from sfp.provenance import git_state
from sfp.runtime import seed_everything, set_threads


def data_name(params: PriorParams) -> str:
    """The data name (sfp.paths.data_name) of the dataset the prior of `params` learns from."""
    return paths.data_name(paths.short_name(params.env), params.expert)


def checkpoint_path(params: PriorParams) -> Path:
    """Where main.py looks for the prior of these parameters."""
    return paths.prior_checkpoint(
        data_name(params), params.model, params.mode, params.n_step, params.data_ratio, params.one_step
    )


def run_name(params: PriorParams) -> str:
    if params.exp_name:
        return params.exp_name
    return "flows_" + checkpoint_path(params).stem.replace("_primitive", "")


def load_data(params: PriorParams) -> ExpertData:
    data = load_dataset(data_name(params), with_images=params.mode == "image" and not params.one_step)
    if not params.one_step:
        check_mode(data, params.mode)
    return data


def diagnose(
    model, config: dict, data: ExpertData, val_trajectories: np.ndarray, val_loss: float, directory: Path
) -> dict:
    """Write diagnostics.json (and pairs.png for action priors) to `directory`, print a summary, return it."""
    report: dict[str, Any] = {"val_nll": val_loss}
    if config["mode"] == "action" or config["one_step"]:
        report["rollouts"] = action_prior_report(model, config, data, val_trajectories, directory)
    write_json(directory / "diagnostics.json", report)
    tqdm.write(f"validation loss (NLL; ½ squared error for deterministic): {val_loss:.4f}")
    if "rollouts" in report:
        rollouts = report["rollouts"]
        tqdm.write(f"{rollouts['rollouts']} rollouts of {rollouts['steps']} steps:   mean|a|  mean cos  lag-1 autocorr")
        for source in ("data", "prior"):
            stats = rollouts[source]
            autocorr = " ".join(f"{value:+.3f}" for value in stats["lag1_autocorr"])
            tqdm.write(f"  {source:>5} {stats['mean_abs']:>30.3f} {stats['mean_cosine']:>+9.3f}  {autocorr}")
    return report


STOP_SIGNALS: dict[int, str] = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived (a BaseException, like KeyboardInterrupt, so no `except Exception` swallows it)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stop_on_signals(directory: Path):
    """The first SIGINT/SIGTERM stops the block at once and exits with 128 + signal and a line naming how to
    continue; a second one kills the process (every file is written atomically, so nothing is torn)."""

    def handler(signum, frame):
        for number in STOP_SIGNALS:
            signal.signal(number, signal.SIG_DFL)
        raise Stopped(signum)

    previous = {number: signal.signal(number, handler) for number in STOP_SIGNALS}
    try:
        yield
    except Stopped as stop:
        tqdm.write(
            f"{STOP_SIGNALS[stop.signum]}: stopped; run the same command again to continue from the last "
            f"finished epoch ({directory})"
        )
        raise SystemExit(128 + stop.signum) from None
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def fit(
    model,
    params: PriorParams,
    train_set,
    val_set,
    generator: torch.Generator,
    log: RunLog,
    identity_params: dict,
    saved: dict | None,
):
    """Train (or, for LSCDE, solve) the model, from the training state `saved` if given, saving the state in the
    log directory after every epoch; returns (validation loss, best epoch, stop reason)."""
    if isinstance(model, LSCDE):
        solution = fit_lscde(model, train_set.actions, train_set.conds, val_set.actions, val_set.conds, generator)
        log.row(
            {
                "epoch": 1,
                "train_loss": mean_loss(model, train_set, params.test_batch_size),
                "val_loss": solution["val_nll"],
                "best_val_loss": solution["val_nll"],
            }
        )
        return solution["val_nll"], 1, f"solved in closed form (sigma {solution['sigma']}, ridge {solution['ridge']})"
    optimizer = adam(model, params)
    progress = restore(saved, model, optimizer, generator) if saved else Progress()

    def save(progress: Progress) -> None:
        save_state(log.directory, identity_params, model, optimizer, progress, generator, log.rows)

    result = train_model(model, train_set, val_set, params, generator, log, optimizer, progress, save)
    return result.val_loss, result.best_epoch, result.stop_reason


def sample_sets(params: PriorParams, data: ExpertData):
    """Trajectory ids and samples of the train and validation splits: (train_ids, val_ids, train_set, val_set)."""
    train_ids, val_ids, num_train = split_trajectories(data.num_trajectories, params.data_ratio, params.debug)
    options = (params.mode, params.n_step, params.one_step, params.device)
    train_set = build_samples(data, train_ids, *options, full_trajectories=np.arange(num_train))
    return train_ids, val_ids, train_set, build_samples(data, val_ids, *options)


def publish(model, config: dict, params: PriorParams, directory: Path) -> tuple[bool, str]:
    """Save the run's model in its log directory and, by the overwrite policy, to the flow directory."""
    write_json(directory / "config.json", config)
    save_checkpoint(directory / "model.pt", model, config)
    if params.debug:
        return False, "debug run: the checkpoint stays in the log directory"
    target = checkpoint_path(params)
    written, verdict = replacement_verdict(target, config["val_nll"], params.overwrite)
    if written:
        save_checkpoint(target, model, config)
    return written, verdict


def train_prior(params: PriorParams) -> dict:
    """Train the prior of `params`, save it where main.py reads it (subject to the overwrite policy), write the
    log directory. Returns {"checkpoint", "written", "log_dir", "val_nll", ...}."""
    set_threads(params.num_threads)
    seed_everything(params.seed)
    with closing(load_data(params)) as data:
        train_ids, val_ids, train_set, val_set = sample_sets(params, data)
        config = model_config(
            params,
            data_name(params),
            data.actions.shape[1],
            condition_shape(data, params.mode, params.n_step, params.one_step),
            len(train_set),
            file_md5(data.path),
        )
        config["expert"] = data.expert  # checked again when RL loads the prior (sfp.priors.loading)
        target = checkpoint_path(params)
        if not params.debug:
            check_replaceable(target, config, params.overwrite)
        same = identity(params, config["dataset_md5"])
        found = find_resumable(paths.run_dir(run_name(params), params.seed, params.debug), same, params.resume)
        git = git_state()  # {commit, dirty}, or None outside a git checkout
        if found:
            directory, saved, held = found
            tqdm.write(
                f"note: continuing the unfinished run in {directory} after epoch {saved['progress']['epoch']} "
                f"(same parameters; move that directory away to start afresh)"
            )
        else:
            saved, directory = None, fresh_directory(paths.run_dir(run_name(params), params.seed, params.debug))
            held = lock(directory)
            if held is None:
                raise UserError(
                    f"{directory} was just claimed by another {command('sfp-train-prior')}; run this one again"
                )
            write_json(
                directory / "params.json",
                {
                    **params.flag_values(),
                    "git": git,
                    "dataset": str(data.path),
                    "dataset_md5": config["dataset_md5"],
                    "train_trajectories": len(train_ids),
                    "val_trajectories": len(val_ids),
                    "train_samples": len(train_set),
                    "val_samples": len(val_set),
                    "checkpoint": str(target),
                },
            )
        tqdm.write(
            f"training a {params.model} prior on {len(train_ids)} trajectories ({len(train_set)} samples), "
            f"validating on {len(val_ids)}; logs in {directory}"
        )
        model = build_model(config).to(params.device)
        started = time.time()
        with held, stop_on_signals(directory):
            with closing(RunLog(directory, saved["rows"] if saved else None)) as log:
                val_loss, best_epoch, stop_reason = fit(
                    model, params, train_set, val_set, torch.Generator().manual_seed(params.seed), log, same, saved
                )
            tqdm.write(f"{stop_reason} after {time.time() - started:.0f} s")
            if not math.isfinite(val_loss):
                raise UserError(f"no epoch finished with a finite validation loss ({stop_reason}); nothing was saved")
            config.update(
                {
                    "val_nll": val_loss,
                    "epoch": best_epoch,
                    "seed": params.seed,
                    "git": git,
                    **{key: getattr(params, key) for key in ("lr", "batch_size", "weight_decay", "epochs")},
                }
            )
            written, verdict = publish(model, config, params, directory)
            tqdm.write(f"{target}: {verdict}")
            report = diagnose(model.eval(), config, data, val_ids, val_loss, directory)
            if not isinstance(model, LSCDE):
                mark_finished(directory)
    return {"checkpoint": target, "written": written, "log_dir": directory, "val_nll": val_loss, **report}


def diagnose_checkpoint(params: PriorParams) -> dict:
    """Diagnostics of the existing checkpoint of `params` on its validation split, in a fresh log directory."""
    set_threads(params.num_threads)
    target = checkpoint_path(params)
    prior = load_prior(target, params.device)
    with closing(load_data(params)) as data:
        if file_md5(data.path) != prior.config["dataset_md5"]:
            tqdm.write(f"warning: {data.path} is not the dataset {target.name} was trained on")
        _, val_ids, _, val_set = sample_sets(params, data)
        directory = fresh_directory(paths.run_dir(run_name(params) + "_diagnose", params.seed, params.debug))
        val_loss = mean_loss(prior.network, val_set, params.test_batch_size)
        report = diagnose(prior.network, prior.config, data, val_ids, val_loss, directory)
    return {"checkpoint": target, "log_dir": directory, **report}
