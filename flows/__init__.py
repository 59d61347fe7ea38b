"""Stage 2 of the pipeline: priors over expert actions, p(a_t | condition), trained by `flows/train.py`.

Models (flows.factory.MODELS): a conditional RealNVP ("flow", the SFP prior), a deterministic regressor, a
Gaussian, a conditional VAE and least-squares conditional density estimation (LSCDE). The conditions
(flows.windows.MODES) are the previous actions ("action", the state-free prior), the state, state+goal,
action+state, or an image. `sfp.prior.load_prior` loads any checkpoint for RL.
"""
