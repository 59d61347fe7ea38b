"""Gradient training of a prior: Adam, an exact per-row validation average, BatchNorm statistics recomputed on the
whole training set after every epoch, early stopping, the best model kept, non-finite losses stop training.
After every epoch a callback gets the Progress (sfp.priors.training_state saves it), and training continues from
any saved Progress with the same result."""

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from tqdm import tqdm

from sfp.priors.base import PriorModel
from sfp.priors.batchnorm_stats import has_batchnorm, recompute_batchnorm
from sfp.priors.params import PriorParams
from sfp.priors.realnvp import ConditionalRealNVP
from sfp.priors.runlog import RunLog
from sfp.priors.windows import SampleSet


@dataclass
class Progress:
    """Where training stands after `epoch` finished epochs."""

    epoch: int = 0
    best_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict | None = None  # the model's state_dict at best_epoch
    stop_reason: str | None = None  # set by an early or non-finite stop; None while epochs remain


@dataclass
class TrainingResult:
    val_loss: float  # of the best epoch (inf if no epoch finished)
    best_epoch: int  # 0 if no epoch finished
    epochs_run: int
    stop_reason: str


@torch.no_grad()
def mean_loss(model: PriorModel, samples: SampleSet, batch_size: int) -> float:
    """The model's per-sample loss averaged over every row of `samples` (evaluation mode)."""
    was_training = model.training
    model.eval()
    total = sum(model.loss(action, cond).sum().item() for action, cond in samples.batches(batch_size))
    model.train(was_training)
    return total / len(samples)


def train_epoch(
    model: PriorModel,
    optimizer: torch.optim.Optimizer,
    train_set: SampleSet,
    settings: PriorParams,
    generator: torch.Generator,
    log: RunLog,
    epoch: int,
) -> float:
    """One pass over train_set.epoch_size rows; the mean training loss, or the first non-finite batch loss."""
    model.train()
    steps = math.ceil(train_set.epoch_size / settings.batch_size)
    total, rows = 0.0, 0
    bar = tqdm(
        train_set.batches(settings.batch_size, generator),
        total=steps,
        leave=False,
        desc=f"epoch {epoch}/{settings.epochs}",
    )
    for step, (action, cond) in enumerate(bar, start=1):
        loss = model.loss(action, cond).mean()
        value = loss.item()
        if not math.isfinite(value):
            bar.close()
            return value
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total, rows = total + value * len(action), rows + len(action)
        if step % settings.log_interval == 0:
            log.scalar("train/batch_loss", value, (epoch - 1) * steps + step)
            bar.set_postfix(loss=f"{total / rows:.4f}")
    return total / rows


def adam(model: PriorModel, settings: PriorParams) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)


def train_model(
    model: PriorModel,
    train_set: SampleSet,
    val_set: SampleSet,
    settings: PriorParams,
    generator: torch.Generator,
    log: RunLog,
    optimizer: torch.optim.Optimizer | None = None,
    progress: Progress | None = None,
    after_epoch: Callable[[Progress], None] | None = None,
) -> TrainingResult:
    """Train `model` in place from `progress` (a fresh start by default; updated, and passed to after_epoch after
    every epoch and after a stop) and leave the model holding the parameters of its best validation epoch."""
    optimizer = optimizer or adam(model, settings)
    progress = progress or Progress()
    after_epoch = after_epoch or (lambda _: None)
    batchnorm = has_batchnorm(model)
    while progress.stop_reason is None and progress.epoch < settings.epochs:
        epoch = progress.epoch + 1
        train_loss = train_epoch(model, optimizer, train_set, settings, generator, log, epoch)
        val_loss = math.nan
        if math.isfinite(train_loss):
            if batchnorm:
                assert isinstance(model, ConditionalRealNVP)  # the only model with BatchNorm layers
                recompute_batchnorm(model, train_set, generator)
            val_loss = mean_loss(model, val_set, settings.test_batch_size)
        if not math.isfinite(train_loss) or not math.isfinite(val_loss):
            which, value = ("training", train_loss) if not math.isfinite(train_loss) else ("validation", val_loss)
            progress.stop_reason = f"stopped: the {which} loss became {value} in epoch {epoch}; lower --lr"
            after_epoch(progress)
            break
        progress.epoch = epoch
        if val_loss < progress.best_loss:
            progress.best_loss, progress.best_epoch = val_loss, epoch
            progress.best_state = copy.deepcopy(model.state_dict())
        log.row({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "best_val_loss": progress.best_loss})
        if epoch - progress.best_epoch >= settings.patience:
            progress.stop_reason = f"early stop: no validation improvement in --patience {settings.patience} epochs"
        after_epoch(progress)
    if progress.best_state is not None:
        model.load_state_dict(progress.best_state)
    return TrainingResult(
        progress.best_loss,
        progress.best_epoch,
        progress.epoch,
        progress.stop_reason or f"reached --epochs {settings.epochs}",
    )
