"""The `kg` command line: thin wrappers over plain functions in the package.

Each command parses its options and calls one function; all logic lives in the modules.
Exit codes: 0 success, 1 findings at or above --fail-on, 2 bad input (file, line, column reported).

Each command imports what it runs inside its own body, on purpose: the package's modules pull in rdflib,
pyoxigraph, pydantic and FastAPI (from 0.2 s for the settings to over a second for the server), and
``kg --help``, ``kg --version`` or a mistyped option should not wait for any of that.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from kg import __version__

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Remit knowledge graph tools.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"remit {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Remit: who oversees what in places of detention in England and Wales."""


@app.command()
def build(
    data: Optional[list[Path]] = typer.Option(None, "--data", help="Data folder (repeatable; replaces data/)."),
    out: Path = typer.Option(Path("build"), "--out", help="Output folder."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when the sources are unchanged."),
    fail_on: str = typer.Option("none", "--fail-on", help="Exit 1 on findings at or above: violation|warning|info|none."),
    reference: bool = typer.Option(False, "--reference", help="Reason with owlrl and validate with pyshacl (the reference engines; slower, same results)."),
    timings: bool = typer.Option(False, "--timings", help="Print the seconds each step took (on stderr)."),
    progress: bool = typer.Option(False, "--progress", help="Say each step as it finishes, on stderr, also when "
                                  "stderr is not a terminal (on a terminal it always does)."),
) -> None:
    """Reason, validate and write the artefacts (remit.trig, report.ttl/json, manifest.json, store/)."""
    from kg.pipeline import build as b
    from kg.pipeline.layout import steps_reported
    from kg.pipeline.load import SourceError
    from kg.progress import Progress

    try:
        with Progress("build", "checking the sources", forced=progress) as shown, steps_reported(shown.step):
            result = b.build(b.Layout(data=data, out=out), force=force, reference=reference)
    except (SourceError, b.BuildError) as exc:
        typer.echo(str(exc) if isinstance(exc, SourceError) else f"error: {exc}", err=True)
        typer.echo("build failed; the previous artefacts are unchanged", err=True)
        raise typer.Exit(2)
    for m in result.messages:
        typer.echo(m)
    if timings and result.timings:
        typer.echo("  timings: " + ", ".join(f"{k} {v:.2f} s ({result.timings.get(k + '.rss_mb', 0):.0f} MB)"
                                         for k, v in result.timings.items() if not k.endswith(".rss_mb")), err=True)
    man = result.manifest
    for g, n in man.get("graphs", {}).items():
        typer.echo(f"  {g}: {n} triples")
    counts = man.get("findings", {})
    typer.echo("  findings: " + ", ".join(f"{counts.get(s, 0)} {s.lower()}" for s in ("Violation", "Warning", "Info")))
    if not result.skipped and result.report is not None and result.report.fails(fail_on):
        raise typer.Exit(1)


@app.command()
def validate(
    files: Optional[list[Path]] = typer.Argument(None, help="Turtle files to validate merged over the sources."),
    fmt: str = typer.Option("text", "--format", help="text|json|turtle"),
    fail_on: str = typer.Option("violation", "--fail-on", help="violation|warning|info|none"),
    data: Optional[list[Path]] = typer.Option(None, "--data", help="Data folder (repeatable; replaces data/)."),
    out: Path = typer.Option(Path("build"), "--out", help="Built output folder (its report is reused when fresh)."),
) -> None:
    """The validation report; exit 1 when a finding is at or above --fail-on, 2 on bad input."""
    from kg.pipeline import build as b
    from kg.pipeline.load import SourceError
    from kg.findings.render import FORMATS, render

    if fmt not in FORMATS or fail_on.lower() not in ("violation", "warning", "info", "none"):
        typer.echo(f"error: --format is one of {', '.join(FORMATS)}; --fail-on is violation|warning|info|none", err=True)
        raise typer.Exit(2)
    try:
        report = b.validate(b.Layout(data=data, out=out), files=list(files or []))
    except (SourceError, b.BuildError) as exc:
        typer.echo(str(exc) if isinstance(exc, SourceError) else f"error: {exc}", err=True)
        raise typer.Exit(2)
    sys.stdout.write(render(report, fmt, color=fmt == "text" and sys.stdout.isatty()))
    if report.fails(fail_on):
        raise typer.Exit(1)


@app.command()
def fmt(
    files: list[Path] = typer.Argument(..., help="Turtle files to format canonically."),
    check: bool = typer.Option(False, "--check", help="Change nothing; exit 1 if a file is not canonical."),
) -> None:
    """Rewrite Turtle files canonically (rdflib longturtle, Remit's prefixes). Comments are dropped."""
    from kg.pipeline.load import SourceError, format_turtle

    changed = []
    for f in files:
        try:
            before, after = format_turtle(f)
        except SourceError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2)
        if before != after:
            changed.append(f)
            if not check:
                f.write_text(after, encoding="utf-8")
    for f in changed:
        typer.echo(f"{'would reformat' if check else 'reformatted'} {f}")
    if check and changed:
        raise typer.Exit(1)


@app.command()
def synth(
    out: Path = typer.Argument(..., help="New or empty folder to write the synthetic data into."),
    triples: str = typer.Option("10k", "--triples", help="Size in triples: 10k, 100k, 1M or a number."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same size and seed: byte-identical files)."),
) -> None:
    """Write a deterministic synthetic national graph (for scale tests), with planted.json listing its gaps."""
    from kg.ops.synth import parse_size, synthesize

    try:
        result = synthesize(out, parse_size(triples), seed)
    except (ValueError, FileExistsError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    counts = result.planted.get("counts", {})
    typer.echo(f"{out}: {result.triples} triples in {len(result.files)} files; "
               + ", ".join(f"{v} {k}" for k, v in counts.items()))  # type: ignore[union-attr]
    typer.echo(f"  build it with: kg build --data {out} --out {out}-build")


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, help="Interface to listen on (default REMIT_HOST or 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port (default REMIT_PORT or 8000)."),
    store: Optional[str] = typer.Option(None, help="Built store folder (default REMIT_STORE_PATH or build/store), or "
                                        "the http(s) URL of an external SPARQL endpoint the build was pushed to "
                                        "(kg push; REMIT_REMOTE_STORE_URL; see docs/scale.md)."),
) -> None:
    """Serve the SPARQL endpoint, named queries and pages (see docs/endpoint.md)."""
    from kg.api.workers import start_forkserver

    start_forkserver()  # the query workers' imports load beside the web app's, not after them
    from kg.api.app import serve as run
    from kg.settings import get_settings, is_remote

    remote_url = store if is_remote(store) else None
    try:
        settings = get_settings(host=host, port=port, store_path=None if remote_url else store,
                                remote_store_url=remote_url)
    except ValueError as exc:  # pydantic's ValidationError names the field
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if settings.is_remote:
        from kg.query.remote import RemoteError, RemoteStore

        try:
            RemoteStore(settings.remote_store_url, timeout=30).ask("ASK { }")
        except RemoteError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(3)
        run(settings)
        return
    if not Path(settings.store_path).is_dir():
        typer.echo(f"error: no built store at {settings.store_path}: run `kg build` first", err=True)
        raise typer.Exit(2)
    run(settings)


@app.command()
def query(
    name: str = typer.Argument(..., help="Named query (file stem under the queries folder)."),
    param: list[str] = typer.Option([], "--param", "-p", help="A parameter as name=value (repeatable)."),
    format: str = typer.Option("table", "--format", "-f", help="table, csv, json or markdown."),
    columns: Optional[str] = typer.Option(None, "--columns", "-c",
                                          help="Comma-separated columns to show, in this order (default: all)."),
    limit: Optional[int] = typer.Option(None, help="Rows per page (default 100, at most 1000)."),
    offset: Optional[int] = typer.Option(None, help="Rows to skip."),
    store: Optional[str] = typer.Option(None, help="Built store folder (default build/store), or the http(s) URL "
                                        "of an external SPARQL endpoint the build was pushed to (kg push)."),
    queries: Optional[Path] = typer.Option(None, help="Queries folder (default queries/)."),
) -> None:
    """Run a named query on the built store (or an external SPARQL store) and print the rows."""
    from kg.query.registry import (ParamError, QueryFileError, page_to_csv, page_to_json, page_to_markdown,
                                   run_named_query, term_display)
    from kg.settings import get_settings, is_remote

    if format not in ("table", "csv", "json", "markdown"):
        typer.echo(f"error: --format must be table, csv, json or markdown, not {format!r}", err=True)
        raise typer.Exit(2)
    remote_url = store if is_remote(store) else None
    settings = get_settings(store_path=None if remote_url else store, queries_dir=queries)
    raw: dict[str, str] = {}
    for p in param:
        key, sep, value = p.partition("=")
        if not sep or not key:
            typer.echo(f"error: --param {p!r} is not name=value", err=True)
            raise typer.Exit(2)
        raw[key] = value
    try:
        if remote_url:
            from kg.query.remote import RemoteError, run_named_query_remote

            try:
                nq, page = run_named_query_remote(name, raw, store_url=remote_url, queries_dir=settings.queries_dir,
                                                  limit=limit, offset=offset, max_limit=settings.named_query_max_limit,
                                                  default_limit=settings.named_query_default_limit)
            except RemoteError as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(3)
        else:
            nq, page = run_named_query(name, raw, store_path=settings.store_path, queries_dir=settings.queries_dir,
                                       limit=limit, offset=offset, max_limit=settings.named_query_max_limit,
                                       default_limit=settings.named_query_default_limit)
    except (KeyError, ParamError, QueryFileError, FileNotFoundError, SyntaxError) as exc:
        typer.echo(f"error: {exc.args[0] if exc.args else exc}", err=True)
        raise typer.Exit(2)
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in page.columns]
        if unknown:
            typer.echo(f"error: no column {unknown[0]!r} in {name}; its columns are: {', '.join(page.columns)}",
                       err=True)
            raise typer.Exit(2)
        page.columns = wanted
    if format == "csv":
        sys.stdout.write(page_to_csv(page))
    elif format == "markdown":
        sys.stdout.write(page_to_markdown(page))
    elif format == "json":
        typer.echo(json.dumps(page_to_json(page, name), ensure_ascii=False, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        from kg.query.columns import fit_widths, pick_columns

        console = Console()
        shown = page.columns if columns else pick_columns(page.columns, page.rows, console.width,
                                                          skip=[p.name for p in nq.params])
        cells = [[term_display(row.get(c), compact=True) for c in shown] for row in page.rows]
        table = Table(title=nq.summary or nq.name, caption=f"{len(page.rows)} rows"
                      + (" (more: use --offset)" if page.has_more else ""))
        for c, w in zip(shown, fit_widths(shown, cells, console.width)):
            table.add_column(c, overflow="fold", width=w)
        for row_cells in cells:
            table.add_row(*row_cells)
        console.print(table)
        left_out = [c for c in page.columns if c not in shown]
        if left_out:
            console.print(f"Not shown: {', '.join(left_out)}. Show any of them with -c/--columns "
                          f"(e.g. -c {shown[0]},{left_out[0]}), or every column with --format csv.",
                          markup=False, highlight=False)


@app.command()
def search(
    text: list[str] = typer.Argument(..., help="What to look for: a name, an acronym, words of a clause."),
    limit: int = typer.Option(10, "--limit", "-n", help="Results to show (1 to 50)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON (as GET /search?format=json)."),
    store: Optional[Path] = typer.Option(None, help="Built store folder (default build/store); the index is "
                                         "search.sqlite beside it."),
) -> None:
    """Search bodies, agreements and their clauses, establishments, setting types and functions by name,
    acronym or words (ranked; small spelling mistakes corrected)."""
    from kg.search.index import index_path
    from kg.search.query import IndexMissing, SearchError, SearchTimeout, results_table
    from kg.search.query import search as run_search
    from kg.settings import get_settings

    settings = get_settings(store_path=store)
    try:
        res = run_search(index_path(settings.store_path), " ".join(text), limit=max(1, min(limit, 50)))
    except SearchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    except (IndexMissing, SearchTimeout) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3)
    if as_json:
        typer.echo(json.dumps(res.as_json(), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(results_table(res))


@app.command()
def publish(
    outdir: Path = typer.Argument(..., help="Folder to write the static site to (replaced if it exists)."),
    store: Optional[Path] = typer.Option(None, help="Built store folder (default REMIT_STORE_PATH or build/store)."),
    service_url: Optional[str] = typer.Option(None, help="Base URL of the live service for query links "
                                              "(default REMIT_PUBLIC_BASE_URL or http://host:port)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Judge review and in-force statuses on this day, "
                                        "YYYY-MM-DD (default: SOURCE_DATE_EPOCH, else the latest date in the data)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, help="Processes writing the resource pages and "
                                       "documents (default: one per CPU; the same bytes either way)."),
    progress: bool = typer.Option(False, "--progress", help="Say each part as it is written, and how many resources "
                                  "are, on stderr, also when stderr is not a terminal (on a terminal it always does)."),
) -> None:
    """Write the publication (pages, RDF documents, dumps, VoID/DCAT, ontology docs) as a static site."""
    from kg.progress import Progress
    from kg.publication.publication import publish_site
    from kg.publication.publish import parse_as_of
    from kg.settings import get_settings

    settings = get_settings(store_path=store)
    if not Path(settings.store_path).is_dir():
        typer.echo(f"error: no built store at {settings.store_path}: run `kg build` first", err=True)
        raise typer.Exit(2)
    try:
        with Progress("publish", "writing the site", forced=progress) as shown:
            counts = publish_site(settings, outdir, service_base=service_url,
                                  as_of=parse_as_of(as_of) if as_of is not None else None, jobs=jobs,
                                  on_step=shown.step)
    except ValueError as exc:  # a malformed --as-of or SOURCE_DATE_EPOCH
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    typer.echo(f"wrote {outdir}: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@app.command()
def push(
    store: str = typer.Option(..., "--store", help="SPARQL query endpoint of the external store (used to check counts)."),
    graph_store: Optional[str] = typer.Option(None, "--graph-store", help="Graph Store Protocol URL (default: "
                                              "Oxigraph's layout, the query URL with /query replaced by /store)."),
    dataset: Path = typer.Option(Path("build/remit.trig"), "--dataset", help="The built dataset to push."),
    user: Optional[str] = typer.Option(None, "--user", help="User name for HTTP basic auth (password: REMIT_STORE_PASSWORD)."),
    update: Optional[str] = typer.Option(None, "--update", help="SPARQL 1.1 Update endpoint: blank nodes found in "
                                         "several graphs are sent there in INSERT … WHERE requests, each node whole in one, so each stays one node "
                                         "(see docs/scale.md)."),
) -> None:
    """Load the built dataset into an external SPARQL 1.1 store: one HTTP PUT per named graph (replaces it)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from kg.ops.push import PushError, graph_store_url, push as do_push

    auth = (user, os.environ.get("REMIT_STORE_PASSWORD", "")) if user else None
    try:
        gsp = graph_store or graph_store_url(store)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      transient=False) as bar:
            tasks: dict[str, int] = {}

            def progress(graph: str, done: int, total: int) -> None:
                if graph not in tasks:
                    tasks[graph] = bar.add_task(f"PUT <{graph}>", total=total)
                bar.update(tasks[graph], completed=done)

            result = do_push(dataset, gsp, store, auth=auth, progress=progress, update_url=update)
    except PushError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2 if "no built dataset" in str(exc) else 3)
    for g in result.graphs:
        typer.echo(f"  <{g.graph}>: {g.triples} triples (HTTP {g.status}; {g.stored} in the store)")
    typer.echo(f"pushed {result.triples} triples to {gsp}; version {result.version}")


@app.command()
def check(
    draft: Path = typer.Argument(..., help="The draft: Turtle (.ttl), JSON-LD (.jsonld) or YAML (.yaml)."),
    replaces: Optional[str] = typer.Option(None, "--replaces", help="The agreement the draft revises (IRI or agreement:slug)."),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="Judge dates on this day, YYYY-MM-DD (default today)."),
    fmt: str = typer.Option("text", "--format", help="text|json|sarif|turtle"),
    fail_on: str = typer.Option("violation", "--fail-on", help="violation|warning|info|none"),
    contact_max_age: str = typer.Option("3", "--contact-max-age", help="Contacts older than this are stale: years (3, 2.5) or months (18m)."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="turtle|json-ld|yaml (default: from the file name)."),
    store: Optional[str] = typer.Option(None, "--store", help="Read the current graph from this external SPARQL "
                                        "endpoint (its asserted graph; kg push) instead of data/."),
    reference: bool = typer.Option(False, "--reference", help="Reason with owlrl and validate with pyshacl (the reference engines; slower, same results)."),
    progress: bool = typer.Option(False, "--progress", help="Say what it is doing on stderr also when stderr is "
                                  "not a terminal (on a terminal it always does)."),
) -> None:
    """Check a draft agreement against the graph (shapes, QC, rule checks, impact); exit 1 at --fail-on, 2 on bad input."""
    from kg.pipeline.layout import steps_reported
    from kg.progress import Progress
    from kg.revision.check import parse_args_check, run_check_command
    from kg.settings import is_remote

    try:
        options, timeout, memory = parse_args_check(replaces, as_of, contact_max_age, fail_on, fmt, input_format)
        if store is not None and not is_remote(store):
            raise ValueError(f"--store {store!r} is not the http(s) URL of a SPARQL endpoint")
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    if store:
        from kg.query.remote import RemoteError, RemoteStore

        try:
            RemoteStore(store, timeout=30).ask("ASK { }")
        except RemoteError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(3)
        options.store_url = store
    options.reference = reference
    doing = f"checking {draft} against the graph (load, reason, validate, rule checks, impact)"
    with Progress("check", doing, forced=progress) as shown, steps_reported(shown.step):
        code, out, err = run_check_command(draft, options, fmt, fail_on, input_format, timeout, memory)
    if out:
        sys.stdout.write(out)
    if err:
        typer.echo(err, err=True)
    raise typer.Exit(code)


@app.command()
def diff(
    old: str = typer.Argument(..., help="Old version: a file, or an agreement in the graph (IRI or agreement:slug)."),
    new: str = typer.Argument(..., help="New version: a file, or an agreement in the graph."),
    fmt: str = typer.Option("text", "--format", help="text|json|markdown"),
    raw: bool = typer.Option(False, "--raw", help="Add the triple-level difference (canonical blank nodes)."),
    progress: bool = typer.Option(False, "--progress", help="Say what it is doing on stderr also when stderr is "
                                  "not a terminal (on a terminal it always does)."),
) -> None:
    """The difference between two versions of an agreement: parties, areas, leads, contacts, review, scope, dates."""
    from kg.progress import Progress
    from kg.revision.diff import run_diff_command

    with Progress("diff", f"comparing {old} with {new} (loading both versions and the labels)", forced=progress):
        code, out, err = run_diff_command(old, new, fmt, raw)
    if out:
        sys.stdout.write(out)
    if err:
        typer.echo(err, err=True)
    raise typer.Exit(code)


def main() -> None:  # console-script entry point
    app(prog_name="kg")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
