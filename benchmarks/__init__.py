"""Speed and memory figures for this machine (`visio bench`, `make bench`).

Targets live here, as printed figures, never in timed tests.
"""

from __future__ import annotations

from assistant.config import Settings


def run(what: str, settings: Settings) -> None:
    """Run one benchmark (embed, index, answer) or all of them."""
    from benchmarks import bench_answer, bench_embed, bench_index

    chosen = {"embed": [bench_embed], "index": [bench_index], "answer": [bench_answer]}
    for module in chosen.get(what, [bench_embed, bench_index, bench_answer]):
        module.main(settings)
