"""What a run computes does not change: fixed-seed SFP, SAC, autotuned SFP and pink-noise runs reproduce the rows
stored by the grids' code version (tests/reference_rows.py), every column but the time columns."""

import pytest
from reference_rows import CASES, STORED, make_inputs, parse, run_rows, sandbox_env


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    env = sandbox_env(tmp_path_factory.mktemp("reference"))
    make_inputs(env)
    return env


@pytest.mark.parametrize("case", list(CASES))
def test_progress_rows_match_the_stored_reference(case, env):
    expected = parse((STORED / f"{case}.tsv").read_text())
    rows = run_rows(case, env)
    assert len(rows) == len(expected) == 2
    for epoch, (row, stored) in enumerate(zip(rows, expected), start=1):
        changed = {key: (stored[key], row.get(key)) for key in stored if row.get(key) != stored[key]}
        assert not changed, f"epoch {epoch}: {changed}"
