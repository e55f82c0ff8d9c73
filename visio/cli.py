"""`visio`: every command is a thin wrapper over a library function."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from assistant.config import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="visio-assistant")
def main() -> None:
    """Visionsassistenten / Visioavustaja: answers from a collection in Swedish and Finnish."""


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.option("--history", "history_file", type=click.Path(exists=True, dir_okay=False),
              help='JSON list of {"role","content"} messages: the conversation so far.')
@click.option("--ui-lang", default=None, metavar="CODE",
              help="Language to fall back on when the question's language is unclear "
                   "(one of VISIO_LANGUAGES).")
def ask(question: str, as_json: bool, history_file: str | None, ui_lang: str | None) -> None:
    """Answer QUESTION (Swedish or Finnish) from the corpus, with sources."""
    from assistant.assistant import Assistant

    history = _read_history(history_file) if history_file else []
    answer = Assistant.from_config(_settings()).ask(question, history, ui_lang)
    if as_json:
        _print_json(answer.to_dict())
        return
    click.echo(answer.answer)
    for c in answer.citations:
        flag = ", translation" if c.translation else ""
        click.echo(f"\n[{c.n}] {c.title} – {c.section} ({c.lang}{flag})\n    {c.source_url}")


def _read_history(path: str) -> list[dict[str, str]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", param_hint="--history") from exc
    ok = isinstance(data, list) and all(
        isinstance(m, dict) and m.get("role") in ("user", "assistant")
        and isinstance(m.get("content"), str) for m in data)
    if not ok:
        raise click.BadParameter(
            'must be a JSON list of {"role": "user"|"assistant", "content": "..."}',
            param_hint="--history")
    return data


@main.command()
@click.argument("phrase")
@click.option("--lang", default=None, metavar="CODE",
              help="Only passages in this language (one of VISIO_LANGUAGES).")
@click.option("--json", "as_json", is_flag=True)
def wording(phrase: str, lang: str | None, as_json: bool) -> None:
    """Staff: every verbatim passage, title or heading containing PHRASE, with its
    other-language twin."""
    from assistant.assistant import Assistant

    matches = Assistant.from_config(_settings()).find_wording(phrase, lang=lang)
    if as_json:
        _print_json([m.to_dict() for m in matches])
        return
    if not matches:
        click.echo("No passage found.")
    for m in matches:
        kind = m.shape if m.shape != "sentence" else "exact" if m.exact else "near"
        click.echo(f"{m.title} – {m.section} ({m.lang}, {kind}, chars {m.char_start}–{m.char_end})")
        if m.heading:  # the phrase is in a title or heading; the text is the first under it
            click.echo(f"    {m.shape}: {m.heading}")
        click.echo(f"    {m.text}")
        if m.counterpart:
            tag = " (translation)" if m.counterpart.translation else ""
            if not m.counterpart.declared:
                tag += f" (closest in meaning, {m.counterpart.similarity:.2f})"
            if m.counterpart.heading:
                click.echo(f"    [{m.counterpart.lang}{tag}] {m.shape}: {m.counterpart.heading}")
            click.echo(f"    [{m.counterpart.lang}{tag}] {m.counterpart.text}")


# --- index -----------------------------------------------------------------------------

@main.group()
def index() -> None:
    """Build, inspect, verify or clear the Chroma index."""


@index.command("build")
@click.option("--force", is_flag=True, help="Embed every document again.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def index_build(force: bool, quiet: bool) -> None:
    """Bring the index up to date with corpus/ (only new or changed documents are embedded)."""
    from assistant.indexing import build_index
    from assistant.store import IndexUnavailable

    try:
        report = build_index(_settings(), force=force, progress=not quiet)
    except IndexUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    for problem in report.problems:
        click.echo(f"skipped {problem.path}: {problem.reason}", err=True)
    click.echo(report.summary())


@index.command("status")
@click.option("--json", "as_json", is_flag=True)
def index_status_cmd(as_json: bool) -> None:
    """What is being served and whether it matches the corpus."""
    from assistant.indexing import index_status

    status = index_status(_settings())
    if as_json:
        _print_json(status.to_dict())
        return
    if status.error:
        click.echo(status.error)
        sys.exit(1)
    m = status.manifest
    click.echo(f"Location:   {status.location}\nGeneration: {status.generation}")
    click.echo(f"Built:      {m.get('built_at')} with {m.get('embedding_model')} "
               f"({m.get('embedding_dimension')} dims), chunks of {m.get('chunk_tokens')} "
               f"tokens / overlap {m.get('chunk_overlap_tokens')}")
    docs = ", ".join(f"{n} {lang}" for lang, n in status.documents.items())
    click.echo(f"Documents:  {docs}; {status.chunks} chunks, {status.sentences} sentences")
    click.echo("Up to date with corpus." if not status.stale else
               f"Out of date: {', '.join(status.stale)} (run `visio index build`)")


@index.command("verify")
def index_verify() -> None:
    """Check the served index record by record; exit 1 on any problem."""
    from assistant.indexing import verify_index

    problems = verify_index(_settings())
    for problem in problems:
        click.echo(problem)
    if problems:
        sys.exit(1)
    click.echo("Index is sound.")


@index.command("clear")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def index_clear(yes: bool) -> None:
    """Delete the index (the corpus is untouched)."""
    from assistant.indexing import clear_index

    if not yes:
        click.confirm("Delete the whole index?", abort=True)
    clear_index(_settings())
    click.echo("Index cleared.")


@index.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--no-build", is_flag=True, help="Only copy into corpus/added/.")
def index_add(paths: tuple[str, ...], no_build: bool) -> None:
    """Add your own documents (Markdown, text, HTML, PDF; Swedish or Finnish)."""
    from assistant.documents import DocumentError, add_document
    from assistant.indexing import build_index

    settings = _settings()
    failed = False
    for path in paths:
        try:
            target = add_document(Path(path), settings.corpus_dir)
            click.echo(f"added {path} → {target}")
        except DocumentError as exc:
            failed = True
            click.echo(f"not added: {exc}", err=True)
    if not no_build:
        click.echo(build_index(settings).summary())
    if failed:
        sys.exit(1)


# --- evaluation, UI, feedback, benchmarks -------------------------------------------------

@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def eval(args: tuple[str, ...]) -> None:
    """Run an answer test set and report scores (`visio eval --help` for options)."""
    from evals.runner import main as eval_main

    sys.exit(eval_main(list(args)))


@main.command()
@click.option("--host", default=None, help="Overrides VISIO_HOST.")
@click.option("--port", type=int, default=None, help="Overrides VISIO_PORT.")
def serve(host: str | None, port: int | None) -> None:
    """Start the chat UI (builds the model and the index first if they are missing), and
    the staff area on VISIO_ADMIN_PORT when VISIO_ADMIN_AUTH is set."""
    from ui.app import serve as serve_app

    settings = _settings()
    changes = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    serve_app(settings.replace(**changes) if changes else settings)


@main.group()
def feedback() -> None:
    """Feedback left in the chat window."""


@feedback.command("export")
@click.option("--out", type=click.Path(dir_okay=False), default="-",
              help="CSV file to write (default: standard output).")
def feedback_export(out: str) -> None:
    """Write all feedback as CSV (UTF-8): rating, reason, question, answer, comment,
    citations. Rows past VISIO_FEEDBACK_RETENTION_DAYS are deleted first."""
    from assistant.feedback import FeedbackStore

    settings = _settings()
    store = FeedbackStore(settings.feedback_db)
    store.purge(settings.feedback_retention_days)
    if out == "-":
        store.export_csv(sys.stdout)
    else:
        with open(out, "w", encoding="utf-8", newline="") as handle:
            count = store.export_csv(handle)
        click.echo(f"{count} rows written to {out}", err=True)


@feedback.command("summary")
def feedback_summary() -> None:
    """How many ratings there are per reason (thumbs up / down), as staff see them."""
    from assistant.feedback import REASONS, FeedbackStore

    settings = _settings()
    store = FeedbackStore(settings.feedback_db)
    store.purge(settings.feedback_retention_days)
    counts = store.counts()
    click.echo(f"{'reason':<14} {'up':>6} {'down':>6} {'total':>6}")
    for reason in (*REASONS, ""):
        up, down = counts.get((reason, 1), 0), counts.get((reason, -1), 0)
        click.echo(f"{reason or '(none given)':<14} {up:>6} {down:>6} {up + down:>6}")
    up = sum(n for (_, rating), n in counts.items() if rating == 1)
    down = sum(n for (_, rating), n in counts.items() if rating == -1)
    click.echo(f"{'all':<14} {up:>6} {down:>6} {up + down:>6}")


@feedback.command("delete")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def feedback_delete(yes: bool) -> None:
    """Delete all stored feedback (questions, answers, comments): the whole database file,
    so nothing is left in it whatever SQLite's secure_delete setting. The app creates a
    new file with the next rating."""
    from assistant.feedback import FeedbackError, FeedbackStore

    path = Path(_settings().feedback_db)
    if not yes:
        click.confirm(f"Delete all feedback in {path}?", abort=True)
    try:
        rows: int | str = FeedbackStore(path).count()
    except FeedbackError:
        rows = "unreadable"
    removed = 0
    try:
        for suffix in ("", "-journal", "-wal", "-shm"):
            file = path.with_name(path.name + suffix)
            if file.exists():
                file.unlink()
                removed += 1
    except OSError as exc:
        raise click.ClickException(f"cannot delete {path}: {exc}") from exc
    click.echo(f"Deleted {path} ({rows} rows)." if removed else f"No feedback stored at {path}.")


@main.command()
@click.argument("what", type=click.Choice(["embed", "index", "answer", "all"]), default="all")
def bench(what: str) -> None:
    """Print speed and memory figures for this machine."""
    from benchmarks import run

    run(what, _settings())


@main.command("config")
def show_config() -> None:
    """Every setting with its environment variable and current value."""
    for name, value in _settings().describe().items():
        click.echo(f"{name}={value}")
