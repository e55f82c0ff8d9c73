"""Language detection for questions and documents (lingua, with our adjustments)."""

from __future__ import annotations

import threading

import pytest

from assistant import language
from assistant.language import LanguageGuess, detect_language

SWEDISH = [
    "Och distansarbete?", "Vad är målet?", "Vad säger visionen om små kommuner?",
    "Vem är kontaktperson?", "Hur når jag henne?", "Och stora städer?", "Vad är en kranskommun?",
    "Bredband?", "Vilka mål har programmet?", "Vad handlar publikationen om?",
    "Tvåspråkiga kommuner", "Vad betyder multilokal?", "Digitalisering",
    "Vilken vision har regionstäderna?", "Hur arbetar man?", "Vad gäller för Åland?",
    "Vilket telefonnummer har hon?", "Finns det något om skolor?",
    "Hur ser framtidens kommun ut?", "Vad menas med livskraft?", "Vilka är ansvarsområdena?",
    "Kan du sammanfatta visionerna?", "Står det något om klimatet?", "Tack!",
    "Varför behövs visionerna?", "Säg mer om den nordiska dimensionen",
]
FINNISH = [
    "Entä etätyö?", "Mikä on tavoite?", "Mitä visio sanoo pienistä kunnista?",
    "Kuka on yhteyshenkilö?", "Kiitos!", "Entä suuret kaupungit?", "Mikä on kehyskunta?",
    "Laajakaista?", "Kaksikieliset kunnat", "Kestävät kunnat 2030", "Digitalisaatio",
    "Millainen visio seutukaupungeilla on?", "Miten työtä tehdään?", "Onko Ahvenanmaa mukana?",
    "Mikä hänen puhelinnumeronsa on?",
    "Onko kouluista mitään?", "Miltä tulevaisuuden kunta näyttää?", "Mitä elinvoima tarkoittaa?",
    "Mitkä ovat vastuualueet?", "Voitko tiivistää visiot?", "Puhutaanko ilmastosta?",
    "Miksi visioita tarvitaan?", "Kerro lisää pohjoismaisesta ulottuvuudesta",
]
ENGLISH = [
    "What is the goal of the programme?", "Who is the contact person?",
    "Tell me about small municipalities", "What about remote work?", "How is the work done?",
    "Is broadband mentioned?", "What does the vision say about bilingual municipalities?",
    "What are the six visions?", "Can you answer in English?",
]


@pytest.mark.parametrize("question", SWEDISH)
def test_swedish_questions(question: str) -> None:
    guess = detect_language(question)
    assert guess.lang == "sv", guess
    assert guess.supported


@pytest.mark.parametrize("question", FINNISH)
def test_finnish_questions(question: str) -> None:
    guess = detect_language(question)
    assert guess.lang == "fi", guess
    assert guess.supported


@pytest.mark.parametrize("question", ENGLISH)
def test_english_is_recognised_and_unsupported(question: str) -> None:
    guess = detect_language(question)
    assert guess == LanguageGuess(lang="en", confidence=guess.confidence, supported=False)
    # A hint is only a tie-breaker: it never turns clear English into Finnish.
    assert detect_language(question, hint="fi").lang == "en"


@pytest.mark.parametrize(("text", "lang"), [
    ("Was ist das Ziel des Programms?", "de"),
    ("Mis on programmi eesmärk?", "et"),
    ("Что это такое?", "ru"),
])
def test_other_languages_are_named_not_forced_into_ours(text: str, lang: str) -> None:
    guess = detect_language(text)
    assert guess.lang == lang and not guess.supported


def test_short_swedish_is_not_mistaken_for_norwegian_or_danish() -> None:
    # lingua alone ranks nynorsk/Danish close to or above Swedish on these.
    for text in ("Vem är kontaktperson?", "Vad betyder multilokal?", "Digitalisering",
                 "Hur når jag henne?"):
        assert detect_language(text).lang == "sv", text


def test_long_danish_stays_danish() -> None:
    text = ("Hvad er målet med projektet, og hvordan arbejder kommunerne med bæredygtighed i "
            "praksis? Det er et spørgsmål, som mange stiller sig selv i disse år.")
    assert detect_language(text).lang == "da"


@pytest.mark.parametrize("text", ["", "   \n", "2030", "???", "ok", "Agenda 2030?",
                                  "Agenda 2030", "Vision"])
def test_ambiguous_or_empty_text_gives_no_language(text: str) -> None:
    guess = detect_language(text)
    assert guess.lang is None and not guess.supported
    assert guess.confidence < 0.5


@pytest.mark.parametrize("hint", ["sv", "fi"])
def test_ambiguous_text_takes_the_hint(hint: str) -> None:
    assert detect_language("Agenda 2030?", hint=hint).lang == hint
    assert detect_language("", hint=hint).lang == hint
    assert detect_language("ok", hint=hint.upper()).lang == hint


def test_hint_does_not_override_clear_text() -> None:
    assert detect_language("Vad är målet?", hint="fi").lang == "sv"
    assert detect_language("Mikä on tavoite?", hint="sv").lang == "fi"


def test_urls_and_addresses_do_not_decide_the_language() -> None:
    text = "Mikä on tavoite? https://www.kommunforbundet.fi/utveckling-och-digitalisering"
    assert detect_language(text).lang == "fi"


def test_only_the_beginning_of_a_long_text_is_read() -> None:
    swedish = "Kommunen är invånarnas hem och bygger sin framtid långsiktigt. " * 200
    finnish = "Kunta on asukkaidensa koti ja rakentaa tulevaisuuttaan pitkäjänteisesti. " * 5000
    guess = detect_language(swedish + finnish)
    assert len(swedish) > language.MAX_DETECT_CHARS
    assert guess.lang == "sv" and guess.confidence > 0.9


def test_detector_is_built_once_and_shared_between_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(language, "_detector", None)  # threads race to build it
    results: list[tuple[int, str | None]] = []

    def work(text: str) -> None:
        results.append((id(language.detector()), detect_language(text).lang))

    threads = [threading.Thread(target=work, args=(text,))
               for text in ("Vad är målet?", "Mikä on tavoite?") * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({detector_id for detector_id, _ in results}) == 1
    assert sorted(lang or "" for _, lang in results) == ["fi"] * 4 + ["sv"] * 4
