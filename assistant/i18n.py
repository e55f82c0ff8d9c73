"""Every fixed sentence the assistant says, one table per language.

Answers are made of these frames plus verbatim corpus sentences, so keeping
the frames here (and only here) makes it easy to check that nothing else in
an answer is invented.
"""

from __future__ import annotations

from assistant.types import LANGUAGES

PROGRAMME = {"sv": "Nya hållbara kommuner", "fi": "Uudet kestävät kunnat"}

TEXTS: dict[str, dict[str, str]] = {
    "sv": {
        "source_intro": "Så här står det i ”{title}”:",
        "more_intro": "I ”{title}” står det också:",
        "other_language_intro": "Det här finns bara på finska, i ”{title}”:",
        "overview_intro": "Nya hållbara kommuner har {count} visioner för framtidens kommun:",
        "refusal": (
            "Jag hittar inget svar på den frågan i materialet om Nya hållbara kommuner. "
            "Jag kan svara på frågor om programmet och dess sex visioner (allmän vision, "
            "stora städer, regionstäder, kranskommuner, små kommuner, svensk- och "
            "tvåspråkiga kommuner), målen, publikationen Kestävät kunnat 2030, Agenda 2030 "
            "och kontaktpersonen."
        ),
        "empty_question": "Skriv en fråga om Nya hållbara kommuner, så svarar jag.",
        "smalltalk_greeting": (
            "Hej! Fråga gärna om Nya hållbara kommuner, till exempel om visionen för "
            "din typ av kommun."
        ),
        "smalltalk_thanks": "Varsågod! Fråga gärna mer om Nya hållbara kommuner.",
        "smalltalk_goodbye": "Hej då och välkommen tillbaka!",
        "question_too_long": (
            "Frågan är för lång ({tokens} token, högst {limit}). Korta ner den och försök igen."
        ),
        "index_missing": (
            "Sökindexet är inte tillgängligt just nu, så jag kan inte svara. "
            "Administratören kan bygga det med kommandot `visio index build`."
        ),
        "internal_error": "Något gick fel när svaret skulle tas fram. Försök igen om en stund.",
        "llm_fallback": (
            "Språkmodellen svarade inte, så svaret består av citat ur källorna."
        ),
        "llm_no_citation": (
            "Obs: svaret hänvisar inte till någon källa och kan därför inte kontrolleras."
        ),
        "translation_label": "översättning från svenska",
        "original_label": "original",
        "lang_sv": "svenska",
        "lang_fi": "finska",
    },
    "fi": {
        "source_intro": "Lähteessä ”{title}” sanotaan näin:",
        "more_intro": "Lähteessä ”{title}” sanotaan myös:",
        "other_language_intro": "Tästä on tietoa vain ruotsiksi, lähteessä ”{title}”:",
        "overview_intro": (
            "Uudet kestävät kunnat -ohjelmassa on {count} visiota tulevaisuuden kunnasta:"
        ),
        "refusal": (
            "En löydä vastausta tähän kysymykseen Uudet kestävät kunnat -aineistosta. "
            "Voin vastata kysymyksiin ohjelmasta ja sen kuudesta visiosta (yleinen visio, "
            "suuret kaupungit, seutukaupungit, kehyskunnat, pienet kunnat, ruotsin- ja "
            "kaksikieliset kunnat), tavoitteista, julkaisusta Kestävät kunnat 2030, "
            "Agenda 2030:stä ja yhteyshenkilöstä."
        ),
        "empty_question": "Kirjoita kysymys Uudet kestävät kunnat -ohjelmasta, niin vastaan.",
        "smalltalk_greeting": (
            "Hei! Kysy mielelläsi Uudet kestävät kunnat -ohjelmasta, esimerkiksi oman "
            "kuntatyyppisi visiosta."
        ),
        "smalltalk_thanks": "Ole hyvä! Kysy mielelläsi lisää Uudet kestävät kunnat -ohjelmasta.",
        "smalltalk_goodbye": "Näkemiin ja tervetuloa uudelleen!",
        "question_too_long": (
            "Kysymys on liian pitkä ({tokens} tokenia, enintään {limit}). "
            "Lyhennä sitä ja yritä uudelleen."
        ),
        "index_missing": (
            "Hakuhakemisto ei ole juuri nyt käytettävissä, joten en voi vastata. "
            "Ylläpitäjä voi rakentaa sen komennolla `visio index build`."
        ),
        "internal_error": (
            "Vastauksen muodostamisessa tapahtui virhe. Yritä hetken päästä uudelleen."
        ),
        "llm_fallback": "Kielimalli ei vastannut, joten vastaus koostuu lähteiden lainauksista.",
        "llm_no_citation": (
            "Huom: vastauksessa ei viitata yhteenkään lähteeseen, joten sitä ei voi tarkistaa."
        ),
        "translation_label": "käännös ruotsista",
        "original_label": "alkuperäinen",
        "lang_sv": "ruotsi",
        "lang_fi": "suomi",
    },
}

#: Said when a question is in neither Swedish nor Finnish: both languages at once.
UNSUPPORTED_LANGUAGE = (
    "Jag svarar på svenska och finska – ställ gärna din fråga på något av dem.\n"
    "Vastaan ruotsiksi ja suomeksi – kysy mielelläsi jommallakummalla kielellä."
)


def text(lang: str, key: str, **values: object) -> str:
    """The fixed text ``key`` in ``lang`` (Swedish when the language is not supported)."""
    table = TEXTS[lang if lang in LANGUAGES else "sv"]
    return table[key].format(**values) if values else table[key]
