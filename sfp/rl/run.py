"""One downstream-RL run from its checked parameters: build, lock and claim the log directory, train, report.

The whole run holds the directory's lock (sfp.run_lock), so a second process on the same run directory stops
with status 75 before writing anything. The directory is checked before the start-up work (a file in its place, a
log folder that cannot be written, a run already there), and a run that fails before its first result (row or
checkpoint) removes the directory it made, so the corrected command is not refused. SIGINT/SIGTERM are deferred
from the start (sfp.rl.trainer.deferred_interrupt): the run saves a checkpoint at the next step and returns with
`trainer.exit_status` 130/143.
"""

from pathlib import Path

from tqdm import tqdm

from sfp import paths
from sfp.event_files import EVENT_FILE_PREFIX
from sfp.provenance import PROVENANCE_FILE, write_provenance
from sfp.rl.build import build_experiment
from sfp.rl.checkpoint import CHECKPOINT_FILE
from sfp.rl.logger import CONFIG_FILE, EpochLogger, check_run_claim, claim_run_dir
from sfp.rl.tracking import STATE_FILE, require_tracking, tracking_sinks
from sfp.rl.trainer import NonFiniteLoss, Trainer, deferred_interrupt
from sfp.run_lock import hold_run_lock, refuse_if_held
from sfp.runtime import seed_everything, set_threads

START_UP_FILES = (CONFIG_FILE, PROVENANCE_FILE, STATE_FILE, "wandb")  # wandb: W&B's own folder (--track True)


def run(params, notes: list[str]) -> Trainer:
    with deferred_interrupt() as interrupt:
        require_tracking(params)  # --track True without wandb installed: one line, before any work
        directory = paths.check_run_dir(paths.run_dir(params.exp_name, params.seed, params.debug))
        refuse_if_held(directory)  # a live writer: status 75, as hold_run_lock below
        check_run_claim(directory, params, params.resume)
        threads = set_threads(params.num_threads)
        seed_everything(params.seed)  # before the networks are initialised
        experiment = build_experiment(params)  # every missing file or bad combination fails here, before any step
        if interrupt["signal"] is not None:
            tqdm.write("stopped before the run started; nothing was written")
            raise SystemExit(128 + interrupt["signal"])
        metaworld_class = getattr(experiment.env.unwrapped, "metaworld_class", None)
        if metaworld_class:
            notes.append(f"{params.env} runs the Meta-World class {metaworld_class}")
        try:
            with hold_run_lock(directory, start_up_file):
                return _run_locked(
                    params, notes, experiment, claim_run_dir(directory, params, params.resume), threads, interrupt
                )
        except NonFiniteLoss as err:
            raise NonFiniteLoss(
                f"{err}; training stopped: {what_was_kept(directory)} (try a lower lr or clip_gradients=True)"
            ) from None


def what_was_kept(directory: Path) -> str:
    """What a run that stopped keeps in its directory: its last checkpoint, the logs of a run without one, or
    nothing (hold_run_lock removed a directory that held only start-up files)."""
    if (directory / CHECKPOINT_FILE).exists():
        return f"the last checkpoint in {directory} was kept"
    if directory.exists():
        return f"it had saved no checkpoint yet (nothing to resume); its logs are in {directory}"
    return f"it had saved nothing yet, and its directory {directory} was removed"


def start_up_file(name: str) -> bool:
    """What a start writes into its directory before its first row or checkpoint (removed if it fails there)."""
    return name in START_UP_FILES or name.startswith(EVENT_FILE_PREFIX)


def _run_locked(params, notes, experiment, directory, threads, interrupt) -> Trainer:
    """The run in its claimed, locked directory."""
    resume = params.resume and (directory / CHECKPOINT_FILE).exists()
    if params.resume and not resume:
        notes.append(
            f"no checkpoint in {directory} yet (it stopped before its first save): the run starts again "
            f"from its beginning, with the same results"
        )
    logger = EpochLogger(directory, sinks=tracking_sinks(params, directory))
    logger.save_config(params)
    write_provenance(directory, experiment.files)
    for note in notes + [f"torch threads: {threads}", f"logs: {directory}"]:
        tqdm.write(f"note: {note}")
    trainer = Trainer(experiment, logger, directory)
    try:
        if resume:
            trainer.restore()
        else:
            trainer.start()
        trainer.train(interrupt)
    finally:
        logger.close()
        experiment.env.close()
        experiment.test_env.close()
    if trainer.finished:
        tqdm.write(f"done: progress.txt, tensorboard events and checkpoint.pt in {directory}")
    return trainer
