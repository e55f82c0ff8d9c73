"""The assistant: a question (and its conversation) in, a grounded Answer out.

The path is one straight line: understand the message (``understanding``),
retrieve passages (``retrieval``), score their units and choose what to quote
(``evidence``), judge whether the evidence holds what was asked
(``answerability``), and let the chosen answerer write the answer
(``answerers``). Small talk, task requests and unsupported languages are
answered before any search.

One object per process holds the heavy parts (embedding model, index snapshot)
and is safe to share between concurrent requests. Every failure a user can cause
or meet (empty or huge input, an unsupported language, a missing index, an
unreachable language model) becomes a polite Answer in the user's language,
never an exception.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda

from assistant import languages
from assistant.answerability import chance_level, confidence, judge, with_what_is_asked
from assistant.answerers import Answerers, Context
from assistant.answerers.compose import decline_text, retrieved_ids, stream_words, task_refusal_text
from assistant.chunking import count_tokens
from assistant.collection import CollectionInfo, load_collection
from assistant.config import Settings
from assistant.embeddings import Embedder, get_embedder
from assistant.evidence import is_echo, score, select, with_way_there
from assistant.language import detect_language, detector
from assistant.lexical import terms
from assistant.retrieval import (
    Formulation,
    Retrieval,
    Retriever,
    Snapshot,
    VisioRetriever,
    hits_from_documents,
)
from assistant.spelling import respell
from assistant.store import IndexUnavailable, open_store
from assistant.text import clean_text
from assistant.types import Answer, WordingMatch
from assistant.understanding import Query, understand
from assistant.wording import translated

log = logging.getLogger(__name__)

Message = Mapping[str, str]
# Ranked documents reported with each answer (evaluation computes nDCG@10 on them).
RETRIEVED_FOR_EVALUATION = 10
#: Notes of answers that are about the input or the service, not the sources.
NOTICES = ("empty_question", "question_too_long", "index_missing", "internal_error",
           "unsupported_language")


class Assistant:
    """Shared by all requests of a process; see ``ask`` and ``ask_stream``.

    ``retriever``: any LangChain ``BaseRetriever`` whose documents carry the index's
    metadata may replace the built-in hybrid search (the answer step is the same).
    """

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 retriever: BaseRetriever | None = None) -> None:
        self.settings = settings
        languages.configure(settings.language_codes,
                            [settings.language_dir] if settings.language_dir else [])
        self.embedder = embedder or get_embedder(settings)
        self.external_retriever = retriever
        self._retriever: Retriever | None = None
        self.collection: CollectionInfo = load_collection(settings.corpus_dir)
        self.answerers = Answerers(settings, self.context_terms)

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

    @property
    def context_terms(self) -> frozenset[str]:
        """Words naming the collection itself (its names and descriptions), in every
        language: part of many questions, never a topic of their own."""
        texts = [*self.collection.names.values(), *self.collection.descriptions.values()]
        return frozenset(terms(" ".join(texts), languages.codes()))

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
        warm = getattr(self.answerers.mode, "warm_up", None)
        if warm is not None:
            warm(self.settings)
        try:
            library = self.snapshot()
            respell("warm-up", library)
            for code in languages.codes():
                self.chance_level(library, code)
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
        text = clean_text(question if isinstance(question, str) else str(question or ""))
        history = self._trim_history(history)
        hint = _conversation_language(history) or (ui_lang if ui_lang in languages.registry()
                                                   else None)
        tokens = count_tokens(text)
        if tokens > self.settings.max_question_tokens:
            guess = detect_language(text[:2000], hint=hint)
            lang = guess.lang if guess.supported else (hint or languages.registry().default.code)
            yield self._notice(lang, "question_too_long", started, tokens=tokens,
                               limit=self.settings.max_question_tokens)
            return
        query = understand(text, history, hint=hint)
        if query.intent != "question":
            yield self._before_search(query, started)
            return
        library = self.snapshot()
        respelled = respell(text, library)
        if respelled != text:
            query = understand(respelled, history, hint=hint)
        query = with_translations(query, library, self.context_terms)
        answerer = self.answerers.choose(query, library)
        context = Context(query=query, settings=self.settings, library=library,
                          collection=self.collection, embedder=self.embedder, started=started)
        if not answerer.needs_retrieval:
            yield from answerer.answer(context)
            return
        context = self._examine(context)
        verdict = context.verdict
        assert verdict is not None
        if verdict.outcome == "decline":
            yield from self._decline(context)
            return
        yield from answerer.answer(context)

    def _examine(self, context: Context) -> Context:
        """Retrieve, score, choose the units to quote and judge answerability."""
        t0 = time.perf_counter()
        query = context.query
        retrieval = self._retrieve(query, context.library)
        scored = score(retrieval, self.context_terms)
        selection = select(scored, asks=query.asks,
                           max_units=self.settings.max_answer_sentences,
                           max_tokens=self.settings.max_answer_tokens, names=query.names)
        selection = with_what_is_asked(selection, scored, query)
        selection = with_way_there(selection, scored, query.asks)
        relevance = confidence(scored, self.settings, query.wants) - self.chance_level(
            context.library, query.lang)
        verdict = judge(query, scored, selection, relevance, self.settings)
        timings = {"retrieval": time.perf_counter() - t0}
        return Context(query=query, settings=self.settings, library=context.library,
                       collection=self.collection, embedder=self.embedder,
                       started=context.started, retrieval=retrieval, scored=scored,
                       selection=selection, verdict=verdict,
                       retrieved=retrieved_ids(retrieval.hits), timings=timings)

    def chance_level(self, library: Snapshot, lang: str) -> float:
        """The relevance unrelated questions reach on this index (answerability.chance_level)."""
        def relevance(question: str) -> float:
            probe = understand(question, hint=lang)
            scored = score(self._retrieve(probe, library), self.context_terms)
            return confidence(scored, self.settings, probe.wants)

        return chance_level(library, lang, relevance)

    def _retrieve(self, query: Query, library: Snapshot) -> Retrieval:
        k = max(self.settings.top_k, RETRIEVED_FOR_EVALUATION)
        if self.external_retriever is None:
            return self.retriever.search(query.formulations, query.lang, k=k)
        documents = self.external_retriever.invoke(query.formulations[-1].text)
        hits = hits_from_documents(documents, self.embedder, library)
        vectors = self.embedder.embed_queries([f.text for f in query.formulations])
        query_terms = tuple(tuple(terms(f.text, [query.lang])) for f in query.formulations)
        return Retrieval(query.formulations, query.lang, vectors, query_terms, tuple(hits[:k]),
                         library)

    def _decline(self, context: Context) -> Iterator[str | Answer]:
        """Say what the sources lack (and what they do say on the topic), in frames."""
        verdict = context.verdict
        assert verdict is not None
        lang = context.query.lang
        text, citations = decline_text(verdict, lang, self.collection, context.library,
                                       context.selection, self.settings.refusal_threshold)
        yield from stream_words(text)
        hits = context.retrieval.hits if context.retrieval else ()
        yield Answer(answer=text, language=lang, refused=True, citations=tuple(citations),
                     timings=context.elapsed(), mode=self.settings.answer_mode,
                     confidence=verdict.confidence, retrieved=retrieved_ids(hits, citations),
                     notes=(verdict.reason,), missing=verdict.missing)

    def _before_search(self, query: Query, started: float) -> Answer:
        """Answers that need no search: small talk, empty input, other languages, tasks."""
        if query.intent == "smalltalk":
            return self._notice(query.lang, f"smalltalk_{query.detail}", started)
        if query.intent == "empty":
            return self._notice(query.lang, "empty_question", started)
        if query.intent == "unsupported":
            text = "\n".join(
                language.text("unsupported_language", languages=language.join(
                    [language.name_of(code) for code in languages.codes()]))
                for language in languages.registry())
            return Answer(answer=text, language=query.detail, refused=True,
                          timings={"total": time.perf_counter() - started},
                          mode=self.settings.answer_mode, notes=("unsupported language",))
        return Answer(answer=task_refusal_text(query.lang, self.collection),
                      language=query.lang, refused=True,
                      timings={"total": time.perf_counter() - started},
                      mode=self.settings.answer_mode, notes=(f"task request: {query.detail}",))

    def _notice(self, lang: str, key: str, started: float, notes: tuple[str, ...] = (),
                **values: object) -> Answer:
        return Answer(answer=languages.get(lang).text(key, **values), language=lang,
                      refused=True, timings={"total": time.perf_counter() - started},
                      mode=self.settings.answer_mode, notes=(key, *notes))

    def _trim_history(self, history: Sequence[Message]) -> list[dict[str, str]]:
        """Keep the last turns, within the history token budget; drop malformed messages."""
        kept: list[dict[str, str]] = []
        budget = self.settings.max_history_tokens
        turns = self.settings.max_history_turns * 2
        recent = list(history or ())[-turns:] if turns else []
        for message in reversed(recent):
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

        return find_wording(self.snapshot(), self.embedder, clean_text(phrase), lang=lang,
                            limit=limit)


#: The weight of a quoted phrase's sentence in the asker's language among the search's
#: formulations: twice the question's, as the phrase stands verbatim in its original.
TRANSLATION_WEIGHT = 2.0
#: A quoted phrase is searched by its translation only when it stands in at most this many
#: sentences: a phrase found in many places names a topic the question's own search finds.
TRANSLATED_SENTENCES = 1


def with_translations(query: Query, library: Snapshot,
                      context_terms: frozenset[str] = frozenset()) -> Query:
    """A phrase quoted from the other language's text ("Mitä ovat ne 'idémöten' …?") is
    searched for by what it says in the asker's language too: the counterparts of the
    sentences holding it. A wording check asks whether it stands, and is left as it is."""
    if not query.quoted or "wording" in query.asks:
        return query
    found = translated(library, query.quoted[0], query.lang, limit=TRANSLATED_SENTENCES,
                       skip=lambda unit: is_echo(unit, context_terms))
    if not found:
        return query
    extra = tuple(Formulation(u.text, TRANSLATION_WEIGHT, "translation") for u in found)
    return dataclasses.replace(query, formulations=query.formulations + extra)


def _notice_language(question: Any, ui_lang: str | None) -> str:
    """The language of a failure notice: the question's, as for answers (the interface
    language breaks ties), so a Finnish question never gets a Swedish apology."""
    registry = languages.registry()
    hint = ui_lang if ui_lang in registry else None
    try:
        guess = detect_language(clean_text(question) if isinstance(question, str) else "",
                                hint=hint)
    except Exception:  # telling the failure matters more than its language
        return hint or registry.default.code
    return guess.lang if guess.supported and guess.lang else (hint or registry.default.code)


def _conversation_language(history: Sequence[Message]) -> str | None:
    """The language of the latest user turn, a hint for short follow-ups."""
    for message in reversed(history):
        if message.get("role") == "user":
            guess = detect_language(message.get("content", ""))
            if guess.supported:
                return guess.lang
    return None
