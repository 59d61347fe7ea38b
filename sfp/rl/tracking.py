"""Experiment tracking with Weights & Biases (`--track True`, the optional extra `sfp[track]`).

A tracked run is one W&B run named after the run directory, in project `wandb_project` (entity `wandb_entity`,
group `wandb_group`), with the effective parameters as its config. Every progress.txt row is logged against
`TotalEnvInteracts`, and every new video in <run>/videos/*.mp4 is logged with the row of the epoch that wrote it.
W&B's own files go to <run>/wandb/ (never the working directory); <run>/wandb_run.json keeps the W&B run id and the
last step logged, so `--resume True` continues the same W&B run without logging an epoch twice.

Use:
    require_tracking(params)                                   # before any work: is wandb installed?
    logger = EpochLogger(directory, sinks=tracking_sinks(params, directory))   # logger.log_epoch -> sink.log_row
"""

import json
from pathlib import Path

from sfp.errors import UserError
from sfp.paths import write_json

STATE_FILE = "wandb_run.json"
STEP = "TotalEnvInteracts"
VIDEO_KEY = "video"


def require_tracking(params) -> None:
    """UserError (one line) when --track True but wandb is not installed."""
    if not params.track:
        return
    try:
        import wandb  # noqa: F401
    except ImportError:
        raise UserError(
            '--track True needs Weights & Biases: pip install "sfp[track]" '
            "(or pip install -r requirements-track.txt), or drop --track"
        ) from None


def tracking_sinks(params, directory: Path) -> list:
    """The logger sinks of this run: [WandbTracker] with --track True, else []."""
    return [WandbTracker(params, directory)] if params.track else []


class WandbTracker:
    """One W&B run mirroring one run directory (see the module docstring)."""

    def __init__(self, params, directory: Path):
        import wandb

        self.directory = Path(directory)
        self.state_path = self.directory / STATE_FILE
        state = json.loads(self.state_path.read_text()) if self.state_path.exists() else {}
        self.logged_step = state.get("step", -1)  # rows at or below it were logged by an earlier session
        self.videos_dir = self.directory / "videos"
        self.seen_videos = set(self._videos())  # videos of earlier sessions were logged by them
        config = json.loads(json.dumps(params.flag_values(), default=str))
        try:
            self.run = wandb.init(
                project=params.wandb_project,
                entity=params.wandb_entity or None,
                group=params.wandb_group or None,
                name=self.directory.name,
                dir=str(self.directory),
                config=config,
                id=state.get("id"),
                resume="allow",
                job_type="train",
            )
        except wandb.errors.Error as err:
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UserError(
                f"W&B did not start ({message}): run `wandb login`, set WANDB_MODE=offline, or drop --track"
            ) from None
        self.run.define_metric(STEP)
        self.run.define_metric("*", step_metric=STEP)
        self._save_state()

    def log_row(self, row: dict[str, float], step: int) -> None:
        """Log one progress.txt row (and the videos written since the last row) at `step` environment steps."""
        if step <= self.logged_step:  # a resumed run recomputes the epochs after its checkpoint
            return
        self.run.log({**row, STEP: step, **self._new_videos()})
        self.logged_step = step
        self._save_state()

    def close(self) -> None:
        """Log the videos written after the last row, then finish the W&B run."""
        videos = self._new_videos()
        if videos:
            self.run.log({STEP: max(self.logged_step, 0), **videos})
        self.run.finish()

    def _videos(self) -> list[Path]:
        return sorted(self.videos_dir.glob("*.mp4")) if self.videos_dir.is_dir() else []

    def _new_videos(self) -> dict:
        """{VIDEO_KEY: the mp4 files not logged yet} (one wandb.Video, or a list of them), or {}."""
        import wandb

        new = [path for path in self._videos() if path not in self.seen_videos]
        self.seen_videos.update(new)
        videos = [wandb.Video(str(path), caption=path.stem, format="mp4") for path in new]
        return {VIDEO_KEY: videos[0] if len(videos) == 1 else videos} if videos else {}

    def _save_state(self) -> None:
        write_json(self.state_path, {"id": self.run.id, "step": self.logged_step})
