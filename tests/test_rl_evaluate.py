"""sfp-evaluate: rebuild tiny trained runs (SFP with a real tiny prior, SAC), evaluate, watch, and fail clearly."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium
import imageio.v2 as imageio
import numpy as np
import pytest
import torch

from sfp import paths
from sfp.commands.evaluate import main as evaluate_main
from sfp.data.synthetic import write_persistent_dataset
from sfp.priors.params import parse_train_params
from sfp.priors.training import train_prior
from sfp.rl.action_noise import EpisodeNoise
from sfp.rl.action_windows import InitialWindows
from sfp.rl.build import flat_observation
from sfp.rl.evaluation import behaviour_noise, bootstrap_interval, episode_seeds, load_run
from sfp.rl.params import load_rl_params
from sfp.rl.rollout import run_episode
from sfp.rl.run import run
from sfp.rl.video import STRIP, with_status
from tests.tiny_runs import tiny_prior, tiny_run

TINY_RUN = tiny_run(epochs=2, max_ep_len=40)
TINY_PRIOR = tiny_prior()
TIME_COLUMNS = ("Time", "SPS", "UpdatesPerSec")


def _use_dirs(monkeypatch, root):
    for variable, name in (("D4RL_DATASET_DIR", "datasets"), ("SFP_FLOW_DIR", "flows"), ("SFP_LOG_DIR", "logs")):
        monkeypatch.setenv(variable, str(root / name))


def _train(extra):
    params, notes = load_rl_params(TINY_RUN + extra)
    run(params, notes)
    return paths.run_dir(params.exp_name, params.seed)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A maze dataset, a tiny action prior, and three trained runs: SFP (sfp_s0), SAC (sac_s0), pink (pink_s0)."""
    root = tmp_path_factory.mktemp("evaluate")
    with pytest.MonkeyPatch.context() as patch:
        _use_dirs(patch, root)
        paths.dataset_dir(create=True)
        write_persistent_dataset(paths.dataset_file("maze"), 12, 60)
        train_prior(parse_train_params(TINY_PRIOR))
        _train(["--exp_name", "sfp", "--use_prior", "True", "--alpha", "0.01"])
        _train(["--exp_name", "sac"])
        _train(["--exp_name", "pink", "--action_noise", "pink", "--noise_beta", "2"])
    return root


@pytest.fixture
def dirs(root, monkeypatch):
    _use_dirs(monkeypatch, root)
    return root


def _evaluate(capsys, *argv):
    report = evaluate_main([str(a) for a in argv])
    return report, capsys.readouterr().out


def _error(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        evaluate_main([str(a) for a in argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_behaviour_report_agrees_with_table_and_episodes(dirs, capsys):
    run_dir = dirs / "logs" / "sfp_s0"
    report, out = _evaluate(capsys, run_dir, "--episodes", 6, "--policy", "behaviour", "--seed", 7)
    saved = json.loads((run_dir / "eval_behaviour_7.json").read_text())
    assert saved == json.loads(json.dumps(report))
    episodes = saved["per_episode"]
    assert len(episodes) == 6 and [e["seed"] for e in episodes] == episode_seeds(7, 6)
    assert saved["success_rate"] == pytest.approx(np.mean([e["success"] for e in episodes]))
    assert saved["mean_return"] == pytest.approx(np.mean([e["ret"] for e in episodes]))
    assert saved["mean_length"] == pytest.approx(np.mean([e["length"] for e in episodes]))
    steps = sum(e["length"] for e in episodes)
    assert saved["prior_share"] == pytest.approx(sum(e["prior_actions"] for e in episodes) / steps)
    # lambda starts at 0.95 and trained for a few updates: the mixture acts mostly, not only, with the prior
    assert 0.5 < saved["prior_share"] < 1.0
    low, high = saved["success_ci95"]
    assert 0.0 <= low <= saved["success_rate"] <= high <= 1.0
    assert saved["env_steps"] == 240 and saved["checkpoint"] == str(run_dir / "checkpoint.pt")
    assert f"prior share of actions  {saved['prior_share']:.3f}" in out
    assert f"mean episode length     {saved['mean_length']:.1f}" in out
    assert f"mean return             {saved['mean_return']:.3f}" in out
    assert f"success rate            {saved['success_rate']:.3f}  [{low:.3f}, {high:.3f}]" in out


def test_same_seed_same_numbers_and_prefix_stable(dirs, capsys):
    run_dir = dirs / "logs" / "sfp_s0"
    first, _ = _evaluate(capsys, run_dir, "--episodes", 4, "--policy", "behaviour", "--seed", 11)
    again, out = _evaluate(capsys, run_dir, "--episodes", 4, "--policy", "behaviour", "--seed", 11)
    assert again["per_episode"] == first["per_episode"]
    assert "replacing the earlier eval_behaviour_11.json" in out
    longer, _ = _evaluate(capsys, run_dir, "--episodes", 6, "--policy", "behaviour", "--seed", 11)
    assert longer["per_episode"][:4] == first["per_episode"]
    other, _ = _evaluate(capsys, run_dir, "--episodes", 4, "--policy", "behaviour", "--seed", 12)
    assert [e["seed"] for e in other["per_episode"]] != [e["seed"] for e in first["per_episode"]]
    assert {p.name for p in run_dir.glob("eval_*.json")} >= {"eval_behaviour_11.json", "eval_behaviour_12.json"}


def test_deterministic_policy_never_uses_the_prior_and_is_the_checkpoint(dirs, capsys):
    run_dir = dirs / "logs" / "sfp_s0"
    report, out = _evaluate(capsys, run_dir, "--episodes", 3)
    assert report["prior_share"] is None and "prior share" not in out
    assert all(e["prior_actions"] == 0 for e in report["per_episode"])
    loaded = load_run(run_dir).experiment.agent.state_dict()["ac"]
    saved = torch.load(run_dir / "checkpoint.pt", weights_only=False)["agent"]["ac"]
    assert loaded.keys() == saved.keys() and all(torch.equal(loaded[k], saved[k]) for k in saved)
    sac, _ = _evaluate(capsys, dirs / "logs" / "sac_s0", "--episodes", 2, "--policy", "behaviour")
    assert sac["prior_share"] == 0.0  # plain SAC's behaviour is the policy's sample


class _Recorder(gymnasium.Wrapper):
    """Keeps the observation each action was chosen from."""

    def reset(self, **kwargs):
        self.observations, self.actions = [], []
        obs, info = self.env.reset(**kwargs)
        self.last = obs
        return obs, info

    def step(self, action):
        self.observations.append(self.last)
        self.actions.append(np.array(action))
        self.last, *rest = self.env.step(action)
        return (self.last, *rest)


def test_behaviour_policy_of_a_colored_noise_run_acts_with_its_episode_sequence(dirs):
    x = load_run(dirs / "logs" / "pink_s0").experiment
    act_dim = x.test_env.action_space.shape[0]
    assert behaviour_noise(x.params, "deterministic", act_dim, 5) is None
    assert behaviour_noise(load_run(dirs / "logs" / "sac_s0").experiment.params, "behaviour", act_dim, 5) is None
    env = _Recorder(x.test_env)
    windows = InitialWindows(None, x.params.prior_n_step, act_dim, x.params.rand_init_cond, 5)
    result = run_episode(
        env,
        x.agent,
        "behaviour",
        5,
        x.params.max_ep_len,
        windows,
        noise=behaviour_noise(x.params, "behaviour", act_dim, 5),
    )
    assert result.length == len(env.actions) > 10
    expected = EpisodeNoise(2.0, act_dim, x.params.max_ep_len, 5)
    expected.reset()
    epsilons = np.array([expected.sample() for _ in env.actions])
    window = np.zeros(x.params.prior_n_step * act_dim, np.float32)
    for obs, action, eps in zip(env.observations, env.actions, epsilons):
        redone, _ = x.agent.act(flat_observation(obs), window, noise=eps)
        np.testing.assert_allclose(action, redone, atol=1e-6)
    # red noise (beta 2) is strongly correlated from step to step, unlike the i.i.d. noise of white runs
    assert np.corrcoef(epsilons[:-1, 0], epsilons[1:, 0])[0, 1] > 0.8


def test_bootstrap_interval_hand_cases():
    assert bootstrap_interval(np.ones(8), seed=0) == (1.0, 1.0)
    low, high = bootstrap_interval(np.tile([0.0, 1.0], 50), seed=0)  # mean 0.5, standard error 0.05
    assert low == pytest.approx(0.5 - 1.96 * 0.05, abs=0.02) and high == pytest.approx(0.5 + 1.96 * 0.05, abs=0.02)


def _frames(path):
    with imageio.get_reader(path, format="FFMPEG") as reader:
        return reader.get_meta_data(), [frame for frame in reader]


def test_video_is_an_mp4_with_one_frame_per_step(dirs, capsys, tmp_path):
    out_file = tmp_path / "watch.mp4"
    report, out = _evaluate(
        capsys,
        dirs / "logs" / "sfp_s0",
        "--episodes",
        3,
        "--video",
        out_file,
        "--video_episodes",
        2,
        "--policy",
        "behaviour",
    )
    assert "replacing" not in out
    head = out_file.read_bytes()[:12]
    assert head[4:8] == b"ftyp"  # an ISO base media (MP4) container
    meta, frames = _frames(out_file)
    assert meta["codec"] == "h264"
    expected = sum(e["length"] + 1 for e in report["per_episode"][:2])  # reset frame + one per step
    assert report["video_frames"] == expected == len(frames)
    assert frames[0].shape == (256 + STRIP, 256, 3)  # the 64 px maze scaled 4x, under the status strip
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    _, out = _evaluate(capsys, dirs / "logs" / "sfp_s0", "--episodes", 1, "--video", out_file)
    assert f"replacing {out_file}" in out and len(_frames(out_file)[1]) == report["per_episode"][0]["length"] + 1


def test_status_strip_digits_and_success_square():
    image = np.zeros((32, 48, 3), np.uint8)
    pending, done = with_status(image, 7, False), with_status(image, 7, True)
    assert pending.shape == (32 + STRIP, 48, 3)
    assert tuple(pending[STRIP // 2, -STRIP // 2]) == (120, 0, 0) and tuple(done[STRIP // 2, -STRIP // 2]) == (
        0,
        200,
        0,
    )
    digit = pending[3:13, 4:10, 0] > 0  # "7" at 2x: top bar, then the right column only
    assert digit[0].all() and digit[2:, 4:].all() and not digit[2:, :4].any()


def test_video_freq_records_the_right_epochs_without_changing_training(dirs):
    with_video = _train(["--exp_name", "video", "--epochs", "3", "--video_freq", "2"])
    plain = _train(["--exp_name", "novideo", "--epochs", "3"])
    assert sorted(p.name for p in (with_video / "videos").iterdir()) == ["epoch_2.mp4"]
    assert not (plain / "videos").exists()
    meta, frames = _frames(with_video / "videos" / "epoch_2.mp4")
    header, *rows = [line.split("\t") for line in (with_video / "progress.txt").read_text().splitlines()]
    test_length = float(rows[1][header.index("TestEpLen")])
    assert len(frames) == test_length + 1 and frames[0].shape == (256 + STRIP, 256, 3)

    def trained_columns(directory):
        header, *rows = [line.split("\t") for line in (directory / "progress.txt").read_text().splitlines()]
        keep = [i for i, name in enumerate(header) if name not in TIME_COLUMNS]
        return [[row[i] for i in keep] for row in rows]

    assert trained_columns(with_video) == trained_columns(plain)


def test_errors_are_one_line(dirs, capsys, tmp_path):
    assert "no run directory" in _error(capsys, tmp_path / "nowhere")
    assert "unknown policy 'greedy'" in _error(capsys, dirs / "logs" / "sac_s0", "--policy", "greedy")

    copy = tmp_path / "copy_s0"
    shutil.copytree(dirs / "logs" / "sac_s0", copy)
    checkpoint = copy / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])  # truncated
    assert "is damaged" in _error(capsys, copy)
    checkpoint.unlink()
    assert "no checkpoint at" in _error(capsys, copy)
    a_prior = dirs / "flows" / "maze_primitive_flow_action_1.pt"  # a torch file, but no run checkpoint
    assert "is not a run checkpoint" in _error(capsys, copy, "--checkpoint", a_prior)


@pytest.mark.parametrize(
    "change, fragment",
    [
        (lambda config: {key: value for key, value in config.items() if key != "env"}, "names no env"),
        (lambda config: list(config), "is not a JSON object"),
    ],
)
def test_a_damaged_config_is_named_not_the_checkpoint(dirs, capsys, tmp_path, change, fragment):
    copy = tmp_path / "copy_s0"
    shutil.copytree(dirs / "logs" / "sac_s0", copy)
    config = copy / "config.json"
    config.write_text(json.dumps(change(json.loads(config.read_text()))))
    assert f"{config} is damaged: it {fragment}" in _error(capsys, copy)


def test_moved_or_changed_prior(dirs, capsys, tmp_path, monkeypatch):
    run_dir = dirs / "logs" / "sfp_s0"
    prior = next((dirs / "flows").glob("maze_primitive_flow_action_1.pt"))
    monkeypatch.setenv("SFP_FLOW_DIR", str(tmp_path / "empty"))  # the run's prior is not where it now looks
    err = _error(capsys, run_dir)
    assert f"set SFP_FLOW_DIR={prior.parent}" in err
    original = prior.read_bytes()
    try:
        prior.unlink()  # gone from its recorded place too
        monkeypatch.setenv("SFP_FLOW_DIR", str(dirs / "flows"))
        assert "move it back or set SFP_FLOW_DIR" in _error(capsys, run_dir)
        monkeypatch.setenv("SFP_FLOW_DIR", str(tmp_path / "retrained"))
        train_prior(parse_train_params(TINY_PRIOR + ["--seed", "5"]))  # same name, other weights
        report, out = _evaluate(capsys, run_dir, "--episodes", 1)
        assert "is not the prior this run was trained with" in out
        assert any("md5" in note for note in report["notes"])
    finally:
        prior.write_bytes(original)


def test_script_exits_with_one_line(tmp_path):
    script = Path(__file__).resolve().parent.parent / "scripts" / "evaluate.py"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "missing_s0")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2 and done.stderr.strip().startswith("error: no run directory")
    assert len(done.stderr.strip().splitlines()) == 1
