"""Videos of episodes: frames of an environment, a status strip with the step and the success, MP4 files.

Frames per family: the point maze's 64x64 canvas scaled up 4x (256x256), Meta-World's 'corner' camera at 256x256,
locomotion through gymnasium's own MuJoCo renderer and default camera (480x480; shadows, reflections and
multisampling off as in sfp.envs.rendering: ~0.03 s instead of ~0.3 s a frame in software). A 16-pixel strip is
stacked on top of every frame: the step number in white digits on the left, and on the right a square that is dark
red until the episode has succeeded and green from then on. The file's suffix picks the format (VIDEO_SUFFIXES):
.mp4 is imageio's ffmpeg writer (H.264 in an MP4 container, the encoder binary comes with the imageio-ffmpeg wheel),
.gif imageio's Pillow writer (an animated GIF, looping). The file is written under a temporary name and renamed when
complete.
"""

from pathlib import Path
from typing import TYPE_CHECKING, cast

import gymnasium
import numpy as np

from sfp.errors import UserError
from sfp.paths import atomic_write_path

if TYPE_CHECKING:  # the family's environment classes, imported when a renderer is made
    from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

    from sfp.envs.locomotion import LocomotionEnv
    from sfp.envs.maze import MazeEnv
    from sfp.envs.rendering import OffscreenRenderer
    from sfp.envs.sawyer import SawyerEnv

FPS = 30
VIDEO_SUFFIXES = (".mp4", ".gif")
MAZE_SCALE = 4  # 64 px canvas -> 256 px
SAWYER_SIZE = 256
STRIP = 16  # status strip height in pixels; every frame size stays a multiple of 16 (H.264 macro blocks)
DIGIT_SCALE = 2
SUCCESS_COLOUR, PENDING_COLOUR = (0, 200, 0), (120, 0, 0)
# 3x5 bitmaps of the digits 0-9, one string of 15 pixels per digit, row by row
DIGITS = (
    "111101101101111",
    "010110010010111",
    "111001111100111",
    "111001111001111",
    "101101111001001",
    "111100111001111",
    "111100111101111",
    "111001001001001",
    "111101111101111",
    "111101111001111",
)
GLYPHS = np.array([[int(c) for c in bits] for bits in DIGITS], bool).reshape(10, 5, 3)


class FrameRenderer:
    """(H, W, 3) uint8 pictures of the current state of `env`'s innermost environment (family: sfp.envs.env_family:
    'maze', 'sawyer', 'locomotion', or 'gym': a Gymnasium MuJoCo task's own renderer, e.g. Gymnasium-Robotics' point
    mazes and Fetch arms, 480 x 480)."""

    _renderer: "OffscreenRenderer | None"  # Meta-World's camera (sawyer)

    def __init__(self, env: gymnasium.Env, family: str):
        self.base, self.family = env.unwrapped, family
        self._renderer = None
        self._gym_renderer = gym_renderer(env) if family == "gym" else None
        if family == "sawyer":
            from sfp.envs.rendering import OffscreenRenderer
            from sfp.envs.sawyer import CAMERA

            self._renderer = OffscreenRenderer(
                self._sawyer().metaworld_env.model, CAMERA, SAWYER_SIZE, SAWYER_SIZE, flip_vertical=True
            )
        elif family == "locomotion":  # gymnasium's renderer and default camera, without the costly effects
            from sfp.envs.rendering import without_costly_effects

            sim = self._mujoco_sim()
            sim.model.vis.quality.offsamples = 0
            without_costly_effects(sim.mujoco_renderer._get_viewer("rgb_array").scn)

    # gymnasium types `unwrapped` as Env: the family's class, as sfp.envs.make_env builds it
    def _sawyer(self) -> "SawyerEnv":
        return cast("SawyerEnv", self.base)

    def _mujoco_sim(self) -> "MujocoEnv":
        """The locomotion env's gymnasium MuJoCo simulator."""
        return cast("MujocoEnv", cast("LocomotionEnv", self.base).sim.unwrapped)

    def render(self) -> np.ndarray:
        if self.family == "maze":
            image = cast("MazeEnv", self.base).frame().transpose(1, 2, 0)  # (64, 64, 3)
            return np.repeat(np.repeat(image, MAZE_SCALE, axis=0), MAZE_SCALE, axis=1)
        if self.family == "sawyer":
            assert self._renderer is not None  # made by __init__ for sawyer
            return self._renderer.render(self._sawyer().metaworld_env.data)
        if self._gym_renderer is not None:
            return np.asarray(self._gym_renderer.render("rgb_array"), np.uint8)
        return np.asarray(self._mujoco_sim().mujoco_renderer.render("rgb_array"), np.uint8)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        if self._gym_renderer is not None:
            self._gym_renderer.close()
            self._gym_renderer = None


def gym_renderer(env: gymnasium.Env):
    """The MuJoCo renderer of a Gymnasium task (its own, or its point's in a Gymnasium-Robotics maze); a UserError
    for a task without one."""
    base = env.unwrapped
    renderer = getattr(base, "mujoco_renderer", None) or getattr(
        getattr(base, "point_env", None), "mujoco_renderer", None
    )
    if renderer is None:
        name = env.spec.id if env.spec else type(base).__name__
        raise UserError(f"{name} has no MuJoCo renderer to record videos with: drop --video / --video_freq")
    return renderer


def draw_number(strip: np.ndarray, number: int, left: int = 4, top: int = 3) -> None:
    """Paint the decimal digits of `number` in white into `strip` (rows, cols, 3), in place."""
    for position, character in enumerate(str(int(number))):
        glyph = np.kron(GLYPHS[int(character)], np.ones((DIGIT_SCALE, DIGIT_SCALE), bool))
        col = left + position * 4 * DIGIT_SCALE
        region = strip[top : top + glyph.shape[0], col : col + glyph.shape[1]]
        region[glyph[: region.shape[0], : region.shape[1]]] = 255


def with_status(image: np.ndarray, step: int, success: bool) -> np.ndarray:
    """(H, W, 3) -> (H + STRIP, W, 3): the status strip (step digits, success square) stacked on top."""
    strip = np.zeros((STRIP, image.shape[1], 3), np.uint8)
    draw_number(strip, step)
    strip[2 : STRIP - 2, -STRIP + 2 : -2] = SUCCESS_COLOUR if success else PENDING_COLOUR
    return np.concatenate([strip, image], axis=0)


class VideoFile:
    """Streams frames of one environment into an MP4 or GIF at `path`, by its suffix (written as a temporary file,
    renamed by close()).

    Use as a context manager; `capture(step, success)` adds one frame of the current state. An exception inside the
    block leaves no file behind.
    """

    def __init__(self, path: str | Path, env: gymnasium.Env, family: str, fps: int = FPS):
        import imageio.v2 as imageio

        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_SUFFIXES:
            raise UserError(f"{self.path}: a video is written as {' or '.join(VIDEO_SUFFIXES)}; end its name so")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = atomic_write_path(self.path).with_suffix(".tmp" + suffix)
        self._renderer = FrameRenderer(env, family)
        if suffix == ".gif":
            self._writer = imageio.get_writer(self._tmp, format="GIF", mode="I", duration=1000 / fps, loop=0)
        else:
            self._writer = imageio.get_writer(
                self._tmp,
                format="FFMPEG",
                mode="I",
                fps=fps,
                codec="libx264",
                macro_block_size=STRIP,
                output_params=["-f", "mp4"],
            )
        self.frames = 0

    def capture(self, step: int, success: bool) -> None:
        self._writer.append_data(with_status(self._renderer.render(), step, success))
        self.frames += 1

    def close(self, keep: bool = True) -> Path:
        """Finish the file and rename it to `path` (with `keep` and at least one frame); else remove it."""
        try:
            self._writer.close()
            self._renderer.close()
            if keep and self.frames > 0:
                self._tmp.replace(self.path)
        finally:
            self._tmp.unlink(missing_ok=True)
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *rest) -> None:
        self.close(keep=exc_type is None)
