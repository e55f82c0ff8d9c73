"""One shared Assistant under concurrent requests, as the web server uses it.

The embedding model (queries of concurrent callers encoded together), the
Chroma client and the index snapshot are shared by all threads; answers must be
exactly those of one request at a time, also while a new index generation is
being published. (Throughput and latency are figures, printed by
benchmarks/load.py, not asserted here.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from assistant.assistant import Assistant
from evals.items import SHIPPED_SET, load_items

FAILURES = ("index_missing", "internal_error")


@pytest.fixture(scope="module")
def requests() -> list[tuple[str, list[dict[str, str]], str]]:
    """A spread of the shipped questions: sv and fi, follow-ups with their history."""
    items = load_items(SHIPPED_SET)
    chosen = items[::6] + [i for i in items if i.history][:6]
    return [(i.question, [dict(m) for m in i.history], i.lang) for i in chosen]


def _key(answer) -> tuple:
    return answer.answer, answer.refused, tuple((c.doc_id, c.lang, c.char_start, c.char_end)
                                                for c in answer.citations)


def test_concurrent_answers_equal_sequential_ones(assistant, requests):
    expected = [_key(assistant.ask(*r)) for r in requests]
    with ThreadPoolExecutor(16) as pool:
        for _ in range(2):
            got = list(pool.map(lambda r: _key(assistant.ask(*r)), requests))
            assert got == expected


def test_concurrent_query_vectors_equal_single_ones(embedder, requests):
    texts = [q for q, _h, _l in requests]
    single = np.vstack([embedder.embed_queries([t]) for t in texts])
    start = threading.Barrier(8)

    def encode(chunk: list[str]) -> np.ndarray:
        start.wait()
        return np.vstack([embedder.embed_queries([t]) for t in chunk])

    chunks = [texts[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        parts = list(pool.map(encode, chunks))
    together = np.empty_like(single)
    for i, part in enumerate(parts):
        together[i::8] = part
    assert np.abs(together - single).max() < 1e-5


@pytest.mark.slow
def test_answers_go_on_while_a_new_generation_is_published(indexed_settings, embedder,
                                                          requests, tmp_path):
    target = tmp_path / "index"
    shutil.copytree(indexed_settings.index_dir, target,
                    ignore=shutil.ignore_patterns(".build.lock"))
    settings = indexed_settings.replace(index_dir=target)
    shared = Assistant(settings, embedder)
    expected = {r[0]: _key(shared.ask(*r)) for r in requests}
    first = shared.snapshot().generation
    stop = threading.Event()
    seen: list[tuple[str, tuple]] = []
    problems: list[str] = []

    def keep_asking(offset: int) -> None:
        n = offset
        while not stop.is_set():
            request = requests[n % len(requests)]
            answer = shared.ask(*request)
            if answer.notes[:1] and answer.notes[0] in FAILURES:
                problems.append(f"{request[0]!r}: {answer.notes}")
            seen.append((request[0], _key(answer)))
            n += 1

    askers = [threading.Thread(target=keep_asking, args=(i,)) for i in range(6)]
    for thread in askers:
        thread.start()
    env = {**os.environ, "VISIO_INDEX_DIR": str(target),
           "VISIO_CORPUS_DIR": str(settings.corpus_dir), "VISIO_MODEL_DIR": str(settings.model_dir)}
    try:  # what an administrator runs while the app serves
        build = subprocess.run([sys.executable, "-m", "visio", "index", "build", "--force",
                                "--quiet"], env=env, capture_output=True, text=True, timeout=600)
        time.sleep(1.0)  # requests keep running on the new generation for a moment
    finally:
        stop.set()
        for thread in askers:
            thread.join()
    assert build.returncode == 0, build.stderr
    assert shared.snapshot().generation != first
    assert not problems
    assert len(seen) > len(askers)
    assert all(key == expected[question] for question, key in seen)
