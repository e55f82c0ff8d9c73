"""Lexical matching meets inflected Swedish and Finnish word forms."""

from __future__ import annotations

from assistant.lexical import BM25, overlap, terms


def test_inflected_forms_share_terms() -> None:
    assert set(terms("kranskommuner", ["sv"])) & set(terms("Kranskommunerna känner", ["sv"]))
    assert set(terms("pienet kunnat", ["fi"])) & set(terms("pienissä kunnissa", ["fi"]))
    assert set(terms("laajakaista", ["fi"])) & set(terms("laajakaistan", ["fi"]))


def test_stopwords_and_punctuation_are_not_terms() -> None:
    assert terms("Vad är det?", ["sv"]) == []
    assert terms("Mikä se on?", ["fi"]) == []


def test_long_compounds_also_index_their_first_part() -> None:
    assert "kommun…" in terms("kommunikationssakkunnig", ["sv"])


def test_bm25_ranks_the_document_with_the_rare_term_first() -> None:
    docs = [terms(t, ["sv"]) for t in (
        "Små kommuner har snabbt bredband.",
        "Stora städer är motorer för tillväxt.",
        "Kommuner samarbetar med andra kommuner.",
    )]
    scores = BM25(docs).scores(terms("bredband i kommuner", ["sv"]))
    assert scores.argmax() == 0
    assert scores[1] == 0.0


def test_overlap_is_the_share_of_query_terms_found() -> None:
    assert overlap(["a", "b"], ["b", "c"]) == 0.5
    assert overlap([], ["b"]) == 0.0
