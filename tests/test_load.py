"""benchmarks/load.py drives the real app: its plans, and one small round end to end.

Only that the script works and counts correctly is asserted; its speed figures are
printed by the script (README, reliability), never asserted in tests.
"""

from __future__ import annotations

import json

import pytest
from ui_server import running_app

from benchmarks import load
from evals.items import SHIPPED_SET, load_sets


def test_every_user_mixes_swedish_and_finnish_with_follow_ups():
    plans = load.user_plans(load_sets(SHIPPED_SET), users=4, per_user=6, seed=1)
    assert len(plans) == 4 and all(len(plan) == 6 for plan in plans)
    for plan in plans:
        assert {r.lang for r in plan} == {"sv", "fi"}
        follow_ups = [r for r in plan if r.history]
        assert len(follow_ups) == 2 and all(r.history[0]["role"] == "user" for r in follow_ups)
    assert len({tuple(r.question for r in plan) for plan in plans}) == 4  # users differ


@pytest.mark.slow
def test_a_small_round_against_the_running_app(assistant, indexed_settings, tmp_path, capsys):
    json_out = tmp_path / "load.json"
    with running_app(assistant, indexed_settings, feedback_db=tmp_path / "f.sqlite3") as url:
        status = load.main(["--url", url, "--users", "1,3", "--questions-per-user", "3",
                            "--json", str(json_out)])
    out = capsys.readouterr().out
    assert status == 0  # below 32 users there is no target to miss
    assert "answers/s" in out and "latency p50 / p95 / p99" in out
    rounds = json.loads(json_out.read_text())["rounds"]
    assert [r["users"] for r in rounds] == [1, 3]
    for r in rounds:
        assert r["errors"] == 0 and r["answers"] == 3 * r["users"]
        assert r["wrong_language"] == 0
        assert 0 < r["p50"] <= r["p95"] <= r["max"]
