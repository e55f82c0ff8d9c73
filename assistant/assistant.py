"""The assistant: a question (and its conversation) in, a grounded Answer out.

One object per process holds the heavy parts (embedding model, index
snapshot) and is safe to share between concurrent requests. Every failure a
user can cause or meet (empty or huge input, an unsupported language, a
missing index, an unreachable language model) becomes a polite Answer in the
user's language, never an exception.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from langchain_core.runnables import Runnable, RunnableLambda

from assistant import i18n, smalltalk
from assistant.answering import (
    Evidence,
    check_citations,
    citation_for,
    compose_extractive,
    confidence_of,
    llm_chain,
    llm_inputs,
    select_sentences,
    sentence_evidence,
    stream_words,
    with_contact_card,
)
from assistant.chunking import count_tokens
from assistant.config import Settings
from assistant.embeddings import Embedder, get_embedder
from assistant.followup import formulations
from assistant.language import detect_language, detector
from assistant.overview import VisionEntry, asks_for_overview, vision_entries
from assistant.retrieval import Retrieval, Retriever, Snapshot, VisioRetriever, hits_to_documents
from assistant.safety import looks_like_injection
from assistant.store import IndexUnavailable, open_store
from assistant.text import clean_text
from assistant.types import LANGUAGES, Answer, Citation, WordingMatch

log = logging.getLogger(__name__)

Message = Mapping[str, str]
# Ranked documents reported with each answer (evaluation computes nDCG@10 on them).
RETRIEVED_FOR_EVALUATION = 10


class Assistant:
    """Shared by all requests of a process; see ``ask`` and ``ask_stream``."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(settings)
        self._retriever: Retriever | None = None

    @classmethod
    def from_config(cls, settings: Settings | None = None) -> Assistant:
        return cls(settings or Settings.from_env())

    # -- plumbing ---------------------------------------------------------------------
    @property
    def retriever(self) -> Retriever:
        """The hybrid retriever (opened lazily so the app can start without an index)."""
        if self._retriever is None:
            self._retriever = Retriever(self.settings, open_store(self.settings), self.embedder)
        return self._retriever

    def snapshot(self) -> Snapshot:
        return self.retriever.snapshot()

    def warm_up(self) -> None:
        """Load everything a first question would otherwise load, before serving.

        The language models, the tokenizer tables and the index snapshot load
        once per process; loading them inside a request holds the GIL for
        seconds and stalls every other request (measured by benchmarks/load.py).
        A missing or damaged index is not an error here: the app must still
        start and tell its users (each question then answers with the notice).
        """
        detector()
        count_tokens("warm-up")
        self.embedder.embed_queries(["warm-up"])
        if self.settings.answer_mode == "llm":
            llm_chain(self.settings)  # imports the OpenAI client (seconds); connects nowhere
        try:
            self.snapshot()
        except IndexUnavailable as exc:
            log.warning("starting without an index: %s", exc)
        except Exception:  # questions will get the internal-error notice, not a crash
            log.exception("the index snapshot could not be loaded")

    def langchain_retriever(self, language: str | None = None) -> VisioRetriever:
        """A LangChain BaseRetriever over the same index, for use in other chains."""
        return VisioRetriever(retriever=self.retriever, language=language)

    def as_runnable(self) -> Runnable:
        """The assistant as an LCEL runnable: {"question", "history"?, "ui_lang"?} → Answer."""
        return RunnableLambda(lambda x: self.ask(x["question"], x.get("history", ()),
                                                 x.get("ui_lang")))

    # -- answering --------------------------------------------------------------------
    def ask(self, question: str, history: Sequence[Message] = (),
            ui_lang: str | None = None) -> Answer:
        """Answer one question; the conversation so far resolves follow-ups."""
        answer: Answer | None = None
        for event in self.ask_stream(question, history, ui_lang):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    def ask_stream(self, question: Any, history: Sequence[Message] = (),
                   ui_lang: str | None = None) -> Iterator[str | Answer]:
        """Yield pieces of the answer text as they are ready, then the final Answer."""
        started = time.perf_counter()
        try:
            yield from self._answer(question, history, ui_lang, started)
        except IndexUnavailable as exc:
            log.warning("index unavailable: %s", exc)
            yield self._notice(_notice_language(question, ui_lang), "index_missing", started,
                               notes=(str(exc),))
        except Exception:  # the UI must never show a traceback
            log.exception("answering failed")
            yield self._notice(_notice_language(question, ui_lang), "internal_error", started)

    def _answer(self, question: Any, history: Sequence[Message], ui_lang: str | None,
                started: float) -> Iterator[str | Answer]:
        question = clean_text(question if isinstance(question, str) else str(question or ""))
        history = self._trim_history(history)
        hint = _conversation_language(history) or (ui_lang if ui_lang in LANGUAGES else None)
        if not any(ch.isalnum() for ch in question):  # nothing but spaces, marks, symbols
            yield self._notice(hint or "sv", "empty_question", started)
            return
        small_talk = smalltalk.recognise(question)
        if small_talk is not None:
            lang, kind = small_talk
            yield self._notice(lang, f"smalltalk_{kind}", started)
            return
        tokens = count_tokens(question)
        if tokens > self.settings.max_question_tokens:
            guess = detect_language(question[:2000], hint=hint)
            lang = guess.lang if guess.supported else (hint or "sv")
            yield self._notice(lang, "question_too_long", started, tokens=tokens,
                               limit=self.settings.max_question_tokens)
            return
        guess = detect_language(question, hint=hint)
        if guess.lang is not None and not guess.supported:
            yield Answer(answer=i18n.UNSUPPORTED_LANGUAGE, language=guess.lang, refused=True,
                         timings={"total": time.perf_counter() - started},
                         mode=self.settings.answer_mode, notes=("unsupported language",))
            return
        lang = guess.lang or hint or "sv"
        if looks_like_injection(question):
            yield self._refusal(lang, started, notes=("instructions in the question ignored",))
            return

        if asks_for_overview(question, lang, self.snapshot):
            snap = self.snapshot()
            entries = vision_entries(snap, lang)
            if entries:
                yield from self._overview(question, lang, snap, entries, started)
                return

        t_retrieval = time.perf_counter()
        retrieval = self.retriever.search(formulations(question, history, lang), lang,
                                          k=max(self.settings.top_k, RETRIEVED_FOR_EVALUATION))
        snap = retrieval.snapshot
        evidence = sentence_evidence(snap, retrieval)
        confidence = confidence_of(snap, retrieval, evidence,
                                   self.settings.cross_lingual_allowance,
                                   self.settings.no_shared_words_penalty)
        timings = {"retrieval": time.perf_counter() - t_retrieval}
        retrieved = _doc_order(snap, retrieval)
        if confidence < self.settings.refusal_threshold:
            yield self._refusal(lang, started, confidence=confidence, retrieved=retrieved,
                                timings=timings)
            return
        if self.settings.answer_mode == "llm":
            yield from self._generate(question, lang, snap, retrieval, evidence, confidence,
                                      retrieved, timings, started)
            return
        yield from self._extract(lang, snap, retrieval, evidence, confidence, retrieved,
                                 timings, started)

    def _extract(self, lang: str, snap: Snapshot, retrieval: Retrieval,
                 evidence: Sequence[Evidence], confidence: float, retrieved: tuple[str, ...],
                 timings: dict[str, float], started: float,
                 notes: tuple[str, ...] = ()) -> Iterator[str | Answer]:
        chosen = select_sentences(snap, evidence, self.settings.max_answer_sentences,
                                  self.settings.max_answer_tokens)
        retrieval, chosen = with_contact_card(snap, retrieval, chosen)
        text, citations = compose_extractive(snap, retrieval, chosen, lang)
        if notes:
            text = "\n\n".join([*notes, text])
        yield from stream_words(text)
        timings["total"] = time.perf_counter() - started
        yield Answer(answer=text, language=lang, refused=False, citations=tuple(citations),
                     timings=timings, mode="extractive", confidence=confidence,
                     retrieved=retrieved, notes=notes)

    def _overview(self, question: str, lang: str, snap: Snapshot, entries: Sequence[VisionEntry],
                  started: float) -> Iterator[str | Answer]:
        """Which visions there are: one cited line per vision document (see overview)."""
        query = self.embedder.embed_queries([question])[0]
        lines = [i18n.text(lang, "overview_intro", count=len(entries))]
        citations: list[Citation] = []
        for n, entry in enumerate(entries, start=1):
            meta = snap.metas[entry.sentence_row]
            lines.append(f"– {meta['section']} – ”{snap.texts[entry.sentence_row]}” [{n}]")
            similarity = float(snap.vectors[entry.sentence_row] @ query)
            quoted = Evidence(entry.sentence_row, n - 1, similarity, similarity)
            citations.append(citation_for(snap, entry.chunk_row, n, similarity, [quoted]))
        text = "\n".join(lines)
        yield from stream_words(text)
        yield Answer(answer=text, language=lang, refused=False, citations=tuple(citations),
                     timings={"total": time.perf_counter() - started},
                     mode="extractive",  # in llm mode too: the list needs no model
                     confidence=max(c.score for c in citations),
                     retrieved=tuple(e.doc_id for e in entries), notes=("overview",))

    def _generate(self, question: str, lang: str, snap: Snapshot, retrieval: Retrieval,
                  evidence: Sequence[Evidence], confidence: float, retrieved: tuple[str, ...],
                  timings: dict[str, float], started: float) -> Iterator[str | Answer]:
        documents = hits_to_documents(snap, retrieval.hits[:self.settings.top_k])
        pieces: list[str] = []
        t_llm = time.perf_counter()
        try:
            for piece in self._llm_pieces(llm_inputs(question, documents, lang)):
                pieces.append(piece)
                yield piece
        except Exception as exc:  # unreachable, timeout, bad response: fall back to quotes
            log.warning("LLM backend failed (%s); answering extractively", exc)
            timings["llm"] = time.perf_counter() - t_llm
            yield from self._extract(lang, snap, retrieval, evidence, confidence, retrieved,
                                     timings, started,
                                     notes=(i18n.text(lang, "llm_fallback"),))
            return
        timings["llm"] = time.perf_counter() - t_llm
        text, cited = check_citations("".join(pieces), len(documents))
        citations: list[Citation] = [
            citation_for(snap, retrieval.hits[n - 1].row, n, retrieval.hits[n - 1].score)
            for n in cited
        ]
        notes: tuple[str, ...] = ()
        if not cited:
            notes = (i18n.text(lang, "llm_no_citation"),)
            text = f"{text}\n\n{notes[0]}"
        timings["total"] = time.perf_counter() - started
        yield Answer(answer=text, language=lang, refused=False, citations=tuple(citations),
                     timings=timings, mode="llm", confidence=confidence, retrieved=retrieved,
                     notes=notes)

    def _llm_pieces(self, inputs: dict[str, str]) -> Iterator[str]:
        """The model's answer as it streams; TimeoutError once ``llm_timeout`` has passed.

        The HTTP timeout alone bounds each read, not the answer: an endpoint that
        accepts and then sends keep-alives but no tokens held a request forever
        (tests/test_faults.py). So the stream is read in a helper thread with its
        own HTTP client, and closing that client ends a read stuck at any point.
        """
        import httpx

        timeout = self.settings.llm_timeout
        deadline = time.monotonic() + timeout
        http = httpx.Client(timeout=timeout)
        chain = llm_chain(self.settings, http_client=http)
        events: queue.Queue[tuple[str, Any]] = queue.Queue()

        def read() -> None:
            try:
                for chunk in chain.stream(inputs):
                    if isinstance(chunk.content, str) and chunk.content:
                        events.put(("piece", chunk.content))
            except BaseException as exc:  # handed over to the asking thread
                events.put(("error", exc))
            else:
                events.put(("end", None))

        threading.Thread(target=read, name="llm-stream", daemon=True).start()
        try:
            while True:
                try:
                    kind, value = events.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise TimeoutError(f"no complete answer within {timeout:g} s") from None
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            http.close()

    def _refusal(self, lang: str, started: float, *, confidence: float = 0.0,
                 retrieved: tuple[str, ...] = (), timings: dict[str, float] | None = None,
                 notes: tuple[str, ...] = ()) -> Answer:
        timings = dict(timings or {})
        timings["total"] = time.perf_counter() - started
        return Answer(answer=i18n.text(lang, "refusal"), language=lang, refused=True,
                      timings=timings, mode=self.settings.answer_mode, confidence=confidence,
                      retrieved=retrieved, notes=notes)

    def _notice(self, lang: str, key: str, started: float, notes: tuple[str, ...] = (),
                **values: object) -> Answer:
        return Answer(answer=i18n.text(lang, key, **values), language=lang, refused=True,
                      timings={"total": time.perf_counter() - started},
                      mode=self.settings.answer_mode, notes=(key, *notes))

    def _trim_history(self, history: Sequence[Message]) -> list[dict[str, str]]:
        """Keep the last turns, within the history token budget; drop malformed messages."""
        kept: list[dict[str, str]] = []
        budget = self.settings.max_history_tokens
        for message in reversed(list(history or ())[-self.settings.max_history_turns * 2:]):
            if not isinstance(message, Mapping):
                continue
            role, content = message.get("role"), message.get("content")
            if role not in ("user", "assistant") or not isinstance(content, str):
                continue
            content = clean_text(content)
            cost = count_tokens(content)
            if cost > budget:
                break
            budget -= cost
            kept.append({"role": str(role), "content": content})
        return list(reversed(kept))

    # -- staff: exact wording ---------------------------------------------------------
    def find_wording(self, phrase: str, lang: str | None = None,
                     limit: int = 20) -> list[WordingMatch]:
        from assistant.wording import find_wording

        return find_wording(self.retriever, clean_text(phrase), lang=lang, limit=limit)


def _notice_language(question: Any, ui_lang: str | None) -> str:
    """The language of a failure notice: the question's, as for answers (the interface
    language breaks ties), so a Finnish question never gets a Swedish apology."""
    hint = ui_lang if ui_lang in LANGUAGES else None
    try:
        guess = detect_language(clean_text(question) if isinstance(question, str) else "",
                                hint=hint)
    except Exception:  # telling the failure matters more than its language
        return hint or "sv"
    return guess.lang if guess.supported and guess.lang else (hint or "sv")


def _conversation_language(history: Sequence[Message]) -> str | None:
    """The language of the latest user turn, a hint for short follow-ups."""
    for message in reversed(history):
        if message.get("role") == "user":
            guess = detect_language(message.get("content", ""))
            if guess.supported:
                return guess.lang
    return None


def _doc_order(snap: Snapshot, retrieval: Retrieval) -> tuple[str, ...]:
    """Retrieved document ids in rank order, each once."""
    return tuple(dict.fromkeys(str(snap.metas[h.row]["doc_id"]) for h in retrieval.hits))
