"""`visio eval` end to end: real corpus, real index, real assistant, on a slice of the shipped set.

Quality figures are not asserted here (that is the job of the CI gate on the full
set); what is asserted are the invariants that hold for any correct run: every
item is answered without a system error, every citation quotes the corpus
verbatim, and the report files exist and are well-formed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.config import Settings
from evals.items import SHIPPED_SET, load_items
from evals.runner import BASELINES, compare_runs, main, spread

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("eval-run")


@pytest.fixture(scope="module")
def settings(workdir) -> Settings:
    # Models are materialised once into the usual cache; index and outputs stay in tmp.
    default = Settings.from_env()
    return Settings.from_env(data_dir=workdir / "var", index_dir=workdir / "index",
                             model_dir=default.model_dir)


def subset_file(workdir: Path, n: int) -> Path:
    items = spread(load_items(SHIPPED_SET), n)
    path = workdir / f"subset-{n}.jsonl"
    path.write_text("".join(json.dumps(i.to_dict(), ensure_ascii=False) + "\n" for i in items),
                    encoding="utf-8")
    return path


def test_main_runs_a_subset_and_writes_a_well_formed_report(workdir, settings, monkeypatch,
                                                            capsys):
    monkeypatch.setenv("VISIO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VISIO_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("VISIO_MODEL_DIR", str(settings.model_dir))
    questions = subset_file(workdir, 16)
    out = workdir / "out"
    code = main(["--questions", str(questions), "--out", str(out), "--no-progress",
                 "--min-citation-validity", "1.0", "--calibrate"])
    printed = capsys.readouterr()
    assert code == 0, printed.err

    records = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    assert len(records) == 16
    assert not [r["id"] for r in records if r["error"]]
    assert {r["lang"] for r in records} == {"sv", "fi"}
    for r in records:
        assert r["detected_language"] and isinstance(r["latency"], float)
        if not r["refused"]:
            assert r["retrieved_doc_ids"] and r["cited_doc_ids"], r["id"]
            assert set(r["cited_doc_ids"]) <= set(r["retrieved_doc_ids"]), r["id"]

    summary = json.loads((out / "summary.json").read_text())
    overall = summary["overall"]
    assert overall["n_items"] == 16 and overall["n_errors"] == 0
    assert overall["citation_validity"] == 1.0
    assert overall["n_citations"] > 0
    assert set(summary["by_language"]) == {"sv", "fi"}
    assert summary["threshold_failures"] == []
    assert 0.0 <= summary["calibration"]["threshold"] <= 1.0

    assert "| Retrieval recall@3 |" in (out / "summary.md").read_text()
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 4
    assert not re.search(r'(src|href)="https?://', page)
    assert "Results:" in printed.out


def test_compare_runs_every_baseline_and_reuses_the_minilm_index(workdir, settings):
    items = spread(load_items(SHIPPED_SET), 6)
    runs = compare_runs(settings, items, progress=False)
    assert list(runs) == list(BASELINES)
    for name, run in runs.items():
        assert run.summary["overall"]["n_items"] == 6, name
        assert run.summary["overall"]["n_errors"] == 0, name
        assert run.summary["overall"]["citation_validity"] in (1.0, None), name
    assert runs["dense-minilm"].meta["settings"]["embedding_model"].endswith("model")
    minilm_index = settings.data_dir / "baselines" / "minilm" / "index"
    assert minilm_index.is_dir() and any(minilm_index.iterdir())
    before = sorted(p.name for p in minilm_index.iterdir())
    again = compare_runs(settings, items[:1], progress=False, baselines=["dense-minilm"])
    assert again["dense-minilm"].summary["overall"]["n_errors"] == 0
    assert sorted(p.name for p in minilm_index.iterdir()) == before  # reused, not rebuilt
