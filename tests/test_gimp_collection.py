"""The GIMP manual collection (evals/collections/gimp.py): a real, translated corpus.

Converts Debian's gimp-help-sv / gimp-help-fi into both layouts once per module and
checks what an evaluation on it relies on: only really translated pages, valid
front matter, procedures in order, no navigation or captions, reading order.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from evals.collections import gimp

SOURCE = Path("/usr/share/gimp/2.0/help")
needs_gimp_help = pytest.mark.skipif(
    not (SOURCE / "sv" / "index.html").is_file() or not (SOURCE / "fi" / "index.html").is_file(),
    reason="the GIMP manual is not installed (apt-get install gimp-help-sv gimp-help-fi)")

NAVIGATION = {"Föregående", "Nästa", "Upp", "Edellinen", "Seuraava", "Ylös"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Both layouts, converted once: {"pages": dir, "manual": dir, "<layout>-report": …}."""
    root = tmp_path_factory.mktemp("gimp")
    out: dict[str, object] = {}
    for layout in ("pages", "manual"):
        out[layout] = root / layout
        out[f"{layout}-report"] = gimp.convert(SOURCE, root / layout, layout=layout)
    return out


def _body(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    return text.split("\n---\n", 1)[1]


def _front(path: Path) -> dict[str, object]:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n"))


def _documents(folder: Path) -> list[Path]:
    return sorted(folder.glob("*/*.md"))


# --- without the packages -------------------------------------------------------------------

def test_missing_source_is_one_line_and_exit_2(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code = gimp.main(["--layout", "pages", "--out", str(tmp_path / "out"),
                      "--source", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "install gimp-help-sv and gimp-help-fi" in err
    assert "Traceback" not in err


def test_render_numbers_ordered_items_per_list() -> None:
    blocks = [gimp.Block("item", "a", ordered=True, group=1),
              gimp.Block("item", "b", ordered=True, group=1),
              gimp.Block("item", "sub", level=1, group=2),
              gimp.Block("item", "c", ordered=True, group=1),
              gimp.Block("para", "then"),
              gimp.Block("item", "x", ordered=True, group=3)]
    assert gimp.render(blocks) == "1. a\n2. b\n   - sub\n3. c\n\nthen\n\n1. x"


def test_orphans_dropped_but_page_heading_kept() -> None:
    blocks = [gimp.Block("heading", "1. Del", level=1),
              gimp.Block("heading", "1.1. Tom", level=2),
              gimp.Block("term", "Ensam term", entry=5),
              gimp.Block("heading", "1.2. Full", level=2),
              gimp.Block("para", "Text.")]
    kept = [b.text for b in gimp.drop_orphans(blocks)]
    assert kept == ["1. Del", "1.2. Full", "Text."]


# --- on the installed manual ----------------------------------------------------------------

@pytest.mark.slow
@needs_gimp_help
def test_kept_page_counts_are_plausible(built: dict[str, object]) -> None:
    pages = built["pages"]
    assert isinstance(pages, Path)
    sv = len(list((pages / "sv").glob("*.md")))
    fi = len(list((pages / "fi").glob("*.md")))
    # About 140 Swedish and 180 Finnish pages are really translated (of 685 each).
    assert 100 <= sv <= 170, sv
    assert 140 <= fi <= 220, fi
    report = built["pages-report"]
    assert isinstance(report, dict)
    for lang, count in (("sv", sv), ("fi", fi)):
        assert len(report[lang].kept) == count
        assert len(report[lang].kept) + sum(report[lang].skipped.values()) == 685
    manual = built["manual"]
    assert isinstance(manual, Path)
    assert [p.name for p in (manual / "sv").iterdir()] == ["gimp-manual.md"]
    assert [p.name for p in (manual / "fi").iterdir()] == ["gimp-manual.md"]


@pytest.mark.slow
@needs_gimp_help
@pytest.mark.parametrize("layout", ["pages", "manual"])
def test_front_matter_loads(built: dict[str, object], layout: str, tmp_path: Path) -> None:
    from assistant.documents import load_corpus

    folder = built[layout]
    assert isinstance(folder, Path)
    files = _documents(folder)
    result = load_corpus(folder)
    # Every file loads as declared, its DocBook kind (sect2, chapter, manual …) included.
    assert result.problems == ()
    assert len(result.documents) == len(files)
    for doc in result.documents:
        path = Path(doc.path)
        assert doc.lang == path.parent.name
        assert doc.id == path.stem
        assert doc.official is True and doc.translation_of == ""
        assert re.fullmatch(rf"https://docs\.gimp\.org/2\.10/{doc.lang}/[\w.-]+\.html",
                            doc.source_url)
    for path in files:
        meta = _front(path)
        assert set(meta) == {"id", "lang", "title", "kind", "source_url", "official"}
        assert re.fullmatch(r"[a-z0-9]+", str(meta["kind"]))
        if layout == "manual":
            assert meta["id"] == "gimp-manual" and meta["kind"] == "manual"
    collection = yaml.safe_load((folder / "collection.yaml").read_text(encoding="utf-8"))
    assert collection["name"] == {"sv": "GNU:s bildmanipuleringsprogram",
                                  "fi": "GNU kuvankäsittelyohjelma"}
    assert set(collection["description"]) == {"sv", "fi"}


@pytest.mark.slow
@needs_gimp_help
def test_procedure_steps_are_numbered_in_order(built: dict[str, object]) -> None:
    pages = built["pages"]
    assert isinstance(pages, Path)
    body = _body(pages / "sv" / "gimp-tutorial-straight-lines.md")
    steps = re.findall(r"(?m)^(\d+)\. (\w+)", body)
    assert steps == [("1", "Förberedelser"), ("2", "Skapa"), ("3", "Välj"),
                     ("4", "Skapa"), ("5", "Rita"), ("6", "Klart")]
    lines = body.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("1. "))
    assert [line[:3] for line in lines[first:first + 6]] == [f"{n}. " for n in range(1, 7)]
    # Everywhere: each run of ordered items counts 1, 2, 3 … without gaps.
    for path in _documents(pages):
        for block in _body(path).split("\n\n"):
            numbers = [int(m) for m in re.findall(r"(?m)^(\d+)\. ", block)]
            if numbers and re.match(r"\d+\. ", block):
                assert numbers == list(range(1, len(numbers) + 1)), path


@pytest.mark.slow
@needs_gimp_help
@pytest.mark.parametrize("layout", ["pages", "manual"])
def test_no_navigation_captions_or_loose_whitespace(built: dict[str, object],
                                                    layout: str) -> None:
    folder = built[layout]
    assert isinstance(folder, Path)
    for path in _documents(folder):
        body = _body(path)
        lines = body.splitlines()
        assert not NAVIGATION & {line.strip() for line in lines}, path
        assert not {"Rapportera ett dokumentationsfel", "Report a bug in GIMP"} & set(lines)
        assert not re.search(r"(?m)^(Figur|Kuva) \d+\.\d+\. ", body), path
        assert "<img" not in body and "\n\n\n" not in body
        for line in lines:
            if not line.startswith(" "):  # nested list items are indented
                assert "  " not in line and line == line.strip(), (path, line)


@pytest.mark.slow
@needs_gimp_help
def test_no_page_is_mostly_english(built: dict[str, object]) -> None:
    from assistant.language import detect_language

    judge = gimp.LanguageJudge()
    pages = built["pages"]
    assert isinstance(pages, Path)
    for path in _documents(pages):
        lang = path.parent.name
        body = _body(path)
        paragraphs = [p for p in re.split(r"\n\n|\n(?=\s*(?:- |\d+\. ))", body)
                      if len(p) >= gimp.PROSE_MIN_CHARS and not p.startswith(("#", "```"))]
        english = sum(len(p) for p in paragraphs if judge.language_of(p) == "en")
        total = sum(len(p) for p in paragraphs)
        if total:
            assert english / total < 0.3, (path, english / total)
        # The project's detector agrees, except that it may not commit on a short
        # table of shortcuts; it never takes a kept page for English.
        guess = detect_language(body).lang
        assert guess != "en", path
        if len(body) >= 500:
            assert guess == lang, path


@pytest.mark.slow
@needs_gimp_help
def test_manual_holds_the_pages_in_reading_order(built: dict[str, object]) -> None:
    pages, manual = built["pages"], built["manual"]
    assert isinstance(pages, Path) and isinstance(manual, Path)
    for lang in ("sv", "fi"):
        text = _body(manual / lang / "gimp-manual.md")
        order = gimp.reading_order(SOURCE / lang)
        position = -1
        for name in order:
            page = pages / lang / f"{gimp.slugify(Path(name).stem)}.md"
            if not page.is_file():
                continue
            first = _body(page).strip().split("\n\n", 2)
            # a page's first paragraph after its heading, found after the previous page's
            probe = first[1] if len(first) > 1 and not first[1].startswith("#") else first[0]
            probe = probe.splitlines()[0].lstrip("# ")
            found = text.find(probe, position + 1)
            assert found > position, (lang, name)
            position = found
    sv = _body(manual / "sv" / "gimp-manual.md")
    heading = {m.group(2): len(m.group(1)) for m in re.finditer(r"(?m)^(#+) (.+)$", sv)}
    assert heading["Del I. Komma igång"] == 1
    assert heading["Kapitel 3. Första stegen med Wilber"] == 2
    assert heading["4. Vanliga uppgifter"] == 3
    assert heading["4.5. Beskär en bild"] == 4
    assert sv.index("# Del I. Komma igång") < sv.index("## Kapitel 3. Första stegen med Wilber")


def test_source_folder_is_not_needed_for_unit_parts(tmp_path: Path) -> None:
    """read_page turns a small DocBook page into faithful Markdown."""
    html = """<html><head><title>1.2. Prov</title></head><body>
      <div class="navheader"><a>Föregående</a> <a>Nästa</a></div>
      <div class="sect2"><div class="titlepage"><h3 class="title">1.2. Prov</h3></div>
        <a class="indexterm"></a>
        <p>Klicka   på
           <span class="guimenu">Arkiv</span> → <span class="guimenuitem">Ny</span>.</p>
        <div class="figure"><p class="title"><strong>Figur 1.1. Bild</strong></p>
          <div class="mediaobject"><img src="x.png"/></div></div>
        <div class="procedure"><ol class="procedure"><li class="step"><p>Ett</p></li>
          <li class="step"><p>Två</p><ol><li><p>Under</p></li></ol></li>
          <li class="step"><p>Tre</p></li></ol></div>
        <div class="note"><table><tr><td><img alt="[Notera]"/></td><th>Notera</th></tr>
          <tr><td><p>En anteckning.</p></td></tr></table></div>
        <div class="variablelist"><dl class="variablelist"><dt><span class="term">Term</span></dt>
          <dd><p>Beskrivning.</p></dd></dl></div>
        <div class="informaltable"><table><tr><th>A</th><th>B</th></tr>
          <tr><td>1</td><td>2</td></tr></table></div>
      </div>
      <div class="navfooter"><a>Edellinen</a></div></body></html>"""
    page_path = tmp_path / "prov_sida.html"
    page_path.write_text(html, encoding="utf-8")
    page = gimp.read_page(page_path, "sv")
    assert page.kind == "sect2" and page.title == "1.2. Prov" and page.id == "prov-sida"
    assert gimp.render(page.blocks) == (
        "# 1.2. Prov\n\nKlicka på Arkiv → Ny.\n\n1. Ett\n2. Två\n   1. Under\n3. Tre\n\n"
        "En anteckning.\n\nTerm\n\nBeskrivning.\n\nA – B\n1 – 2")


def test_a_definition_list_of_short_phrases_is_a_table(tmp_path: Path) -> None:
    """Keys and what they do ("Skift + W" / "3d-transformering"): on lines of their own
    two short lines could not be told apart as term and description, so each pair is one
    line; a list with a sentence for a description keeps its term above it."""
    html = """<html><head><title>Verktyg</title></head><body>
      <div class="sect1"><div class="titlepage"><h2 class="title">Verktyg</h2></div>
        <dl class="variablelist">
          <dt><span class="term"><span class="keycap"><strong>Skift</strong></span> + W</span></dt>
          <dd><p>3d-transformering</p></dd>
          <dt><span class="term"><span class="keycap"><strong>Skift</strong></span> + T</span></dt>
          <dd><p>Enhetlig transform</p></dd></dl>
        <dl class="variablelist"><dt><span class="term">Radie</span></dt>
          <dd><p>Hur stor ytan blir.</p></dd></dl>
      </div></body></html>"""
    page_path = tmp_path / "tangenter.html"
    page_path.write_text(html, encoding="utf-8")
    page = gimp.read_page(page_path, "sv")
    assert gimp.render(page.blocks) == (
        "# Verktyg\n\nSkift + W – 3d-transformering\nSkift + T – Enhetlig transform\n\n"
        "Radie\n\nHur stor ytan blir.")
