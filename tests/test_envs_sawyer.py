"""Meta-World tasks: success rules vs metaworld's own, spaces, truncation, seeding, goals and rendering."""

import warnings

import gymnasium
import numpy as np
import pytest

from sfp.envs import SAWYER_TASKS, make_env, register_all
from sfp.envs.sawyer import SawyerEnv
from sfp.envs.sawyer_rewards import (
    LEVER_RADIUS,
    PEG_GRASP_TO_HEAD,
    SUCCESS_RULES,
    peg_head,
)
from sfp.errors import UserError

EXPERT_POLICIES = {
    "reach-v2": "Reach",
    "push-v2": "Push",
    "pick-place-v2": "PickPlace",
    "door-open-v2": "DoorOpen",
    "door-close-v2": "DoorClose",
    "drawer-open-v2": "DrawerOpen",
    "drawer-close-v2": "DrawerClose",
    "button-press-topdown-v2": "ButtonPressTopdown",
    "button-press-v2": "ButtonPress",
    "peg-insert-side-v2": "PegInsertionSide",
    "window-open-v2": "WindowOpen",
    "window-close-v2": "WindowClose",
    "sweep-v2": "Sweep",
    "basketball-v2": "Basketball",
    "shelf-place-v2": "ShelfPlace",
    "sweep-into-v2": "SweepInto",
    "lever-pull-v2": "LeverPull",
}


@pytest.fixture
def env_factory():
    """Build SawyerEnvs that are closed (renderer included) when the test ends."""
    envs = []

    def build(task="reach-v2", **kwargs):
        envs.append(SawyerEnv(task, **kwargs))
        return envs[-1]

    yield build
    for env in envs:
        env.close()


def expert_rollouts(env, task, episodes, steps, noise=0.1):
    """(metaworld success, rule success) bool arrays over all steps of noisy scripted-expert episodes."""
    import metaworld.policies

    policy = getattr(metaworld.policies, f"Sawyer{EXPERT_POLICIES[task]}V3Policy")()
    rng = np.random.default_rng(0)
    theirs, ours = [], []
    obs, _ = env.reset(seed=0)
    for episode in range(episodes):
        if episode:
            obs, _ = env.reset()
        for _ in range(steps):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # metaworld warns that its policy gains are high
                action = policy.get_action(np.concatenate([obs["observation"], obs["desired_goal"]]))
            obs, reward, _, _, info = env.step(np.clip(action + rng.normal(0, noise, 4), -1, 1))
            assert reward == env.compute_reward(obs["achieved_goal"], obs["desired_goal"])
            theirs.append(bool(info["success"]))
            ours.append(reward > 0)
    return np.array(theirs), np.array(ours)


def test_every_seed_task_has_a_rule_and_an_expert():
    assert set(SAWYER_TASKS) == set(SUCCESS_RULES) == set(EXPERT_POLICIES)


@pytest.mark.parametrize("task", SAWYER_TASKS)
def test_rule_agrees_with_metaworld_success_on_expert_rollouts(env_factory, task):
    theirs, ours = expert_rollouts(env_factory(task), task, episodes=3, steps=200)
    agreement = (theirs == ours).mean()
    recall = ours[theirs].mean()
    print(f"{task}: agreement {agreement:.4f} over {theirs.size} steps, {theirs.sum()} successful, recall {recall:.3f}")
    assert theirs.sum() >= 20, "the rollouts must contain successes for the test to mean anything"
    assert agreement >= 0.95
    assert recall >= 0.9


@pytest.mark.parametrize("task", SAWYER_TASKS)
@pytest.mark.parametrize("neg_rew", [False, True])
def test_batched_reward_equals_row_by_row(env_factory, task, neg_rew):
    env = env_factory(task, neg_rew=neg_rew)
    rng = np.random.default_rng(1)
    desired = rng.uniform(-0.3, 0.3, (64, 3)).astype(np.float32)
    achieved = (desired + rng.normal(0, 0.04, (64, 3))).astype(np.float32)
    batched = env.compute_reward(achieved, desired)
    rows = np.array([env.compute_reward(a, g) for a, g in zip(achieved, desired)])
    assert batched.shape == (64,) and batched.dtype == np.float32
    assert all(np.ndim(r) == 0 and r.dtype == np.float32 for r in rows)
    np.testing.assert_array_equal(batched, rows)
    assert set(np.unique(batched)) == ({-1.0, 0.0} if neg_rew else {0.0, 1.0})
    np.testing.assert_array_equal(env.is_success(achieved, desired), batched == (0.0 if neg_rew else 1.0))


def test_basketball_targets_a_point_above_each_rows_hoop(env_factory):
    env = env_factory("basketball-v2")
    hoops = np.array([[0.0, 0.9, 0.25], [0.1, 0.8, 0.2], [-0.1, 0.85, 0.0]])
    balls = hoops.copy()
    balls[:, 2] = 0.3
    balls[1, 2] += 0.05  # z error counts double: 0.10 > 0.08
    balls[2, 0] += 0.07
    np.testing.assert_array_equal(env.compute_reward(balls, hoops), [1.0, 0.0, 1.0])


def test_sweep_into_ignores_height_for_single_goals(env_factory):
    env = env_factory("sweep-into-v2")
    assert env.compute_reward(np.array([0.0, 0.8, 0.02]), np.array([0.03, 0.83, 0.3])) == 1.0
    assert env.compute_reward(np.array([0.0, 0.8, 0.02]), np.array([0.04, 0.84, 0.0])) == 0.0


def test_lever_rule_is_the_joint_angle_within_pi_over_24_of_upright():
    rule = SUCCESS_RULES["lever-pull-v2"]
    axis = np.array([0.1, 0.8, 0.25])
    angles = np.linspace(0.0, np.pi, 181)  # lever angle from horizontal (pointing -y) over upright (pi/2)
    tips = axis + LEVER_RADIUS * np.stack([np.zeros_like(angles), -np.cos(angles), np.sin(angles)], axis=-1)
    goal = axis + np.array([0.0, 0.0, LEVER_RADIUS])
    expected = np.abs(angles - np.pi / 2) <= np.pi / 24 + 1e-9
    np.testing.assert_array_equal(rule.distance(tips, goal) <= rule.threshold + 1e-12, expected)


def test_peg_head_follows_the_peg_orientation():
    observation = np.zeros((2, 36))
    observation[:, 4:7] = [0.1, 0.6, 0.05]
    observation[0, 7:11] = [0.0, 0.0, 0.0, 1.0]  # identity (x, y, z, w)
    observation[1, 7:11] = [0.0, 0.0, np.sin(np.pi / 4), np.cos(np.pi / 4)]  # +90 degrees about z
    heads = peg_head(observation)
    np.testing.assert_allclose(heads[0], [0.1, 0.6, 0.05] + PEG_GRASP_TO_HEAD)
    np.testing.assert_allclose(heads[1], [0.1, 0.6 - 0.13, 0.05 - 0.01], atol=1e-12)


def test_dict_flat_and_visual_spaces(env_factory):
    goal_env, flat_env = env_factory("push-v2"), env_factory("push-v2", goal_cond=False)
    visual_env = env_factory("push-v2", visual=True)
    obs, _ = goal_env.reset(seed=0)
    assert {k: v.shape for k, v in obs.items()} == {"observation": (36,), "achieved_goal": (3,), "desired_goal": (3,)}
    assert obs in goal_env.observation_space
    np.testing.assert_array_equal(obs["achieved_goal"], obs["observation"][4:7])
    flat, _ = flat_env.reset(seed=0)
    assert flat.shape == (36,) and flat.dtype == np.float32 and flat in flat_env.observation_space
    np.testing.assert_array_equal(flat, obs["observation"])
    image, _ = visual_env.reset(seed=0)
    assert not visual_env.goal_cond
    assert image.shape == (3, 64, 64) and image.dtype == np.float32 and image in visual_env.observation_space
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.05
    step_image, reward, *_ = visual_env.step(np.zeros(4))
    assert step_image.shape == (3, 64, 64) and reward in (0.0, 1.0)
    assert goal_env.short_name == "sawyer" and goal_env.max_steps == 500 and goal_env.action_space.shape == (4,)


def test_truncated_at_500_never_terminated_and_no_step_beyond(env_factory):
    env = env_factory("window-close-v2")
    env.reset(seed=0)
    flags = [env.step(np.zeros(4))[2:4] for _ in range(500)]
    assert not any(terminated for terminated, _ in flags)
    assert [truncated for _, truncated in flags] == [False] * 499 + [True]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(4))
    env.reset()
    assert env.step(np.zeros(4))[3] is False


def test_terminate_on_success_and_neg_rew(env_factory):
    env = env_factory("reach-v2", terminate_on_success=True, neg_rew=True)
    obs, _ = env.reset(seed=0)
    _, reward, terminated, truncated, _ = env.step(np.zeros(4))
    assert (reward, terminated, truncated) == (-1.0, False, False)
    env.set_reach_target(obs["achieved_goal"])
    _, reward, terminated, truncated, _ = env.step(np.zeros(4))
    assert (reward, terminated, truncated) == (0.0, True, False)


def configuration(obs):
    """Object and goal positions of a first observation."""
    return np.concatenate([obs["observation"][4:7], obs["desired_goal"]])


def test_same_seed_same_episodes_and_new_goal_each_reset(env_factory):
    first, second = env_factory("push-v2"), env_factory("push-v2")
    actions = np.random.default_rng(2).uniform(-1, 1, (20, 4))

    def episodes(env):
        starts = [env.reset(seed=7)[0]] + [env.reset()[0] for _ in range(2)]
        trajectory = [env.step(a)[0]["observation"] for a in actions]
        return [configuration(o) for o in starts], np.array(trajectory)

    (starts_a, trajectory_a), (starts_b, trajectory_b) = episodes(first), episodes(second)
    np.testing.assert_array_equal(np.array(starts_a), np.array(starts_b))
    np.testing.assert_array_equal(trajectory_a, trajectory_b)
    assert not np.allclose(starts_a[0], starts_a[1]) and not np.allclose(starts_a[1], starts_a[2])
    other_seed = configuration(first.reset(seed=8)[0])
    assert not np.allclose(other_seed, starts_a[0])


def test_fix_env_seed_keeps_one_configuration(env_factory):
    env = env_factory("pick-place-v2", fix_env_seed=True)
    starts = [configuration(env.reset(seed=seed)[0]) for seed in (0, 1)] + [configuration(env.reset()[0])]
    np.testing.assert_array_equal(starts[0], starts[1])
    np.testing.assert_array_equal(starts[0], starts[2])


def test_v3_names_and_unknown_names():
    env = make_env("window-close-v3")
    assert env.task == "window-close-v2" and env.metaworld_class == "WindowCloseV3GoalObservable"
    env.close()
    with pytest.raises(UserError, match="reach-v2"):
        SawyerEnv("stack-blocks-v2")


def test_the_papers_v2_ids_make_without_an_upgrade_warning():
    """gymnasium calls sfp/<task>-v2 out of date because a -v3 id is registered beside it; the -v2 ids are the
    paper's tasks, so that advice is silenced, and only for sfp/ ids."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        register_all()  # installs the filter again after simplefilter replaced it
        gymnasium.make("sfp/window-close-v2").close()
    assert not [w for w in caught if "out of date" in str(w.message)], [str(w.message) for w in caught]


def test_set_reach_target_moves_goal_observation_and_site(env_factory):
    env = env_factory("reach-v2")
    env.reset(seed=0)
    before = env.frame()
    target = np.array([-0.4, 0.8, 0.4])  # outside metaworld's reach goal box: must not be clipped
    env.set_reach_target(target)
    assert np.abs(env.frame().astype(int) - before).sum() > 0
    obs = env.step(np.zeros(4))[0]
    np.testing.assert_allclose(obs["desired_goal"], target, atol=1e-6)


def test_frame_is_upright_uint8_and_render_matches(env_factory):
    env = env_factory("drawer-close-v2", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.frame()
    assert frame.shape == (3, 64, 64) and frame.dtype == np.uint8
    background = frame.max(axis=0) < 20  # the skybox is off: empty space renders black
    assert background[:16].mean() > 0.5, "the top of an upright corner view is empty space"
    assert background[48:].mean() < 0.05, "the bottom of an upright corner view is the table"
    np.testing.assert_array_equal(env.render(), frame.transpose(1, 2, 0))
