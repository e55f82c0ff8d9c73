"""End-to-end answer latency and cold start (`visio bench answer`).

Targets (2 cores): extractive answer p50 ≤ 150 ms after warm-up over the
shipped eval questions; cold start of `visio ask` ≤ 10 s.
"""

from __future__ import annotations

import subprocess
import sys
import time

from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.indexing import build_index
from benchmarks.common import peak_rss_mb, percentile, row
from evals.items import SHIPPED_SET, load_sets


def main(settings: Settings | None = None, repeats: int = 1) -> None:
    settings = settings or Settings.from_env()
    print("Answers (extractive, shipped eval questions)")
    build_index(settings, progress=False)
    started = time.perf_counter()
    assistant = Assistant.from_config(settings.replace(answer_mode="extractive"))
    items = load_sets(SHIPPED_SET)
    assistant.ask(items[0].question)  # warm-up: model, language detector, snapshot
    warm_up = time.perf_counter() - started
    latencies: list[float] = []
    for _ in range(repeats):
        for item in items:
            t0 = time.perf_counter()
            assistant.ask(item.question, list(item.history))
            latencies.append(time.perf_counter() - t0)
    ms = [x * 1000 for x in latencies]
    print(row("in-process start + first answer", f"{warm_up:.1f} s"))
    print(row(f"answer latency p50 ({len(ms)} questions)", f"{percentile(ms, 50):.0f} ms",
              "target ≤ 150 ms"))
    print(row("answer latency p95", f"{percentile(ms, 95):.0f} ms"))
    print(row("answers per second (one thread)", f"{len(ms) / (sum(ms) / 1000):.1f}"))
    print(row("peak RSS", f"{peak_rss_mb():.0f} MB"))

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "visio", "ask", items[0].question],
                   check=True, capture_output=True)
    print(row("cold start of `visio ask` (new process)", f"{time.perf_counter() - t0:.1f} s",
              "target ≤ 10 s"))


if __name__ == "__main__":
    main()
