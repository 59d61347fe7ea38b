"""SFP: state-free priors for exploration in off-policy RL (Bagatella, Christen, Hilliges, TMLR 2022)."""
