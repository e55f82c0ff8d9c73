"""Structure questions ("which visions are there?") list every document of a declared kind.

On the shipped corpus the six vision documents declare ``kind: vision`` and share the
word in their titles; nothing in the code names them.
"""

from __future__ import annotations

import pytest

from assistant.assistant import Assistant
from assistant.answerers.structure import matching_group
from assistant.understanding import understand

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("question, lang", [
    ("Vilka visioner finns det?", "sv"),
    ("Hur många visioner har Kommunförbundet tagit fram?", "sv"),
    ("Vilka visioner har Nya hållbara kommuner för olika kommuner?", "sv"),
    ("Mitä visioita ohjelmassa on?", "fi"),
    ("Kuinka monta visiota Kuntaliitto on tehnyt?", "fi"),
])
def test_every_vision_is_listed_with_a_cited_verbatim_sentence(assistant: Assistant,
                                                               question: str, lang: str) -> None:
    answer = assistant.ask(question)
    snap = assistant.snapshot()
    visions = {s.doc_id for s in snap.documents() if s.kind == "vision"}
    assert not answer.refused and answer.language == lang
    assert answer.citations[0].doc_id == "vision-general"  # the page's order
    assert {c.doc_id for c in answer.citations} == visions and len(answer.citations) == 6
    lines = answer.answer.splitlines()
    assert len(lines) == 1 + len(visions) and "6" in lines[0]
    for n, (line, citation) in enumerate(zip(lines[1:], answer.citations, strict=True), 1):
        assert citation.n == n and citation.lang == lang and line.endswith(f"[{n}]")
        start, end = citation.highlights[0]
        quoted = line.split("”")[1]
        source = next(d for d in _documents(assistant) if (d.id, d.lang) == (citation.doc_id,
                                                                             citation.lang))
        assert source.text[start:end] == quoted and citation.section in line
    assert set(answer.retrieved) == visions


@pytest.mark.parametrize("question, lang", [
    ("Mitä visiot sanovat digitalisaatiosta?", "fi"),  # a topic: retrieval answers it
    ("Vad säger visionerna om bredband?", "sv"),
    ("Mitkä visiot koskevat pieniä kuntia?", "fi"),  # one vision named
    ("Vilka visioner gäller kranskommuner?", "sv"),
    ("Mitä tarkoittaa 'kranskommuner' ja mikä niiden visio on?", "fi"),
    ("Vad är visionen för regionstäder?", "sv"),
])
def test_questions_about_a_topic_or_one_vision_are_not_overviews(assistant: Assistant,
                                                                 question: str,
                                                                 lang: str) -> None:
    assert matching_group(understand(question), assistant.snapshot(),
                          assistant.context_terms) is None
    answer = assistant.ask(question)
    assert "structure" not in answer.notes
    assert len({c.doc_id for c in answer.citations}) <= 2  # at most two sources, not six


def _documents(assistant: Assistant):
    from assistant.documents import load_corpus

    return load_corpus(assistant.settings.corpus_dir).documents
