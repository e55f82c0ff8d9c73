"""Index build speed, size and memory on this machine (`visio bench index`).

    python -m benchmarks.bench_index [--chunks 10000]

Prints, each in a temporary index folder (the real index is never touched):

- the shipped corpus: build time from scratch, then with nothing changed, then with
  one document edited (only its records are embedded, the rest is copied);
- a synthetic corpus of about ``--chunks`` chunk records (Swedish and Finnish
  documents recombined from the shipped corpus's sentences, so sentence lengths
  and vocabulary are real): build time, records/second and chunks/second. Every
  chunk also brings its sentence records (the quotable units), so records/second
  counts everything embedded and chunks/second is chunk records per second of
  the same build; then a no-change build and a one-document edit at that size;
- on-disk size of each index (blocks used, per record) and the peak RSS.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.chunking import document_units
from assistant.config import Settings
from assistant.documents import load_corpus, parse_document
from assistant.embeddings import get_embedder  # before torch: it sets OpenMP's wait policy
from assistant.indexing import BuildReport, build_index, document_records, index_status
from assistant.languages import DEFAULT_LANGUAGES as LANGUAGES
from assistant.store import LocalStore
from benchmarks.common import peak_rss_mb, row

SECTION_WORDS = {"sv": "Avsnitt", "fi": "Osio"}
TITLE_WORDS = {"sv": "Syntetiskt dokument", "fi": "Synteettinen asiakirja"}


@dataclass(frozen=True)
class SyntheticCorpus:
    documents: int
    chunks: int
    sentences: int

    @property
    def records(self) -> int:
        return self.chunks + self.sentences


def write_synthetic_corpus(source: Settings, folder: Path, *, chunks: int | None = None,
                           records: int | None = None, seed: int = 0) -> SyntheticCorpus:
    """Write Swedish and Finnish documents recombined from ``source.corpus_dir``'s
    sentences and list items into ``folder`` until they make ``chunks`` chunk
    records (or ``records`` records in all) with ``source``'s chunk settings.

    Documents alternate sv/fi and are shaped like the shipped ones: a title, a
    few sections of short paragraphs, now and then a list.
    """
    if (chunks is None) == (records is None):
        raise ValueError("give either chunks or records")
    pools = _sentence_pools(source)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    made = SyntheticCorpus(0, 0, 0)
    while (made.chunks < chunks) if chunks is not None else (made.records < (records or 0)):
        lang = LANGUAGES[made.documents % len(LANGUAGES)]
        name = f"synth-{made.documents:05d}-{lang}.md"
        raw = _synthetic_text(made.documents, lang, pools[lang], rng).encode("utf-8")
        (folder / name).write_bytes(raw)
        doc = parse_document(raw, name)
        units = document_records(doc, source)
        n_chunks = sum(1 for r in units if r.metadata["unit"] == "chunk")
        made = SyntheticCorpus(made.documents + 1, made.chunks + n_chunks,
                               made.sentences + len(units) - n_chunks)
    return made


def _sentence_pools(source: Settings) -> dict[str, dict[str, list[str]]]:
    """Per language: prose sentences, list items and section names of the corpus."""
    pools = {lang: {"sentence": [], "item": [], "section": []} for lang in LANGUAGES}
    for doc in load_corpus(source.corpus_dir).documents:
        pool = pools[doc.lang]
        for unit in document_units(doc):
            text = doc.text[unit.start:unit.end]
            if unit.form == "item":
                pool["item"].append(text)
            elif unit.form == "sentence" and len(text.split()) >= 4 and not text.startswith("-"):
                pool["sentence"].append(text)
            pool["section"].append(unit.section)
    for lang, pool in pools.items():
        if not pool["sentence"]:
            raise SystemExit(f"no {lang} sentences in {source.corpus_dir} to recombine")
        pool["item"] = pool["item"] or pool["sentence"]
    return pools


def _synthetic_text(n: int, lang: str, pool: dict[str, list[str]], rng: random.Random) -> str:
    title = f"{TITLE_WORDS[lang]} {n}: {rng.choice(pool['section'])}"
    parts = [f"---\nid: synth-{n:05d}\nlang: {lang}\ntitle: \"{title}\"\nkind: other\n---\n",
             f"# {title}\n"]
    for k in range(1, rng.randint(2, 5) + 1):
        parts.append(f"## {SECTION_WORDS[lang]} {k}: {rng.choice(pool['section'])}\n")
        for _ in range(rng.randint(1, 3)):
            parts.append(" ".join(rng.choices(pool["sentence"], k=rng.randint(2, 6))) + "\n")
        if rng.random() < 0.3:
            parts.append("\n".join(f"- {item}" for item in
                                   rng.choices(pool["item"], k=rng.randint(2, 4))) + "\n")
    return "\n".join(parts)


def disk_mb(folder: Path) -> float:
    """Space the files under ``folder`` take on disk (allocated blocks)."""
    used = sum(p.stat().st_blocks * 512 for p in folder.rglob("*") if p.is_file())
    return used / 1e6


def _timed_build(settings: Settings, embedder: object) -> tuple[BuildReport, float]:
    start = time.perf_counter()
    report = build_index(settings, embedder=embedder,  # type: ignore[arg-type]
                         progress=sys.stderr.isatty())
    return report, time.perf_counter() - start


def _edit_one(corpus_dir: Path) -> Path:
    path = sorted(corpus_dir.rglob("*.md"))[-1]
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("\n\nEn mening till för mätningen. Yksi lause lisää mittausta varten.\n")
    return path


def _report_builds(label: str, settings: Settings, embedder: object) -> None:
    first, seconds = _timed_build(settings, embedder)
    chunks = index_chunks(settings)
    print(row(f"{label}: build from scratch", f"{seconds:.1f} s"))
    print(row("  records embedded (chunks + sentences)",
              f"{first.embedded_records} ({chunks} + {first.embedded_records - chunks})"))
    print(row("  records/second", f"{first.embedded_records / seconds:.1f} /s"))
    print(row("  chunks/second", f"{chunks / seconds:.1f} /s"))
    again, seconds = _timed_build(settings, embedder)
    assert again.up_to_date, again.summary()
    print(row(f"{label}: build with nothing changed", f"{seconds:.2f} s"))
    _edit_one(Path(settings.corpus_dir))
    edited, seconds = _timed_build(settings, embedder)
    print(row(f"{label}: one document edited", f"{seconds:.1f} s"))
    print(row("  embedded / copied records",
              f"{edited.embedded_records} / {edited.copied_records}"))
    store = LocalStore(settings)
    live = Path(settings.index_dir) / str(store.live_name())
    size = disk_mb(live)
    print(row("  on disk (served generation)", f"{size:.1f} MB"))
    print(row("  on disk per record", f"{size * 1e6 / edited.total_records / 1024:.1f} KiB"))
    print(row("  on disk, index folder (with previous)", f"{disk_mb(settings.index_dir):.1f} MB"))


def index_chunks(settings: Settings) -> int:
    return index_status(settings).chunks


def main(settings: Settings | None = None, chunks: int = 10_000) -> None:
    """Print the index figures for this machine (used by `visio bench index`)."""
    settings = settings or Settings.from_env()
    print(f"Index — {settings.embedding_model}, chunks of {settings.chunk_tokens} tokens "
          f"/ overlap {settings.chunk_overlap_tokens}, batch {settings.embedding_batch_size}")
    print(f"  machine: {multiprocessing.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} (others' work counts)")
    start = time.perf_counter()
    embedder = get_embedder(settings)
    print(row("embedding model load", f"{time.perf_counter() - start:.1f} s"))

    with tempfile.TemporaryDirectory(prefix="visio-bench-index-") as tmp:
        root = Path(tmp)
        corpus = root / "shipped-corpus"
        _copy_corpus(Path(settings.corpus_dir), corpus)
        shipped = settings.replace(corpus_dir=corpus, index_dir=root / "shipped-index")
        _report_builds("shipped corpus", shipped, embedder)
        print(row("peak RSS so far", f"{peak_rss_mb():.0f} MB"))

        synthetic_dir = root / "synthetic-corpus"
        start = time.perf_counter()
        made = write_synthetic_corpus(settings, synthetic_dir / "synthetic", chunks=chunks)
        print(row("synthetic corpus written",
                  f"{made.documents} docs, {made.chunks} chunks, {made.sentences} sentences "
                  f"in {time.perf_counter() - start:.1f} s"))
        synthetic = settings.replace(corpus_dir=synthetic_dir, index_dir=root / "synthetic-index")
        _report_builds(f"synthetic {made.chunks} chunks", synthetic, embedder)
    print(row("peak RSS", f"{peak_rss_mb():.0f} MB"))


def _copy_corpus(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("added"))


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000,
                        help="chunk records in the synthetic corpus (default 10000)")
    args = parser.parse_args()
    main(Settings.from_env(), chunks=args.chunks)


if __name__ == "__main__":
    _cli()
