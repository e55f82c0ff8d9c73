"""The corpus: the shipped documents, the file formats, bad files, precedence, adding files."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from assistant.documents import (
    CorpusLoad,
    DocumentError,
    Problem,
    add_document,
    document_hash,
    load_corpus,
    load_file,
    pdf_paragraphs,
    slugify,
)
from assistant.language import detect_language
from assistant.types import KIND_PATTERN

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
SOURCE = Path("/work/shared/corpus-source/nya-hallbara-kommuner.sv.txt")
SOURCE_URL = "https://www.kommunforbundet.fi/utveckling-och-digitalisering/nya-hallbara-kommuner"
KIND_OF = {
    "about": "about", "vision-general": "vision", "vision-large-cities": "vision",
    "vision-regional-cities": "vision", "vision-suburban": "vision", "vision-small": "vision",
    "vision-bilingual": "vision", "goals": "goal", "publication-2030": "publication",
    "agenda-2030": "agenda", "contact": "contact",
}
# Layout markers of the web page, and the attribution of the repeated general vision.
NOT_CONTENT = {"centred-liftup", "lateral-image-left", "lateral-image-right", "tags",
               "Allmän vision 2030 / Nya hållbara kommuner"}

SENTENCE_BREAK = re.compile(r'(?<=[.!?])\s+|(?<=[.!?]")\s+')
MARKER = re.compile(r"^(?:#{1,6} |- |\s*• )")


@pytest.fixture(scope="module")
def shipped() -> CorpusLoad:
    return load_corpus(CORPUS)


def shipped_doc(corpus: CorpusLoad, doc_id: str, lang: str):
    return next(d for d in corpus.documents if (d.id, d.lang) == (doc_id, lang))


def sentences(line: str) -> list[str]:
    return [s for s in SENTENCE_BREAK.split(MARKER.sub("", line).strip()) if s]


def structure(text: str) -> list[list[tuple[str, int]]]:
    """Per paragraph, per line: the line's Markdown marker and its number of sentences."""
    return [[(MARKER.match(line).group(0).strip() if MARKER.match(line) else "",
              len(sentences(line))) for line in paragraph.splitlines()]
            for paragraph in re.split(r"\n[ \t]*\n", text)]


# --- the shipped corpus ----------------------------------------------------------------------

def test_shipped_corpus_yields_every_id_in_both_languages(shipped: CorpusLoad) -> None:
    assert shipped.problems == ()
    for lang in ("sv", "fi"):
        assert {d.id for d in shipped.documents if d.lang == lang} == set(KIND_OF), lang
    assert len(shipped.documents) == 2 * len(KIND_OF)
    assert list(shipped.documents) == sorted(shipped.documents, key=lambda d: (d.id, d.lang))


def test_swedish_is_official_and_finnish_is_a_marked_translation(shipped: CorpusLoad) -> None:
    for doc in shipped.documents:
        assert doc.kind == KIND_OF[doc.id] and KIND_PATTERN.match(doc.kind)
        assert doc.source_url == SOURCE_URL
        assert doc.path == f"{doc.lang}/{doc.id}.md"
        if doc.lang == "sv":
            assert doc.official and not doc.is_translation
        else:
            assert not doc.official and doc.translation_of == "sv" and doc.is_translation


def test_titles_are_localised(shipped: CorpusLoad) -> None:
    for doc_id in KIND_OF:
        sv, fi = shipped_doc(shipped, doc_id, "sv"), shipped_doc(shipped, doc_id, "fi")
        assert sv.title and fi.title and sv.title != fi.title
        assert detect_language(sv.title + ". " + sv.text).lang == "sv"
        assert detect_language(fi.title + ". " + fi.text).lang == "fi"


def test_each_text_is_in_its_declared_language(shipped: CorpusLoad) -> None:
    for doc in shipped.documents:
        assert detect_language(doc.text).lang == doc.lang, doc.path


def test_finnish_is_aligned_with_swedish(shipped: CorpusLoad) -> None:
    """Same paragraphs, lines, list markers, heading levels and sentence counts."""
    for doc_id in KIND_OF:
        sv, fi = shipped_doc(shipped, doc_id, "sv"), shipped_doc(shipped, doc_id, "fi")
        assert structure(fi.text) == structure(sv.text), doc_id


def test_quotable_units_pair_up_across_languages(shipped: CorpusLoad) -> None:
    """The staff wording view pairs the chunker's units (sentences, items, cards) by position."""
    from assistant.chunking import document_units

    for doc_id in KIND_OF:
        sv, fi = shipped_doc(shipped, doc_id, "sv"), shipped_doc(shipped, doc_id, "fi")
        positions = [[(u.section_index, u.index_in_section) for u in document_units(d)]
                     for d in (sv, fi)]
        assert positions[0] == positions[1], doc_id


def test_swedish_text_is_word_for_word_from_the_page(shipped: CorpusLoad) -> None:
    page = SOURCE.read_text(encoding="utf-8").replace("\xa0", " ")
    for doc in shipped.documents:
        if doc.lang != "sv":
            continue
        position = 0
        for line in doc.text.splitlines():
            for sentence in sentences(line):
                found = page.find(sentence)
                assert found >= 0, f"{doc.path}: not on the page: {sentence!r}"
                if not line.startswith("#"):  # body text keeps the page's order
                    assert found >= position, f"{doc.path}: out of order: {sentence!r}"
                    position = found


def test_every_sentence_of_the_page_is_in_the_corpus(shipped: CorpusLoad) -> None:
    swedish = "\n".join(d.text for d in shipped.documents if d.lang == "sv")
    page = SOURCE.read_text(encoding="utf-8").replace("\xa0", " ")
    missing = {sentence for line in page.splitlines() for sentence in sentences(line)
               if sentence not in swedish}
    assert missing == NOT_CONTENT


def test_debris_and_repeats_are_not_content(shipped: CorpusLoad) -> None:
    texts = [d.text for d in shipped.documents]
    assert not any(marker in text for text in texts for marker in
                   ("centred-liftup", "lateral-image", "tags"))
    general = shipped_doc(shipped, "vision-general", "sv").text
    assert sum(text.count(general.splitlines()[2]) for text in texts) == 1  # the quotation
    contact = shipped_doc(shipped, "contact", "sv").text
    assert contact.count("Aino Lappalainen") == 1


def test_contact_card_lines_and_responsibilities(shipped: CorpusLoad) -> None:
    sv = shipped_doc(shipped, "contact", "sv").text.splitlines()
    assert sv[:4] == ["Aino Lappalainen", "Projekt- och kommunikationssakkunnig",
                      "Strategienheten, Digitalisering och informationssamhället",
                      "+358 9 771 2157, +358 50 348 8185"]
    assert [line for line in sv if line.startswith("- ")] == [
        "- Kommunikation om nya hållbara kommuner",
        "- nätverket för gemensamma digitala lösningar",
        "- kommunikation kring kommunernas digitala utveckling",
        "- projektet Digitalisering i det kommunala arbetet"]
    fi = shipped_doc(shipped, "contact", "fi").text
    assert "+358 9 771 2157, +358 50 348 8185" in fi and "Aino Lappalainen" in fi


def test_goals_are_not_invented(shipped: CorpusLoad) -> None:
    assert shipped_doc(shipped, "goals", "sv").text == (
        "# Nya hållbara kommuner - våra mål\n\n"
        "Kommunerna står inför förändringar som saknar motstycke. Här är våra mål.")


# --- file formats ----------------------------------------------------------------------------

def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


SV_TEXT = ("Kommunen är invånarnas hem. Kommunen skapar en bra vardag där man tar hänsyn "
           "till alla både i den digitala och den fysiska miljön.")
FI_TEXT = ("Kunta on asukkaidensa koti. Kunta luo hyvää arkea, jossa kaikki otetaan huomioon "
           "sekä digitaalisessa että fyysisessä ympäristössä.")


def test_markdown_without_front_matter_gets_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "added" / "Små kommuner.md", f"# Pienet kunnat\n\n{FI_TEXT}\n")
    doc = load_file(path, tmp_path)
    assert (doc.id, doc.lang, doc.title, doc.kind) == ("sma-kommuner", "fi", "Pienet kunnat",
                                                       "other")
    assert doc.official and not doc.is_translation and doc.source_url == ""
    assert doc.path == "added/Små kommuner.md"


def test_front_matter_is_read_and_text_kept_exactly(tmp_path: Path) -> None:
    raw = ("\ufeff---\r\nid: 2030\r\nlang: SV\r\ntitle: Egen titel\r\nkind: vision\r\n"
           "translation_of: fi\r\nextra: {ignored: true}\r\n---\r\n\r\n"
           f"# Rubrik\r\n\r\n  {SV_TEXT}\r\n\r\n- punkt\r\n\r\n")
    doc = load_file(write(tmp_path / "x" / "a.md", raw.encode("utf-8")), tmp_path)
    assert (doc.id, doc.lang, doc.title, doc.kind) == ("2030", "sv", "Egen titel", "vision")
    assert doc.translation_of == "fi" and not doc.official
    assert doc.text == f"# Rubrik\n\n  {SV_TEXT}\n\n- punkt"


def test_plain_text_file(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path / "added" / "anteckning.txt", SV_TEXT + "\n"), tmp_path)
    assert (doc.id, doc.lang, doc.title, doc.text) == ("anteckning", "sv", "anteckning", SV_TEXT)


def test_html_becomes_markdown_like_text(tmp_path: Path) -> None:
    html = """<!DOCTYPE html><html lang="fi-FI"><head><title>Kuntien visio</title>
    <style>p { color: red }</style><script>alert("x")</script></head>
    <body><nav><a href="/">Etusivu</a> | <a href="/en">English</a></nav>
    <main><h1>Pienet   kunnat</h1><!-- kommentti -->
    <p>Kunta on <a href="#">asukkaidensa</a><i> <b>koti</b></i>.<br>Kunta luo hyvää&nbsp;arkea.</p>
    <div>Pieni kunta tarjoaa <em>usein</em> luonnonläheisen elämän.</div>
    <ul><li><p>Etätyö</p><p>monipaikkaisuus</p></li></ul>
    <ul><li>Laajakaista</li><li>Etätyö<ul><li>monipaikkaisuus</li></ul></li></ul>
    <table><tr><th>Puhelin</th><td>+358 9 771 2157</td></tr></table></main>
    <script>var tracking = 1;</script></body></html>"""
    doc = load_file(write(tmp_path / "added" / "sivu.html", html), tmp_path)
    assert doc.title == "Kuntien visio" and doc.lang == "fi" and doc.id == "sivu"
    assert doc.text == (
        "# Pienet kunnat\n\nKunta on asukkaidensa koti. Kunta luo hyvää arkea.\n\n"
        "Pieni kunta tarjoaa usein luonnonläheisen elämän.\n\n- Etätyö monipaikkaisuus\n"
        "- Laajakaista\n- Etätyö\n- monipaikkaisuus\n\nPuhelin | +358 9 771 2157")
    for debris in ("alert", "color", "Etusivu", "tracking", "kommentti"):
        assert debris not in doc.text


def test_html_language_hint_decides_a_short_ambiguous_page(tmp_path: Path) -> None:
    html = '<html lang="sv"><body><h1>Agenda 2030</h1></body></html>'
    doc = load_file(write(tmp_path / "added" / "kort.htm", html), tmp_path)
    assert doc.lang == "sv" and doc.title == "Agenda 2030"


def make_pdf(path: Path, lines: list[str], title: str = "") -> Path:
    """A real PDF with a text layer, written by matplotlib's PDF backend."""
    import matplotlib

    matplotlib.use("pdf")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(8.27, 11.69))
    for n, line in enumerate(lines):
        fig.text(0.08, 0.95 - 0.02 * n, line, fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={"Title": title} if title else None)
    plt.close(fig)
    return path


def test_real_pdf_loads_with_paragraphs(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "added" / "visio.pdf", [
        "Femte visionen: Små kommuner",
        "I små kommuner är vi nära människorna – verksamhetskulturen är smidig,",
        "snabb och innovativ. En liten kommun erbjuder ofta ett naturnära liv.",
        "En trivsam boendemiljö med gott om plats är en del av en multilokal livsstil.",
    ], title="Små kommuner")
    doc = load_file(path, tmp_path)
    assert (doc.id, doc.lang, doc.title) == ("visio", "sv", "Små kommuner")
    assert doc.text == (
        "Femte visionen: Små kommuner\n\nI små kommuner är vi nära människorna – "
        "verksamhetskulturen är smidig, snabb och innovativ. En liten kommun erbjuder ofta ett "
        "naturnära liv. En trivsam boendemiljö med gott om plats är en del av en multilokal "
        "livsstil.")


def test_pdf_lines_are_joined_into_paragraphs() -> None:
    # Wrapped lines are about as long as each other; a paragraph's last line is short.
    page_one = ("Rubrik\n"
                "Kommunerna står inför förändringar som saknar mot-\n"
                "stycke, och svensk- och tvåspråkiga kommuner samarbetar\n"
                "med andra kommuner i hela landet under en lång tid.\n"
                "Det är bra.\n"
                "Ett nytt stycke börjar här och fortsätter på nästa rad\n"
                "utan punkt.\n"
                "• Kommunikation om nya hållbara kommuner\n"
                "7")
    page_two = "Sida två börjar här med en ny mening."
    assert pdf_paragraphs([page_one, "", page_two]) == (
        "Rubrik\n\nKommunerna står inför förändringar som saknar motstycke, och svensk- och "
        "tvåspråkiga kommuner samarbetar med andra kommuner i hela landet under en lång tid. "
        "Det är bra.\n\nEtt nytt stycke börjar här och fortsätter på nästa rad utan punkt.\n\n"
        "• Kommunikation om nya hållbara kommuner\n\n"
        "Sida två börjar här med en ny mening.")


# --- bad files -------------------------------------------------------------------------------

def bad_files(root: Path) -> dict[str, str]:
    """Write one broken file per failure mode; returns path → expected words of the reason."""
    cases: dict[str, tuple[str | bytes, str]] = {
        "empty.md": (b"", "empty file"),
        "blank.txt": ("  \n\n\t\n", "whitespace only"),
        "binary.md": (b"PK\x03\x04\x00\x00\x08\x00" + bytes(range(256)), "binary file"),
        "latin1.md": (SV_TEXT.encode("latin-1"), "not UTF-8 text"),
        "utf16.txt": (SV_TEXT.encode("utf-16"), "UTF-16"),
        "only-front-matter.md": ("---\nid: x\nlang: sv\n---\n\n", "no text after the front"),
        "unclosed.md": (f"---\nid: x\nlang: sv\n{SV_TEXT}\n", "never closed"),
        "bad-yaml.md": (f"---\nid: [x\n---\n{SV_TEXT}\n", "not valid YAML"),
        "list-front-matter.md": (f"---\n- id\n- lang\n---\n{SV_TEXT}\n", "'key: value' lines"),
        "path-id.md": (f"---\nid: ../../etc/passwd\n---\n{SV_TEXT}\n", "is not valid"),
        "upper-id.md": (f"---\nid: About\n---\n{SV_TEXT}\n", "is not valid"),
        "english.md": ("The municipality is the home of its residents. It builds its future "
                       "for the long term and works together with others.\n",
                       "language 'en' is not supported (sv, fi)"),
        "declared-en.md": (f"---\nlang: en\n---\n{SV_TEXT}\n", "language 'en' is not supported"),
        "undetectable.md": ("Agenda 2030\n", "cannot be told"),
        "title-list.md": (f"---\ntitle: [a, b]\n---\n{SV_TEXT}\n", "not a list"),
        "title-mapping.md": (f"---\ntitle: {{$where: 1}}\n---\n{SV_TEXT}\n", "not a mapping"),
        "title-yes.md": (f"---\ntitle: yes\n---\n{SV_TEXT}\n", "not true/false"),
        "bad-kind.md": (f"---\nkind: Hemligt värde!\n---\n{SV_TEXT}\n", "kind 'hemligt värde!'"),
        "aligned-alone.md": (f"---\naligned: true\n---\n{SV_TEXT}\n", "aligned: true needs"),
        "bad-url.md": (f"---\nsource_url: javascript:alert(1)\n---\n{SV_TEXT}\n", "source_url"),
        "bad-official.md": (f"---\nofficial: maybe\n---\n{SV_TEXT}\n", "official must be"),
        "self-translation.md": (f"---\nlang: sv\ntranslation_of: sv\n---\n{SV_TEXT}\n",
                                "translation_of must be another language (fi)"),
        "notes.docx": (b"PK\x03\x04", "unsupported file type '.docx'"),
        "not-a-pdf.pdf": (SV_TEXT, "not a PDF"),
        "broken.pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n", "damaged PDF"),
        "deep.html": ("<div>" * 5000 + SV_TEXT + "</div>" * 5000, "nested too deeply"),
    }
    for name, (content, _) in cases.items():
        write(root / "added" / name, content)
    return {f"added/{name}": reason for name, (_, reason) in cases.items()}


def test_bad_files_are_reported_with_a_reason_and_the_rest_loads(tmp_path: Path) -> None:
    expected = bad_files(tmp_path)
    truncated = make_pdf(tmp_path / "tmp.pdf", ["Kommunen är invånarnas hem."]).read_bytes()
    write(tmp_path / "added" / "truncated.pdf", truncated[: len(truncated) // 2])
    expected["added/truncated.pdf"] = "damaged PDF"
    make_pdf(tmp_path / "added" / "no-text.pdf", [])
    expected["added/no-text.pdf"] = "no extractable text"
    write(tmp_path / "sv" / "good.md", f"---\nid: good\nlang: sv\n---\n{SV_TEXT}\n")
    write(tmp_path / "fi" / "good.md", f"---\nid: good\nlang: fi\n---\n{FI_TEXT}\n")

    result = load_corpus(tmp_path)

    assert [(d.id, d.lang) for d in result.documents] == [("good", "fi"), ("good", "sv")]
    reasons = {p.path: p.reason for p in result.problems}
    assert set(reasons) == set(expected)
    for path, words in expected.items():
        assert words in reasons[path], (path, reasons[path])
        assert "Traceback" not in reasons[path]


def test_load_file_raises_with_path_and_reason(tmp_path: Path) -> None:
    path = write(tmp_path / "added" / "latin1.txt", "Här är våra mål.".encode("latin-1"))
    with pytest.raises(DocumentError) as caught:
        load_file(path, tmp_path)
    assert caught.value.path == "added/latin1.txt"
    assert caught.value.reason == "not UTF-8 text (byte 0xE4 at offset 1); save the file as UTF-8"
    assert str(caught.value) == f"added/latin1.txt: {caught.value.reason}"


def test_size_limit(tmp_path: Path) -> None:
    write(tmp_path / "added" / "big.md", SV_TEXT * 10)
    result = load_corpus(tmp_path, max_bytes=len(SV_TEXT) * 5)
    assert result.documents == ()
    assert "over the limit" in result.problems[0].reason


def test_only_subfolders_are_read_and_hidden_files_are_ignored(tmp_path: Path) -> None:
    write(tmp_path / "README.md", f"# Om korpusen\n\n{SV_TEXT}\n")
    write(tmp_path / "added" / ".gitkeep", b"")
    write(tmp_path / "added" / ".secret.md", SV_TEXT)
    write(tmp_path / ".git" / "notes.md", SV_TEXT)
    write(tmp_path / "deep" / "er" / "text.md", SV_TEXT)
    result = load_corpus(tmp_path)
    assert [d.path for d in result.documents] == ["deep/er/text.md"]
    assert result.problems == ()


def test_symbolic_links_are_not_followed(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside.md", SV_TEXT)
    (tmp_path / "corpus" / "added").mkdir(parents=True)
    (tmp_path / "corpus" / "added" / "link.md").symlink_to(outside)
    result = load_corpus(tmp_path / "corpus")
    assert result.documents == ()
    assert result.problems == (Problem("added/link.md",
                                       "symbolic link (not followed); copy the file instead"),)


def test_missing_corpus_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = load_corpus(tmp_path / "nowhere")
    assert result.documents == () and "does not exist" in result.problems[0].reason


# --- precedence --------------------------------------------------------------------------

@pytest.fixture()
def corpus_copy(tmp_path: Path) -> Path:
    for lang in ("sv", "fi"):
        shutil.copytree(CORPUS / lang, tmp_path / lang)
    return tmp_path


OFFICIAL_FI = ('---\nid: vision-small\nlang: fi\ntitle: Pienet kunnat (virallinen)\n'
               'kind: vision\nofficial: true\n---\n\n# Viides visio: Pienet kunnat\n\n'
               '"Pienissä kunnissa olemme lähellä ihmisiä."\n')


@pytest.mark.parametrize("folder", ["added", "a-official"])
def test_official_finnish_text_takes_precedence_over_the_translation(
        corpus_copy: Path, folder: str) -> None:
    write(corpus_copy / folder / "pienet.md", OFFICIAL_FI)
    result = load_corpus(corpus_copy)
    assert result.problems == ()
    doc = shipped_doc(result, "vision-small", "fi")
    assert doc.path == f"{folder}/pienet.md" and doc.official and not doc.is_translation
    assert len(result.documents) == 22


def test_a_translation_never_displaces_an_official_text(corpus_copy: Path) -> None:
    write(corpus_copy / "added" / "oversatt.md",
          f"---\nid: vision-small\nlang: sv\ntranslation_of: fi\n---\n{SV_TEXT}\n")
    result = load_corpus(corpus_copy)
    assert result.problems == ()
    assert shipped_doc(result, "vision-small", "sv").path == "sv/vision-small.md"


def test_equal_standing_duplicate_is_reported_for_the_later_file(corpus_copy: Path) -> None:
    write(corpus_copy / "added" / "about.md", f"---\nlang: sv\n---\n{SV_TEXT}\n")
    write(corpus_copy / "zz" / "om.md", f"---\nid: about\nlang: sv\n---\n{SV_TEXT}\n")
    result = load_corpus(corpus_copy)
    assert shipped_doc(result, "about", "sv").path == "sv/about.md"
    assert [p.path for p in result.problems] == ["zz/om.md", "added/about.md"]  # drop folder last
    assert all("already used by sv/about.md" in p.reason for p in result.problems)


# --- adding a user's file ----------------------------------------------------------------

def test_add_document_copies_a_valid_file(corpus_copy: Path, tmp_path_factory) -> None:
    src = write(tmp_path_factory.mktemp("in") / "Mitt utkast (2024).md", f"{SV_TEXT}\n")
    target = add_document(src, corpus_copy)
    assert target == corpus_copy / "added" / "mitt-utkast-2024.md"
    assert target.read_bytes() == src.read_bytes()
    assert add_document(src, corpus_copy) == target  # the same file again: nothing new
    assert sorted(p.name for p in (corpus_copy / "added").iterdir()) == ["mitt-utkast-2024.md"]
    loaded = load_corpus(corpus_copy)
    assert loaded.problems == ()
    assert shipped_doc(loaded, "mitt-utkast-2024", "sv").path == "added/mitt-utkast-2024.md"


def test_add_document_never_overwrites_a_different_file(corpus_copy: Path,
                                                        tmp_path_factory) -> None:
    first = write(tmp_path_factory.mktemp("a") / "notes.md", f"{SV_TEXT}\n")
    second = write(tmp_path_factory.mktemp("b") / "notes.md", f"{FI_TEXT}\n")
    assert add_document(first, corpus_copy).name == "notes.md"
    assert add_document(second, corpus_copy).name == "notes-2.md"
    assert (corpus_copy / "added" / "notes.md").read_text(encoding="utf-8") == f"{SV_TEXT}\n"
    assert {d.id for d in load_corpus(corpus_copy).documents} >= {"notes", "notes-2"}


def test_add_document_refuses_bad_and_clashing_files(corpus_copy: Path,
                                                     tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("in")
    bad = write(folder / "bad.md", "The municipality is the home of its residents, always.\n")
    clash = write(folder / "about.md", f"{SV_TEXT}\n")
    hidden = write(folder / "x.md", f"---\nid: about\nlang: sv\ntranslation_of: fi\n---\n"
                                    f"{SV_TEXT}\n")
    with pytest.raises(DocumentError, match="language 'en' is not supported"):
        add_document(bad, corpus_copy)
    with pytest.raises(DocumentError, match=r"already used by sv/about\.md"):
        add_document(clash, corpus_copy)
    with pytest.raises(DocumentError, match="would be hidden"):
        add_document(hidden, corpus_copy)
    assert not any((corpus_copy / "added").iterdir())
    official_fi = write(folder / "about-fi.md",
                        f"---\nid: about\nlang: fi\nofficial: true\n---\n{FI_TEXT}\n")
    target = add_document(official_fi, corpus_copy)  # replaces the translation: allowed
    assert shipped_doc(load_corpus(corpus_copy), "about", "fi").path == f"added/{target.name}"


# --- ids and hashes ----------------------------------------------------------------------

@pytest.mark.parametrize(("stem", "slug"), [
    ("Små kommuner", "sma-kommuner"), ("Kestävät_kunnat 2030!", "kestavat-kunnat-2030"),
    ("../../etc", "etc"), ("---", ""), ("a" * 80, "a" * 64),
])
def test_slugify(stem: str, slug: str) -> None:
    assert slugify(stem) == slug


def test_document_hash_follows_content_not_location(shipped: CorpusLoad) -> None:
    doc = shipped_doc(shipped, "vision-small", "sv")
    digest = document_hash(doc)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert document_hash(dataclasses.replace(doc, path="elsewhere/x.md")) == digest
    for change in ({"text": doc.text + " "}, {"title": "Ny"}, {"official": False},
                   {"lang": "fi"}, {"kind": "other"}, {"source_url": ""}):
        assert document_hash(dataclasses.replace(doc, **change)) != digest, change
    assert len({document_hash(d) for d in shipped.documents}) == len(shipped.documents)
