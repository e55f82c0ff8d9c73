"""Every text of the user interface, one table per language (sv, fi).

The assistant's own sentences (answer frames, refusals, notices) live in
``assistant.i18n``; this table holds what only the web interface says:
labels, placeholders, examples, buttons and its own status messages.
Both tables must have the same keys (a test checks it).
"""

from __future__ import annotations

from assistant import i18n
from assistant.types import LANGUAGES

#: When the browser asks for neither Swedish nor Finnish: the programme's original language.
DEFAULT_LANGUAGE = "sv"

#: The language switch names each language in that language, so anyone can find their own.
LANGUAGE_CHOICES: list[tuple[str, str]] = [("Svenska", "sv"), ("Suomi", "fi")]
LANGUAGE_SWITCH_LABEL = "Språk · Kieli"
LOGIN_MESSAGE = "Logga in · Kirjaudu sisään"
PAGE_TITLE = "Visionsassistenten · Visioavustaja"

LABELS: dict[str, dict[str, str]] = {
    "sv": {
        "app_title": "Visionsassistenten",
        "app_intro": (
            "Frågor och svar om Kommunförbundets program *Nya hållbara kommuner*. "
            "Svaren citerar programmets egna texter och visar sina källor."
        ),
        "tab_chat": "Fråga",
        "tab_wording": "Ordalydelse",
        "tab_eval": "Utvärdering",
        "chat_label": "Samtal",
        "chat_placeholder": (
            "Ställ en fråga på svenska eller finska – svaret kommer på samma språk."
        ),
        "question_label": "Din fråga",
        "question_placeholder": "Till exempel: Vad är visionen för små kommuner?",
        "send": "Skicka",
        "clear": "Rensa samtalet",
        "sources": "Källor",
        "open_source": "Öppna källsidan",
        "lang_sv": "svenska",
        "lang_fi": "finska",
        "in_sv": "På svenska",
        "in_fi": "På finska",
        "translated_from_sv": "översättning från svenska",
        "translated_from_fi": "översättning från finska",
        "original": "originaltext",
        "unofficial": "inofficiell text",
        "thinking": "Söker i källorna …",
        "feedback_saved": "Tack för ditt omdöme! Skriv gärna en kommentar nedan.",
        "feedback_removed": "Omdömet är borttaget.",
        "feedback_failed": (
            "Omdömet kunde inte sparas just nu. Chatten fungerar som vanligt."
        ),
        "feedback_no_answer": "Det finns inget svar att ge omdöme om här.",
        "comment_label": "Kommentar till ditt omdöme (valfri)",
        "comment_placeholder": "Vad var bra eller fel i svaret?",
        "comment_send": "Skicka kommentar",
        "comment_saved": "Tack! Kommentaren är sparad.",
        "comment_without_rating": "Ge först tummen upp eller ner för ett svar.",
        "wording_intro": (
            "Sök en fras eller några nyckelord. Du ser varje ordagrann passage som innehåller "
            "frasen (eller ligger närmast den), var den står och samma passage på det andra "
            "språket."
        ),
        "wording_label": "Fras eller nyckelord",
        "wording_placeholder": "Till exempel: livskraftig kommun",
        "wording_lang_label": "Sök i",
        "wording_lang_all": "båda språken",
        "wording_search": "Sök",
        "wording_empty": "Skriv en fras eller några nyckelord att söka efter.",
        "wording_none": "Ingen passage hittades för ”{phrase}”.",
        "wording_count": "{n} passager för ”{phrase}”",
        "wording_exact": "ordagrann träff",
        "wording_near": "närliggande passage",
        "wording_no_counterpart": "Ingen motsvarande passage på det andra språket.",
        "section": "avsnitt",
        "copy": "Kopiera med källa",
        "copied": "Kopierat",
        "source": "Källa",
        "eval_intro": (
            "Kör testfrågorna (`evals/questions.jsonl`) genom assistenten och se resultaten. "
            "Alla frågor tar ungefär en minut; välj färre för en snabb överblick. Samma körning "
            "finns som kommando: `visio eval`."
        ),
        "eval_count": "Antal frågor",
        "eval_run": "Kör utvärderingen",
        "eval_done": "{n} frågor besvarade på {seconds:.0f} s.",
        "eval_failed": "Utvärderingen kunde inte köras: {reason}",
        "eval_metric": "Mått",
        "eval_value": "Värde",
        "eval_minimum": "Krav",
        "eval_verdict": "Resultat",
        "eval_ok": "uppfyllt",
        "eval_fail": "underskrider kravet",
        "eval_not_measured": "kan inte mätas med dessa frågor",
        "too_long_input": "Texten är för lång ({chars} tecken, högst {limit}). Korta ner den.",
    },
    "fi": {
        "app_title": "Visioavustaja",
        "app_intro": (
            "Kysymyksiä ja vastauksia Kuntaliiton *Uudet kestävät kunnat* -ohjelmasta. "
            "Vastaukset lainaavat ohjelman omia tekstejä ja näyttävät lähteensä."
        ),
        "tab_chat": "Kysy",
        "tab_wording": "Sanamuoto",
        "tab_eval": "Arviointi",
        "chat_label": "Keskustelu",
        "chat_placeholder": "Kysy suomeksi tai ruotsiksi – vastaus tulee samalla kielellä.",
        "question_label": "Kysymyksesi",
        "question_placeholder": "Esimerkiksi: Mikä on pienten kuntien visio?",
        "send": "Lähetä",
        "clear": "Tyhjennä keskustelu",
        "sources": "Lähteet",
        "open_source": "Avaa lähdesivu",
        "lang_sv": "ruotsi",
        "lang_fi": "suomi",
        "in_sv": "Ruotsiksi",
        "in_fi": "Suomeksi",
        "translated_from_sv": "käännös ruotsista",
        "translated_from_fi": "käännös suomesta",
        "original": "alkuperäinen teksti",
        "unofficial": "epävirallinen teksti",
        "thinking": "Haen lähteistä …",
        "feedback_saved": "Kiitos palautteesta! Voit halutessasi kirjoittaa kommentin alle.",
        "feedback_removed": "Palaute on poistettu.",
        "feedback_failed": (
            "Palautetta ei voitu tallentaa juuri nyt. Keskustelu toimii normaalisti."
        ),
        "feedback_no_answer": "Tässä ei ole vastausta, josta antaa palautetta.",
        "comment_label": "Kommentti palautteeseesi (vapaaehtoinen)",
        "comment_placeholder": "Mikä vastauksessa oli hyvää tai pielessä?",
        "comment_send": "Lähetä kommentti",
        "comment_saved": "Kiitos! Kommentti on tallennettu.",
        "comment_without_rating": "Anna ensin vastaukselle peukku ylös tai alas.",
        "wording_intro": (
            "Hae fraasia tai avainsanoja. Näet jokaisen sanatarkan kohdan, jossa fraasi "
            "esiintyy (tai joka on sitä lähimpänä), sen sijainnin ja saman kohdan toisella "
            "kielellä."
        ),
        "wording_label": "Fraasi tai avainsanat",
        "wording_placeholder": "Esimerkiksi: elinvoimainen kunta",
        "wording_lang_label": "Hae kielestä",
        "wording_lang_all": "molemmat kielet",
        "wording_search": "Hae",
        "wording_empty": "Kirjoita haettava fraasi tai avainsanoja.",
        "wording_none": "Haulla ”{phrase}” ei löytynyt yhtään kohtaa.",
        "wording_count": "{n} kohtaa haulla ”{phrase}”",
        "wording_exact": "sanatarkka osuma",
        "wording_near": "lähin vastaava kohta",
        "wording_no_counterpart": "Toisella kielellä ei ole vastaavaa kohtaa.",
        "section": "osio",
        "copy": "Kopioi lähteineen",
        "copied": "Kopioitu",
        "source": "Lähde",
        "eval_intro": (
            "Aja testikysymykset (`evals/questions.jsonl`) avustajan läpi ja katso tulokset. "
            "Kaikki kysymykset vievät noin minuutin; valitse vähemmän nopeaa katsausta varten. "
            "Sama ajo on myös komentona: `visio eval`."
        ),
        "eval_count": "Kysymysten määrä",
        "eval_run": "Suorita arviointi",
        "eval_done": "{n} kysymykseen vastattu {seconds:.0f} sekunnissa.",
        "eval_failed": "Arviointia ei voitu suorittaa: {reason}",
        "eval_metric": "Mittari",
        "eval_value": "Arvo",
        "eval_minimum": "Vaatimus",
        "eval_verdict": "Tulos",
        "eval_ok": "täyttyy",
        "eval_fail": "alittaa vaatimuksen",
        "eval_not_measured": "ei mitattavissa näillä kysymyksillä",
        "too_long_input": (
            "Teksti on liian pitkä ({chars} merkkiä, enintään {limit}). Lyhennä sitä."
        ),
    },
}

#: Example questions shown in the chat, per interface language.
EXAMPLES: dict[str, list[str]] = {
    "sv": [
        "Vad är visionen för små kommuner?",
        "Hur beskrivs kranskommunerna i programmet?",
        "Vad handlar publikationen Hållbara kommuner 2030 om?",
        "Hur hänger programmet ihop med Agenda 2030?",
    ],
    "fi": [
        "Mikä on pienten kuntien visio?",
        "Miten kehyskunnat kuvataan ohjelmassa?",
        "Mistä julkaisu Kestävät kunnat 2030 kertoo?",
        "Miten ohjelma liittyy Agenda 2030:een?",
    ],
}

#: Evaluation metrics by name (keys of evals.report.HEADLINE); others keep the report's label.
METRIC_LABELS: dict[str, dict[str, str]] = {
    "sv": {
        "recall@1": "Träff bland första källan (recall@1)",
        "recall@3": "Träff bland tre första källorna (recall@3)",
        "recall@5": "Träff bland fem första källorna (recall@5)",
        "mrr": "Medelvärde av omvänd rang (MRR)",
        "ndcg@10": "Rangordningens kvalitet (nDCG@10)",
        "language_accuracy": "Svar på frågans språk",
        "refusal_precision": "Befogade vägranden (precision)",
        "refusal_recall": "Vägranden som borde ske (recall)",
        "answer_text_language_accuracy": "Svarstextens språk (språkdetektor)",
        "refusal_f1": "Vägranden, F1",
        "citation_validity": "Giltiga källhänvisningar",
        "grounded_rate": "Svar med minst en giltig källa",
        "must_include": "Svar med nödvändigt innehåll",
        "passed_rate": "Frågor som klarar alla kontroller",
        "latency_p50": "Svarstid, median",
        "latency_p95": "Svarstid, 95:e percentilen",
    },
    "fi": {
        "recall@1": "Osuma ensimmäisessä lähteessä (recall@1)",
        "recall@3": "Osuma kolmessa ensimmäisessä lähteessä (recall@3)",
        "recall@5": "Osuma viidessä ensimmäisessä lähteessä (recall@5)",
        "mrr": "Käänteisen sijan keskiarvo (MRR)",
        "ndcg@10": "Järjestyksen laatu (nDCG@10)",
        "language_accuracy": "Vastaus kysymyksen kielellä",
        "refusal_precision": "Aiheelliset kieltäytymiset (tarkkuus)",
        "refusal_recall": "Tarpeelliset kieltäytymiset (kattavuus)",
        "answer_text_language_accuracy": "Vastaustekstin kieli (kielentunnistin)",
        "refusal_f1": "Kieltäytymiset, F1",
        "citation_validity": "Pätevät lähdeviitteet",
        "grounded_rate": "Vastaukset, joilla vähintään yksi pätevä lähde",
        "must_include": "Vastauksessa tarvittava sisältö",
        "passed_rate": "Kaikki tarkistukset läpäisseet kysymykset",
        "latency_p50": "Vastausaika, mediaani",
        "latency_p95": "Vastausaika, 95. persentiili",
    },
}


def ui_language(lang: object) -> str:
    """A supported interface language ('sv' or 'fi'); anything else gives the default."""
    return lang if isinstance(lang, str) and lang in LANGUAGES else DEFAULT_LANGUAGE


def label(lang: object, key: str, **values: object) -> str:
    """The interface text ``key`` in ``lang``."""
    text = LABELS[ui_language(lang)][key]
    return text.format(**values) if values else text


def notice(lang: object, key: str, **values: object) -> str:
    """One of the assistant's own notices (index missing, internal error …) in ``lang``."""
    return i18n.text(ui_language(lang), key, **values)


def language_name(ui_lang: object, lang: str) -> str:
    """The name of ``lang`` written in the interface language ("finska", "ruotsi" …)."""
    key = f"lang_{lang}"
    return label(ui_lang, key) if key in LABELS["sv"] else lang


def pick_language(browser_languages: object) -> str:
    """The interface language for a browser's preference list ("fi-FI,en-US;q=0.8" …).

    The first preferred language we support wins; Swedish is the fallback.
    """
    if not isinstance(browser_languages, str):
        return DEFAULT_LANGUAGE
    for item in browser_languages.replace(";", ",").split(","):
        code = item.strip().lower().split("-")[0].split("_")[0]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE
