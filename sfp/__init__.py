"""SFP: state-free priors for exploration in off-policy RL (Bagatella, Christen, Hilliges, TMLR 2022).

Importing the package registers every environment `main.py --env` accepts with gymnasium as `sfp/<name>`, so
`gymnasium.make("sfp:sfp/corridor-v1")` works from a bare interpreter; it changes no other global state (MuJoCo's
offscreen backend is chosen in sfp.envs.rendering, which the MuJoCo environments import before mujoco loads).
"""

from sfp.envs import register_all

register_all()
