"""The optional generative answer: the retrieved passages to an LLM, its citations checked.

The same numbered passages go to any OpenAI-compatible chat endpoint (through a
LangChain chain: prompt | ChatOpenAI) with the asker's language's instructions
(its language file's ``[llm]``) to answer only from them, citing ``[n]``,
treating the passages as data. Citation markers outside the retrieved set are
removed and an answer citing nothing is flagged. If the endpoint is unreachable,
too slow or broken, the answer falls back to quotes with a note.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from langchain_core.documents import Document as LCDocument
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from assistant import languages
from assistant.answerers.base import Context
from assistant.answerers.compose import citation, collection_values, retrieved_ids
from assistant.answerers.extractive import ExtractiveAnswerer
from assistant.collection import CollectionInfo
from assistant.config import Settings
from assistant.retrieval import Snapshot, hits_to_documents
from assistant.types import Answer, Citation
from assistant.understanding import Query

log = logging.getLogger(__name__)

PROMPT = ChatPromptTemplate.from_messages([
    ("system", "{rules}"),
    ("human", "{sources_label}:\n{context}\n\n{question_label}: {question}"),
])
_MARKER = re.compile(r"\[(\d{1,3})\]")


def llm_inputs(question: str, documents: Sequence[LCDocument], lang: str,
               collection: CollectionInfo | None = None) -> dict[str, str]:
    """The prompt's variables: rules, then numbered passages as data, then the question."""
    language = languages.get(lang)
    context = "\n\n".join(
        f"[{n}] {doc.metadata.get('title', '')} ({doc.metadata.get('lang', '')})\n"
        f"<<<\n{doc.page_content}\n>>>"
        for n, doc in enumerate(documents, start=1))
    about = collection_values(collection or CollectionInfo(), lang)["about"]
    return {
        "rules": language.text("llm_system", collection_about=about),
        "sources_label": language.text("llm_sources_label"),
        "question_label": language.text("llm_question_label"),
        "context": context,
        "question": question,
    }


def check_citations(text: str, available: int) -> tuple[str, list[int]]:
    """Drop markers that point outside the retrieved set; return the cited numbers in order."""
    cited: list[int] = []

    def keep(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if 1 <= n <= available:
            if n not in cited:
                cited.append(n)
            return match.group(0)
        return ""

    cleaned = _MARKER.sub(keep, text)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip(), cited


def llm_chain(settings: Settings, http_client: Any = None) -> Runnable:
    """prompt | chat model, as an LCEL chain over any OpenAI-compatible endpoint.

    ``http_client`` (an ``httpx.Client``) lets the caller close a stuck stream.
    """
    from langchain_openai import ChatOpenAI  # imported only when the LLM mode is used

    return PROMPT | ChatOpenAI(
        base_url=settings.llm_base_url,
        model=settings.llm_model or "default",
        api_key=settings.llm_api_key or "not-needed",
        timeout=settings.llm_timeout,
        max_retries=0,
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        streaming=True,
        http_client=http_client,
    )


class LlmAnswerer:
    """A language model writes the answer from the retrieved passages."""

    name: ClassVar[str] = "llm"
    needs_retrieval: ClassVar[bool] = True

    def __init__(self) -> None:
        self.fallback = ExtractiveAnswerer()

    def accepts(self, query: Query, library: Snapshot) -> bool:
        return True

    def warm_up(self, settings: Settings) -> None:
        llm_chain(settings)  # imports the OpenAI client (seconds); connects nowhere

    def answer(self, context: Context) -> Iterator[str | Answer]:
        assert context.retrieval is not None and context.verdict is not None
        settings = context.settings
        lang = context.query.lang
        hits = context.retrieval.hits[:settings.top_k]
        documents = hits_to_documents(hits)
        pieces: list[str] = []
        started = time.perf_counter()
        inputs = llm_inputs(context.query.text, documents, lang, context.collection)
        try:
            for piece in self._pieces(settings, inputs):
                pieces.append(piece)
                yield piece
        except Exception as exc:  # unreachable, timeout, bad response: fall back to quotes
            log.warning("LLM backend failed (%s); answering extractively", exc)
            context.timings["llm"] = time.perf_counter() - started
            yield from self.fallback.answer(
                context, notes=(languages.get(lang).text("llm_fallback"),))
            return
        context.timings["llm"] = time.perf_counter() - started
        text, cited = check_citations("".join(pieces), len(documents))
        citations: list[Citation] = [citation(n, hits[n - 1].passage, hits[n - 1].score)
                                     for n in cited]
        notes: tuple[str, ...] = ()
        if not cited:
            notes = (languages.get(lang).text("llm_no_citation"),)
            text = f"{text}\n\n{notes[0]}"
        yield Answer(answer=text, language=lang, refused=False, citations=tuple(citations),
                     timings=context.elapsed(), mode=self.name,
                     confidence=context.verdict.confidence,
                     retrieved=retrieved_ids(context.retrieval.hits, citations), notes=notes)

    def _pieces(self, settings: Settings, inputs: dict[str, str]) -> Iterator[str]:
        """The model's answer as it streams; TimeoutError once ``llm_timeout`` has passed.

        The HTTP timeout alone bounds each read, not the answer: an endpoint that
        accepts and then sends keep-alives but no tokens held a request forever
        (tests/test_faults.py). So the stream is read in a helper thread with its
        own HTTP client, and closing that client ends a read stuck at any point.
        """
        import httpx

        timeout = settings.llm_timeout
        deadline = time.monotonic() + timeout
        http = httpx.Client(timeout=timeout)
        chain = llm_chain(settings, http_client=http)
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
