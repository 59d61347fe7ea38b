"""Small, fast offscreen images of a MuJoCo scene (for visual RL, image datasets and videos).

Import this module before anything imports mujoco: it selects the headless EGL backend
(`MUJOCO_GL=egl`, software EGL works on CPU-only machines) unless the user already chose one.

Speed: at 64x64 the default scene (shadows, reflections, skybox, 4x multisampling) renders at a few
frames per second in software; with them off it is more than ten times faster.
"""

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import mujoco  # noqa: E402  (the backend must be chosen before this import)
import numpy as np  # noqa: E402

from sfp.errors import UserError  # noqa: E402

_COSTLY_SCENE_FLAGS = (
    mujoco.mjtRndFlag.mjRND_SHADOW,
    mujoco.mjtRndFlag.mjRND_REFLECTION,
    mujoco.mjtRndFlag.mjRND_SKYBOX,
)


def without_costly_effects(scene: mujoco.MjvScene) -> None:
    """Turn shadows, reflections and the skybox off in `scene` (with offsamples = 0: ~10x faster in software)."""
    for flag in _COSTLY_SCENE_FLAGS:
        scene.flags[flag] = False


class OffscreenRenderer:
    """Renders (height, width, 3) uint8 RGB images of `model` from one named camera.

    flip_vertical: turn the image upside down (Meta-World's 'corner' cameras render upside down).
    Call `close()` when done (or use it as a context manager): an EGL context left open complains at exit.
    Note: sets `model.vis.quality.offsamples = 0` (no multisampling) on the model it is given.
    """

    def __init__(
        self, model: mujoco.MjModel, camera: str, width: int = 64, height: int = 64, flip_vertical: bool = False
    ):
        model.vis.quality.offsamples = 0
        try:
            self._renderer = mujoco.Renderer(model, height=height, width=width)
        except mujoco.FatalError as error:
            raise UserError(
                f"offscreen rendering failed ({error}): start Python with MUJOCO_GL=egl "
                "(or osmesa) set in the shell, e.g. `export MUJOCO_GL=egl`"
            ) from error
        without_costly_effects(self._renderer.scene)
        self.camera = camera
        self.flip_vertical = flip_vertical

    def render(self, data: mujoco.MjData) -> np.ndarray:
        """(height, width, 3) uint8 image of the state in `data`."""
        self._renderer.update_scene(data, camera=self.camera)
        image = self._renderer.render()
        return np.ascontiguousarray(image[::-1]) if self.flip_vertical else image

    def close(self) -> None:
        if getattr(self, "_renderer", None) is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def channels_first(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (3, H, W), same dtype."""
    return np.ascontiguousarray(image.transpose(2, 0, 1))
