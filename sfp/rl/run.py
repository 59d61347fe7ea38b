"""One downstream-RL run from its checked parameters: build, claim the log directory, train, report."""
from tqdm import tqdm

from sfp import paths
from sfp.provenance import write_provenance
from sfp.rl.build import build_experiment
from sfp.rl.logger import EpochLogger, claim_run_dir
from sfp.rl.tracking import require_tracking, tracking_sinks
from sfp.rl.trainer import Trainer
from sfp.runtime import seed_everything, set_threads


def run(params, notes: list[str]) -> Trainer:
    require_tracking(params)  # --track True without wandb installed: one line, before any work
    threads = set_threads(params.num_threads)
    seed_everything(params.seed)  # before the networks are initialised
    experiment = build_experiment(params)  # every missing file or bad combination fails here, before any step
    metaworld_class = getattr(experiment.env.unwrapped, "metaworld_class", None)
    if metaworld_class:
        notes.append(f"{params.env} runs the Meta-World class {metaworld_class}")
    directory = claim_run_dir(paths.run_dir(params.exp_name, params.seed, params.debug), params, params.resume)
    logger = EpochLogger(directory, sinks=tracking_sinks(params, directory))
    logger.save_config(params)
    write_provenance(directory, experiment.files)
    for note in notes + [f"torch threads: {threads}", f"logs: {directory}"]:
        tqdm.write(f"note: {note}")
    trainer = Trainer(experiment, logger, directory)
    if params.resume:
        trainer.restore()
    else:
        trainer.start()
    try:
        trainer.train()
    finally:
        logger.close()
        experiment.env.close()
        experiment.test_env.close()
    if trainer.finished:
        tqdm.write(f"done: progress.txt, tensorboard events and checkpoint.pt in {directory}")
    return trainer
