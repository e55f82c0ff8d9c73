"""Chunking: structure first, exact spans, sentence boundaries, token budget."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from assistant.chunking import (
    chunk_document,
    context_headings,
    count_tokens,
    document_units,
    embedding_text,
    split_sentences,
)
from assistant.types import Document

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def doc(text: str, lang: str = "sv") -> Document:
    return Document(id="t", lang=lang, title="Titel", kind="other", text=text)


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_sentences_respect_swedish_and_finnish_abbreviations() -> None:
    assert sentences("Kommunen har t.ex. bibliotek. Den har bl.a. skolor.") == [
        "Kommunen har t.ex. bibliotek.", "Den har bl.a. skolor."]
    assert sentences("Kunnassa on esim. kirjasto. Siellä on ns. lähipalveluja.") == [
        "Kunnassa on esim. kirjasto.", "Siellä on ns. lähipalveluja."]


def test_sentences_drop_enclosing_quotes_but_keep_inner_ones() -> None:
    text = '"Kommunen är invånarnas hem. Den säger "hej" ibland." - Allmän vision'
    assert sentences(text) == ["Kommunen är invånarnas hem.", 'Den säger "hej" ibland.',
                               "- Allmän vision"]


def test_sentence_needs_capital_or_digit_after_full_stop() -> None:
    assert sentences("Det kostar 3.5 miljoner. sedan fortsätter det. Nästa mening.") == [
        "Det kostar 3.5 miljoner. sedan fortsätter det.", "Nästa mening."]


def test_units_follow_structure() -> None:
    text = ("# Kontakt\n\nAino Lappalainen\nSakkunnig\n+358 9 771 2157\n\n"
            "Ansvarsområden\n\n- Kommunikation\n- Nätverket\n\nEn mening. En till.")
    units = document_units(doc(text))
    assert [text[u.start:u.end] for u in units] == [
        "Aino Lappalainen\nSakkunnig\n+358 9 771 2157", "Kommunikation", "Nätverket",
        "En mening.", "En till."]
    # the caption line before the list heads it like a sub-heading
    assert [(u.section, u.section_index, u.index_in_section, u.form) for u in units] == [
        ("Kontakt", 1, 0, "lines"), ("Ansvarsområden", 2, 0, "item"),
        ("Ansvarsområden", 2, 1, "item"), ("Ansvarsområden", 2, 2, "sentence"),
        ("Ansvarsområden", 2, 3, "sentence")]


def test_chunks_have_exact_spans_and_stay_within_budget() -> None:
    body = " ".join(f"Mening nummer {i} handlar om kommunernas framtid." for i in range(60))
    d = doc(f"# Avsnitt ett\n\n{body}\n\n# Avsnitt två\n\nKort text.")
    chunks = chunk_document(d, chunk_tokens=60, overlap_tokens=15)
    assert len(chunks) > 5
    for chunk in chunks:
        assert d.text[chunk.char_start:chunk.char_end] == chunk.text
        assert count_tokens(chunk.text) <= 60
        for s, e in chunk.sentences:
            assert chunk.char_start <= s < e <= chunk.char_end
            assert d.text[e - 1] == "." and d.text[s].isupper()  # whole sentences only
    # sections never share a chunk, and consecutive chunks overlap
    assert chunks[-1].section == "Avsnitt två" and chunks[-1].text == "Kort text."
    first_section = [c for c in chunks if c.section == "Avsnitt ett"]
    assert all(a.char_end > b.char_start for a, b in itertools.pairwise(first_section))


def test_a_sentence_over_the_budget_is_cut_at_words() -> None:
    long_sentence = "ord " * 300 + "slut."
    chunks = chunk_document(doc(long_sentence), chunk_tokens=50, overlap_tokens=0)
    assert len(chunks) >= 6
    assert all(count_tokens(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks).replace(" ", "") == long_sentence.replace(" ", "")


def test_embedding_text_adds_context() -> None:
    assert embedding_text("Vision", "Vision", "Text.") == "Vision\nText."
    assert embedding_text("Vision", "Kontakt", "Text.") == "Vision – Kontakt\nText."


def test_deep_in_a_long_document_the_sections_stand_for_the_title() -> None:
    # A manual's title says nothing about one of its sections: read with every sentence it
    # pulled them all towards the book's theme (dev: 0.54 -> 0.62 fully right on the
    # one-file manual, page layout unchanged).
    path = " › ".join(["Del I", "Kapitel 3. Bilder", "4.5. Beskär en bild"])
    assert embedding_text("Handbok", path, "Text.") == \
        "Kapitel 3. Bilder › 4.5. Beskär en bild\nText."
    assert context_headings("Handbok", "Del I › Kapitel 3") == ("Handbok", "Del I", "Kapitel 3")


@pytest.mark.parametrize("lang", ["sv", "fi"])
def test_shipped_corpus_chunks_reproduce_their_spans(lang: str) -> None:
    from assistant.documents import load_corpus

    documents = [d for d in load_corpus(CORPUS).documents if d.lang == lang]
    assert documents
    for d in documents:
        chunks = chunk_document(d, chunk_tokens=220, overlap_tokens=40)
        assert chunks, d.id
        for chunk in chunks:
            assert d.text[chunk.char_start:chunk.char_end] == chunk.text
            assert chunk.doc_id == d.id and chunk.lang == lang
            assert chunk.translation == (lang == "fi")
