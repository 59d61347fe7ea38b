"""Replay buffer: n-step sums, HER relabelling, episode boundaries, clipping, PER, checkpoints, images."""

import numpy as np
import pytest
from scipy import stats

from sfp.errors import UserError
from sfp.rl.replay import ReplayBuffer, ReplayEpisode
from sfp.rl.sum_tree import SumTree

ACT_DIM = 1


def near(ag, dg):
    """1-D goal reward used by the tests: 1 when |ag - dg| < 0.5. (M, 1), (M, 1) -> (M,) float32."""
    return (np.abs(ag - dg)[:, 0] < 0.5).astype(np.float32)


def episode(length, episode_id=0, goal=None, rew=None, terminal_at=None, obs_shape=(1,)):
    """An episode whose values identify it: observation o_j = 1000*id + j, achieved goal ag_j = 1000*id + j,
    window_j = [j, -j], act_j = j. `goal` makes it goal-conditioned with a constant desired goal."""
    positions = np.arange(length + 1, dtype=np.float32)
    marker = 1000.0 * episode_id + positions
    terminal = np.zeros(length, bool)
    if terminal_at is not None:
        terminal[terminal_at] = True
    return ReplayEpisode(
        observation=np.broadcast_to(marker.reshape(-1, *[1] * len(obs_shape)), (length + 1, *obs_shape)).copy(),
        act=positions[:length, None].copy(),
        rew=np.zeros(length, np.float32) if rew is None else np.asarray(rew, np.float32),
        terminal=terminal,
        window=np.stack([positions, -positions], axis=1),
        achieved_goal=None if goal is None else marker[:, None].copy(),
        desired_goal=None if goal is None else np.full((length + 1, 1), goal, np.float32),
    )


def buffer(goal_dim=0, size=100, n_step=3, gamma=0.5, her=False, clip_rew=False, **kwargs):
    return ReplayBuffer(
        obs_shape=kwargs.pop("obs_shape", (1,)),
        goal_dim=goal_dim,
        act_dim=ACT_DIM,
        window_dim=2,
        size=size,
        gamma=gamma,
        n_step=n_step,
        her=her,
        replay_k=kwargs.pop("replay_k", 4),
        reward_fn=near if goal_dim else None,
        clip_rew=clip_rew,
        **kwargs,
    )


def numpy_batch(buf, batch_size, progress=0.0):
    batch, idx = buf.sample(batch_size, progress)
    return batch._replace(**{key: value.numpy() for key, value in batch._asdict().items()}), idx


def test_batch_contract_shapes_and_dtypes():
    buf = buffer(goal_dim=1, her=True)
    buf.store_episode(episode(6, goal=100.0))
    batch, idx = buf.sample(7, 0.3)
    shapes = {key: tuple(value.shape) for key, value in batch._asdict().items()}
    assert shapes == {
        "obs": (7, 2),
        "obs2": (7, 2),
        "act": (7, 1),
        "rew": (7,),
        "done": (7,),
        "discount": (7,),
        "window": (7, 2),
        "window2": (7, 2),
        "weights": (7,),
        "ret": (7,),
    }
    assert all(str(value.dtype) == "torch.float32" for value in batch if value is not None)
    assert idx.dtype == np.int64 and idx.shape == (7,)
    assert len(buf) == 6


def test_n_step_sums_discounts_windows_by_hand():
    """gamma 0.5, N 3, rewards [1, 0, 2, 0, 3], terminal on the last step."""
    buf = buffer(gamma=0.5, n_step=3)
    buf.store_episode(episode(5, rew=[1, 0, 2, 0, 3], terminal_at=4))
    batch, idx = numpy_batch(buf, 400)
    expected_rew = [1 + 0.25 * 2, 0 + 0.5 * 2, 2 + 0.25 * 3, 0 + 0.5 * 3, 3]
    expected_k = [3, 3, 3, 2, 1]
    expected_done = [0, 0, 1, 1, 1]
    expected_ret = [1.6875, 1.375, 2.75, 1.5, 3.0]
    assert set(idx) == set(range(5))  # one episode stored from row 0: row == step t
    for row, t in enumerate(idx):
        k = expected_k[t]
        assert batch.rew[row] == pytest.approx(expected_rew[t])
        assert batch.discount[row] == pytest.approx(0.5**k)
        assert batch.done[row] == expected_done[t]
        assert batch.ret[row] == pytest.approx(expected_ret[t])
        assert batch.obs[row, 0] == t and batch.obs2[row, 0] == t + k
        assert batch.act[row, 0] == t
        np.testing.assert_array_equal(batch.window[row], [t, -t])
        np.testing.assert_array_equal(batch.window2[row], [t + k, -(t + k)])


def test_terminal_inside_the_window_stops_the_sum():
    buf = buffer(gamma=0.5, n_step=4)
    buf.store_episode(episode(5, rew=[1, 1, 1, 1, 1], terminal_at=1))
    batch, idx = numpy_batch(buf, 300)
    first = idx == 0
    assert first.any()
    assert np.allclose(batch.rew[first], 1.5) and np.allclose(batch.discount[first], 0.25)
    assert np.all(batch.done[first] == 1) and np.all(batch.obs2[first, 0] == 2)
    later = idx == 2  # steps 2..4 lie after the terminal and reach the episode end without one
    assert np.allclose(batch.rew[later], 1.75) and np.all(batch.done[later] == 0)


def test_her_relabels_both_goals_inside_the_episode_and_recomputes_rewards():
    gamma, n_step = 0.9, 3
    buf = buffer(goal_dim=1, her=True, gamma=gamma, n_step=n_step, size=200)
    lengths = [7, 4, 9]
    for episode_id, length in enumerate(lengths):  # stored rewards 5 are wrong on purpose: HER recomputes them
        buf.store_episode(episode(length, episode_id, goal=-50.0, rew=np.full(length, 5.0)))
    batch, _ = numpy_batch(buf, 4000)
    observation, goal = batch.obs[:, 0], batch.obs[:, 1]
    np.testing.assert_array_equal(batch.obs2[:, 1], goal)
    relabelled = goal != -50.0
    assert abs(relabelled.mean() - 0.8) < 0.03  # replay_k 4; 4.7 standard deviations
    episode_id, t = np.divmod(observation, 1000.0)
    future_id, future = np.divmod(goal[relabelled], 1000.0)
    np.testing.assert_array_equal(future_id, episode_id[relabelled])
    assert np.all(future > t[relabelled]) and np.all(future <= np.take(lengths, episode_id[relabelled].astype(int)))
    assert set(np.unique(future - t[relabelled])) == set(range(1, 10))
    steps = np.rint(np.log(batch.discount) / np.log(gamma)).astype(int)
    np.testing.assert_array_equal(batch.obs2[:, 0], observation + steps)
    achieved_next = observation[:, None] + 1 + np.arange(n_step)  # ag_{t+m+1}
    step_rewards = near(achieved_next.reshape(-1, 1), np.repeat(goal, n_step)[:, None]).reshape(-1, n_step)
    expected = (step_rewards * gamma ** np.arange(n_step) * (np.arange(n_step) < steps[:, None])).sum(1)
    np.testing.assert_allclose(batch.rew, expected, rtol=1e-6)
    assert np.all(batch.rew[~relabelled] == 0) and batch.rew[relabelled].max() > 0


@pytest.mark.parametrize("prioritize", [False, True])
def test_variable_lengths_and_wraparound_never_mix_episodes(prioritize):
    size = 10
    buf = buffer(goal_dim=1, her=True, size=size, n_step=4, prioritize=prioritize)
    lengths = [4, 3, 5, 2, 6, 1, 10, 3]
    for episode_id, length in enumerate(lengths):
        buf.store_episode(episode(length, episode_id, goal=-50.0))
        survivors, total = [], 0
        for other in range(episode_id, -1, -1):  # oldest-first eviction keeps the newest episodes that fit
            if total + lengths[other] > size:
                break
            survivors.append(other)
            total += lengths[other]
        assert len(buf) == total
        batch, idx = numpy_batch(buf, 500)
        episode_of = batch.obs[:, 0] // 1000
        assert set(episode_of.astype(int)) == set(survivors)
        np.testing.assert_array_equal(batch.obs2[:, 0] // 1000, episode_of)
        np.testing.assert_array_equal(batch.window2[:, 0] - batch.window[:, 0], batch.obs2[:, 0] - batch.obs[:, 0])
        relabelled = batch.obs[:, 1] != -50.0
        np.testing.assert_array_equal(batch.obs[relabelled, 1] // 1000, episode_of[relabelled])
        assert np.all(idx < size)


@pytest.mark.parametrize(
    "goal_dim,her,reward_range,stored,expected",
    [
        (0, False, (0.0, 1.0), 1.0, 1.0),
        (0, False, (-1.0, 0.0), -1.0, -1.0),
        (1, False, (0.0, 1.0), 1.0, 1.0),
        (1, False, (-1.0, 0.0), -1.0, -1.0),
        (1, True, (0.0, 1.0), 0.0, 1.0),
    ],
)
def test_clip_rew_clips_every_path_to_the_reward_range(goal_dim, her, reward_range, stored, expected):
    """Three steps of reward 1 (or -1) sum to 2.71 (-2.71) with gamma 0.9 and are clipped to the range."""
    kwargs = dict(goal_dim=goal_dim, her=her, gamma=0.9, n_step=3, reward_range=reward_range)
    goal = 1000.0 if goal_dim else None  # HER: the goal 1000 of episode 1 is reached at every step below
    clipped, raw = buffer(clip_rew=True, **kwargs), buffer(clip_rew=False, **kwargs)
    for buf in (clipped, raw):
        ep = episode(20, episode_id=1, goal=goal, rew=np.full(20, stored))
        if her:
            ep.achieved_goal[:] = 1000.0
        buf.store_episode(ep)
    clipped_batch, idx = numpy_batch(clipped, 50)
    raw_batch, raw_idx = numpy_batch(raw, 50)
    full_window = idx < 18
    assert np.all(clipped_batch.rew[full_window] == expected)
    assert np.allclose(raw_batch.rew[raw_idx < 18], 2.71 * expected)


def test_sum_tree_prefix_search_matches_cumulative_sums():
    rng = np.random.default_rng(1)
    leaves = rng.uniform(0, 2, 37) * (rng.random(37) > 0.3)
    tree = SumTree(37)
    tree.update(np.arange(37), leaves)
    assert tree.capacity == 64 and tree.total == pytest.approx(leaves.sum())
    assert tree.min_positive == pytest.approx(leaves[leaves > 0].min())
    queries = rng.uniform(0, leaves.sum(), 1000)
    found = tree.find_prefix_sum(queries)
    np.testing.assert_array_equal(found, np.searchsorted(np.cumsum(leaves), queries, side="right"))
    edges = tree.find_prefix_sum([0.0, tree.total, np.nextafter(tree.total, 0)])  # rounding never finds empties
    assert np.all(leaves[found] > 0) and np.all(leaves[edges] > 0)
    tree.update([3, 5, 3], [1.0, 2.0, 4.0])  # a repeated index keeps its last value
    assert tree.leaves([3, 5]).tolist() == [4.0, 2.0]
    with pytest.raises(ValueError):
        tree.update([0], [-1.0])


def test_per_sampling_follows_priorities():
    buf = buffer(size=8, n_step=1, prioritize=True, per_alpha=1.0, per_epsilon=0.0)
    buf.store_episode(episode(8))
    priorities = np.arange(1.0, 9.0)
    buf.update_priorities(np.arange(8), priorities)
    draws = 20000
    counts = np.bincount(np.concatenate([buf.sample(1000)[1] for _ in range(draws // 1000)]), minlength=8)
    expected = draws * priorities / priorities.sum()
    assert ((counts - expected) ** 2 / expected).sum() < stats.chi2.ppf(0.9999, df=7)


def test_per_weights_beta_annealing_and_new_transitions_get_max_priority():
    buf = buffer(size=16, n_step=1, prioritize=True, per_alpha=0.5, per_beta=0.4, per_epsilon=0.0)
    buf.store_episode(episode(4))
    buf.update_priorities(np.arange(4), [1.0, 2.0, 3.0, 4.0])
    assert [buf.per_beta_at(p) for p in (0.0, 0.5, 1.0, 2.0)] == pytest.approx([0.4, 0.7, 1.0, 1.0])
    for progress, beta in ((0.0, 0.4), (0.5, 0.7), (1.0, 1.0)):
        batch, idx = buf.sample(200, progress)
        # w_i = (N P_i)^-beta / max_j w_j = (p_i^alpha / p_min^alpha)^-beta with p_min = 1
        np.testing.assert_allclose(batch.weights.numpy(), (idx + 1.0) ** (-0.5 * beta), rtol=1e-6)
    buf.store_episode(episode(4, episode_id=1))  # rows 4..7 enter with the largest priority so far, 4
    batch, idx = buf.sample(400, 0.0)
    new = idx >= 4
    assert new.any()
    np.testing.assert_allclose(batch.weights.numpy()[new], 4.0 ** (-0.5 * 0.4), rtol=1e-6)
    for bad in ([-1.0], [np.nan]):
        with pytest.raises(ValueError):
            buf.update_priorities(np.array([0]), bad)


def test_stale_priority_updates_do_not_revive_evicted_rows():
    buf = buffer(size=8, n_step=1, prioritize=True)
    buf.store_episode(episode(5, episode_id=0))  # rows 0..4
    buf.store_episode(episode(3, episode_id=1))  # rows 5..7
    buf.store_episode(episode(2, episode_id=2))  # evicts episode 0, takes rows 0..1; rows 2..4 are empty
    buf.update_priorities(np.array([3, 4]), [1e6, 1e6])
    _, idx = buf.sample(500)
    assert set(idx) == {0, 1, 5, 6, 7}


def test_state_dict_round_trip_gives_identical_samples(tmp_path):
    def build(seed):
        return buffer(goal_dim=1, her=True, size=12, n_step=3, prioritize=True, seed=seed)

    original = build(seed=0)
    for episode_id, length in enumerate([5, 4, 6]):
        original.store_episode(episode(length, episode_id, goal=-50.0))
    _, idx = original.sample(8, 0.2)
    original.update_priorities(idx, np.linspace(0.1, 3.0, 8))
    np.savez(tmp_path / "replay.npz", **original.state_dict())
    restored = build(seed=123)
    restored.load_state_dict(np.load(tmp_path / "replay.npz"))
    assert len(restored) == len(original) == 10
    for step in range(3):
        (batch_a, idx_a), (batch_b, idx_b) = original.sample(32, 0.5), restored.sample(32, 0.5)
        np.testing.assert_array_equal(idx_a, idx_b)
        for a, b in zip(batch_a, batch_b):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
        for buf in (original, restored):
            buf.update_priorities(idx_a, np.arange(32) / 8.0)
            buf.store_episode(episode(3, 10 + step, goal=-50.0))


def test_state_dict_holds_only_written_rows():
    buf = buffer(size=1000)
    buf.store_episode(episode(30))
    state = buf.state_dict()
    assert state["observation"].shape == (30, 1) and state["final_rows"].tolist() == [29]


def test_images_are_stored_as_uint8_and_come_back_exactly():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (6, 3, 4, 4)).astype(np.float32) / 255.0
    buf = buffer(obs_shape=(3, 4, 4), image_obs=True, n_step=2)
    ep = episode(5, obs_shape=(3, 4, 4))._replace(observation=frames)
    buf.store_episode(ep)
    assert buf.state_dict()["observation"].dtype == np.uint8
    batch, idx = numpy_batch(buf, 50)
    steps = np.minimum(2, 5 - idx)
    np.testing.assert_array_equal(batch.obs, frames[idx])
    np.testing.assert_array_equal(batch.obs2, frames[idx + steps])


def test_malformed_episodes_are_rejected():
    with pytest.raises(ValueError, match="lacks achieved_goal and desired_goal"):
        buffer(goal_dim=1).store_episode(episode(3))
    with pytest.raises(ValueError, match=r"episode\.window has shape \(4, 3\), expected \(4, 2\)"):
        buffer().store_episode(episode(3)._replace(window=np.zeros((4, 3), np.float32)))
    with pytest.raises(TypeError, match="ReplayEpisode"):
        buffer().store_episode(episode(3)._asdict())
    buffer().store_episode(episode(3, goal=1.0))  # goals are ignored by a buffer without goals


def test_impossible_sizes_are_user_errors():
    with pytest.raises(UserError, match="replay_size"):
        buffer(size=4).store_episode(episode(5))
    with pytest.raises(UserError, match="lower --replay_size"):
        buffer(size=10**13)
