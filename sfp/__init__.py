"""SFP: state-free priors for exploration in off-policy RL (Bagatella, Christen, Hilliges, TMLR 2022)."""
import os

# Offscreen MuJoCo rendering must use EGL on machines without a display; it has to be chosen before mujoco is
# first imported, so it is set here (a user's own MUJOCO_GL choice wins).
os.environ.setdefault("MUJOCO_GL", "egl")
