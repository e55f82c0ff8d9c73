"""Lexical matching meets inflected Swedish and Finnish word forms."""

from __future__ import annotations

from assistant.lexical import BM25, overlap, terms


def test_inflected_forms_match() -> None:
    assert overlap(terms("kranskommuner", ["sv"]), terms("Kranskommunerna känner", ["sv"])) == 1
    assert overlap(terms("pienet kunnat", ["fi"]), terms("pienissä kunnissa", ["fi"])) > 0
    assert overlap(terms("laajakaista", ["fi"]), terms("laajakaistan", ["fi"])) == 1


def test_stopwords_and_punctuation_are_not_terms() -> None:
    assert terms("Vad är det?", ["sv"]) == []
    assert terms("Mikä se on?", ["fi"]) == []


def test_a_query_stem_matches_the_compounds_it_begins() -> None:
    docs = [terms(t, ["sv"]) for t in ("Kontaktperson: Aino", "Kommunen är hemmet")]
    scores = BM25(docs).scores(terms("Vem kan jag kontakta?", ["sv"]))
    assert scores[0] > 0 and scores[1] == 0
    assert overlap(terms("kontakta", ["sv"]), docs[0]) == 1.0


def test_a_query_stem_matches_the_compounds_it_ends() -> None:
    """A compound's last part says what it is: "asetuksia" finds "oletusasetukset"."""
    docs = [terms(t, ["fi"]) for t in ("Oletusasetukset palautetaan.", "Kerrokset ovat pinossa.")]
    query = terms("Mitä asetuksia on?", ["fi"])
    scores = BM25(docs).scores(query)
    assert scores[0] > 0 and scores[1] == 0
    assert overlap(query, docs[0]) == 1.0
    assert overlap(terms("penseln", ["sv"]), terms("Välj målarpenseln", ["sv"])) == 1.0


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


def test_idf_weighted_overlap_values_rare_terms() -> None:
    idf = {"kommun": 0.1, "kontakt": 2.0}
    assert overlap(["kommun", "kontakt"], ["kontakt"], idf) > 0.9
    assert overlap(["kommun", "kontakt"], ["kommun"], idf) < 0.1
    assert overlap(["okänd"], ["kommun"], idf) == 0.0
