"""The `tinyweb` command: thin click commands that parse, call one library function, and print."""

from __future__ import annotations

import asyncio
import functools
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tinyweb.errors import TinywebError, UsageError
from tinyweb.snapshot import Viewport
from tinyweb.store import Store, default_data_dir

# Piped or in CI, rich would assume 80 columns and squeeze the tables.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
out = Console(width=None if sys.stdout.isatty() else 120)


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn TinywebError into a clean message and exit code instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TinywebError as exc:
            # One unwrapped line, the message taken literally (it may hold [brackets]).
            console.print("[bold red]error:[/]", escape(str(exc)), soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: what was captured is stored; run the same command to resume")
            sys.exit(130)

    return wrapper


def data_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--data",
        "data_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Data directory (default: $TINYWEB_DATA or ./tinyweb-data).",
    )(fn)


def viewport_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--viewport",
        "viewports",
        multiple=True,
        default=("1280x800", "390x844"),
        show_default=True,
        callback=_parse_viewports,
        help="Viewport WxH; give it several times to capture each width (the widest holds the inline styles, "
        "the others become @media rules). One --viewport captures one width.",
    )(fn)


def _parse_viewports(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[Viewport, ...]:
    try:
        parsed = [Viewport.parse(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    widths = [v.width for v in parsed]
    if len(set(widths)) != len(widths):
        raise click.BadParameter(f"each --viewport needs its own width, not {', '.join(map(str, widths))}")
    return tuple(sorted(parsed, key=lambda v: -v.width))


def open_store(data_dir: Path | None) -> Store:
    return Store(data_dir or default_data_dir())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinyweb")
def main() -> None:
    """tinyweb: capture web pages, compress them into a semantic CSS framework, train a tiny web-design model."""


@main.command()
@click.argument("url")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON here.")
@viewport_option
@data_option
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the page to load.")
@click.option("--seed-format-text", is_flag=True, help="Keep the prototype-format text, not only its size.")
@click.option("--block-external", is_flag=True, help="Abort every request that leaves 127.0.0.1/localhost.")
@handle_errors
def capture(
    url: str,
    output: Path | None,
    viewports: tuple[Viewport, ...],
    data_dir: Path | None,
    timeout: float,
    seed_format_text: bool,
    block_external: bool,
) -> None:
    """Capture one page into the store."""
    from tinyweb.capture.browser import Browser, BrowserOptions, capture_url

    async def run():
        async with Browser(BrowserOptions(viewport=viewports[0], block_external=block_external)) as browser:
            page = await browser.new_page()
            seed_format = "text" if seed_format_text else "size"
            return await capture_url(
                page, url, timeout_s=timeout, source="cli", viewports=viewports, seedFormat=seed_format
            )

    try:
        snap = asyncio.run(run())
    except TinywebError as exc:
        with open_store(data_dir) as store:
            store.record_failure(url, getattr(exc, "reason", "capture_failed"), str(exc), source="cli")
        raise
    with open_store(data_dir) as store:
        snapshot_id, created = store.add(snap)
    if output:
        output.write_text(snap.model_dump_json(indent=1), encoding="utf-8")
    s = snap.stats
    out.print(
        f"{'captured' if created else 'already stored'} [bold]{snapshot_id}[/] {snap.url}\n"
        f"  {s.element_count} elements, {len(snap.html):,} bytes styled (page HTML {s.raw_html_bytes:,}, "
        f"prototype format {s.seed_format_bytes or 0:,}), {s.capture_ms:.0f} ms in page"
    )


@main.command()
@click.argument("urls", nargs=-1)
@click.option(
    "--seeds-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File of seed URLs, one per line (# comments allowed).",
)
@data_option
@click.option("--max-pages", default=50, show_default=True, help="Pages to visit in this crawl, in all.")
@click.option("--max-per-domain", default=0, show_default=True, help="Pages per host (0: no limit).")
@click.option("--max-depth", default=2, show_default=True, help="Link depth from the seeds.")
@click.option(
    "--same-site/--external",
    default=True,
    show_default=True,
    help="Follow links only within each seed's site, or anywhere.",
)
@click.option("--concurrency", default=2, show_default=True, help="Pages captured at once.")
@click.option("--ignore-robots", is_flag=True, help="Do not read robots.txt.")
@click.option("--delay", default=0.5, show_default=True, help="Seconds between requests to one host.")
@click.option("--timeout", default=30.0, show_default=True, help="Per-page load timeout in seconds.")
@viewport_option
@click.option("--block-external", is_flag=True, help="Abort every request that leaves 127.0.0.1/localhost.")
@click.option("--seed-format-text", is_flag=True, help="Keep the prototype-format text, not only its size.")
@handle_errors
def crawl(
    urls: tuple[str, ...],
    seeds_file: Path | None,
    data_dir: Path | None,
    max_pages: int,
    max_per_domain: int,
    max_depth: int,
    same_site: bool,
    concurrency: int,
    ignore_robots: bool,
    delay: float,
    timeout: float,
    viewports: tuple[Viewport, ...],
    block_external: bool,
    seed_format_text: bool,
) -> None:
    """Crawl breadth-first from seed URLs, capturing every page (resumable: run it again to continue)."""
    from tinyweb.capture.crawler import CrawlOptions

    options = CrawlOptions(
        max_pages=max_pages,
        max_per_domain=max_per_domain,
        max_depth=max_depth,
        same_site=same_site,
        concurrency=concurrency,
        respect_robots=not ignore_robots,
        delay_s=delay,
        page_timeout_s=timeout,
        viewports=viewports,
        block_external=block_external,
        seed_format="text" if seed_format_text else "size",
    )
    with open_store(data_dir) as store:
        run_crawl(store, list(urls), seeds_file, options)


def run_crawl(store: Store, urls: list[str], seeds_file: Path | None, options) -> Any:
    """Crawl with a progress bar and print the summary; shared by `crawl` and `demo`."""
    from tinyweb.capture.crawler import crawl as crawl_pages
    from tinyweb.capture.crawler import read_seeds

    seeds = list(urls)
    bad_lines = []
    if seeds_file:
        more, bad_lines = read_seeds(seeds_file)
        seeds += more
    for bad in bad_lines:
        store.record_failure(bad.line, "bad_seed", f"{seeds_file}:{bad.line_no}: {bad.reason}")
        console.print(f"[yellow]skipped seed[/] {seeds_file}:{bad.line_no}: {bad.line!r} ({bad.reason})")
    if not seeds:
        raise UsageError("no valid seed URLs: give URLs or a --seeds-file with http(s) URLs")
    with Progress(
        TextColumn("[bold]crawl"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=options.max_pages)

        def progress(url: str, outcome: str, summary) -> None:
            bar.update(task, completed=summary.visited, description=f"{outcome} {url[-60:]}")

        summary = crawl_pages(store, seeds, options, progress)
        bar.update(task, total=summary.visited or 1, completed=summary.visited)
    print_summary(summary, bad_lines)
    return summary


def print_summary(summary, bad_lines=()) -> None:
    table = Table(title=f"crawl {summary.crawl_id} in {summary.seconds:.1f} s", show_header=True)
    table.add_column("outcome")
    table.add_column("pages", justify="right")
    table.add_row("captured", str(summary.captured))
    table.add_row("already stored", str(summary.duplicates))
    for reason, n in sorted(summary.failed.items()):
        table.add_row(f"[red]failed: {reason}[/]", str(n))
    for reason, n in sorted(summary.skipped.items()):
        table.add_row(f"skipped: {reason}", str(n))
    if bad_lines:
        table.add_row("[yellow]bad seed lines[/]", str(len(bad_lines)))
    out.print(table)


@main.command()
@data_option
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=Path("-"),
    show_default=True,
    help="JSON-lines file, or - for standard output.",
)
@handle_errors
def export(data_dir: Path | None, output: Path) -> None:
    """Write every stored snapshot as one JSON record per line."""
    with open_store(data_dir) as store:
        stream = sys.stdout if str(output) == "-" else output.open("w", encoding="utf-8")
        try:
            n = 0
            for snap in store.iter_snapshots():
                stream.write(snap.model_dump_json() + "\n")
                n += 1
        finally:
            if stream is not sys.stdout:
                stream.close()
    console.print(f"exported {n} snapshots" + ("" if str(output) == "-" else f" to {output}"))


@main.command()
@data_option
@click.option(
    "--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None, help="Build directory."
)
@click.option("--run", "run_dir", type=click.Path(file_okay=False, path_type=Path), help="Training run folder.")
@click.option("--port", default=0, help="Port for the example site (default: any free port).")
@click.option("--no-train", is_flag=True, help="Stop after the build: no training, no generation.")
@handle_errors
def demo(data_dir: Path | None, out_dir: Path | None, run_dir: Path | None, port: int, no_train: bool) -> None:
    """The pipeline on the example site that ships with tinyweb: serve it on 127.0.0.1, crawl it, build the
    semantic CSS framework, pages, labels and prompt dataset, verify the pages in Chromium, then train
    SmolLM2 a few steps on the dataset and generate and screenshot a page with it.

    Without --data/--out/--run the demo starts fresh in ./tinyweb-demo-data, ./tinyweb-demo-build and
    ./tinyweb-demo-run every time.
    """
    from tinyweb.demo import DEFAULT_DATA, DEFAULT_OUT, DEFAULT_RUN, run_demo

    if data_dir is None:
        shutil.rmtree(DEFAULT_DATA, ignore_errors=True)
    if out_dir is None:
        shutil.rmtree(DEFAULT_OUT, ignore_errors=True)
    if run_dir is None:
        shutil.rmtree(DEFAULT_RUN, ignore_errors=True)
    run_demo(data_dir or DEFAULT_DATA, out_dir or DEFAULT_OUT, run_dir or DEFAULT_RUN, port, out, console, not no_train)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback only by default).")
@click.option("--port", default=8765, show_default=True, help="Port to listen on.")
@data_option
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host: other machines could reach it.")
@handle_errors
def serve(host: str, port: int, data_dir: Path | None, allow_remote: bool) -> None:
    """Run the ingest server the browser extension sends snapshots to; prints the URL and pairing token."""
    from aiohttp import web

    from tinyweb_server import ServerConfig, init_app
    from tinyweb_server.keys import TOKEN_KEY

    config = ServerConfig(data_dir=data_dir or default_data_dir(), host=host, port=port, allow_remote=allow_remote)
    app = init_app(config)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    out.print(f"tinyweb server on [bold]{url}[/] (data: {config.data_dir})")
    out.print(f"pairing token: [bold]{app[TOKEN_KEY]}[/]")
    web.run_app(app, host=host, port=port, print=None, access_log=None)


# --- build: clean → topics → framework → convert ---------------------------------------------------------------


def out_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("tinyweb-build"),
        show_default=True,
        help="Build directory.",
    )(fn)


def max_tokens_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--max-tokens",
        default=2048,
        show_default=True,
        help="Drop pages that cannot fit in this many SmolLM2 tokens (0: no limit); the training length.",
    )(fn)


def jobs_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--jobs", "num_proc", type=int, default=None, help="Processes (default: every core).")(fn)


def labeler_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options that choose and configure a labeller (`tinyweb label` and `tinyweb build`)."""
    from tinyweb.build.labelers import LABELERS

    options = [
        click.option(
            "--labeler",
            type=click.Choice(LABELERS),
            default="extractive",
            show_default=True,
            help="Who writes each page's request: rules (extractive), SmolLM2 offline (local), or an "
            "OpenAI-compatible server (openai).",
        ),
        click.option("--labeler-url", help="openai: the server, e.g. http://127.0.0.1:8080 (or …/v1)."),
        click.option("--labeler-model", help="openai: the model name; local: a model folder (default SmolLM2)."),
        click.option(
            "--api-key-env", default="OPENAI_API_KEY", show_default=True, help="openai: variable holding the key."
        ),
        click.option("--labeler-timeout", default=60.0, show_default=True, help="openai: seconds per request."),
        click.option("--labeler-concurrency", default=4, show_default=True, help="openai: requests at once."),
        click.option("--labeler-batch-size", default=8, show_default=True, help="local: pages per batch."),
        click.option("--relabel", is_flag=True, help="Write new labels even where the labeller stored some."),
        click.option(
            "--gold",
            type=click.Path(dir_okay=False, exists=True, path_type=Path),
            help="Measure label quality against this gold set (TSV/CSV: path|url|id, request).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _label_options(
    labeler: str = "extractive",
    labeler_url: str | None = None,
    labeler_model: str | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    labeler_timeout: float = 60.0,
    labeler_concurrency: int = 4,
    labeler_batch_size: int = 8,
    relabel: bool = False,
    gold: Path | None = None,
):
    from tinyweb.build.labels import LabelOptions

    extra: dict[str, Any] = {}
    if labeler == "openai":
        if not labeler_url:
            raise UsageError("--labeler openai needs --labeler-url (an OpenAI-compatible server)")
        extra = {
            "url": labeler_url,
            "model": labeler_model or "default",
            "api_key_env": api_key_env,
            "timeout": labeler_timeout,
            "concurrency": labeler_concurrency,
        }
    elif labeler == "local":
        extra = {"model": labeler_model, "batch_size": labeler_batch_size}
    return LabelOptions(labeler=labeler, labeler_options=extra, relabel=relabel, gold=gold)


def fit_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--fit/--no-fit",
        default=False,
        show_default=True,
        help="Condense pages longer than --max-tokens into complete shorter documents instead of leaving them out.",
    )(fn)


def _build_options(
    max_tokens: int = 2048,
    num_proc: int | None = None,
    validation_share: float = 0.1,
    fit: bool = False,
    **label: Any,
):
    from tinyweb.build.pipeline import BuildOptions

    if max_tokens < 0:
        raise UsageError("--max-tokens must be 0 (no limit) or more")
    if not 0 <= validation_share < 1:
        raise UsageError("--validation-share must be at least 0 and below 1")
    return BuildOptions(
        max_tokens=max_tokens,
        num_proc=num_proc,
        label=_label_options(**label),
        validation_share=validation_share,
        fit=fit,
    )


def validation_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--validation-share", default=0.1, show_default=True, help="Share of each topic's pages kept for validation."
    )(fn)


class LabelBar:
    """A progress bar for the labeller, shown once it has pages to label."""

    def __init__(self) -> None:
        self.bar: Progress | None = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total == 0:
                return
            self.bar = Progress(
                TextColumn("[bold]label"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
            )
            self.bar.start()
            self.task = self.bar.add_task("", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def print_build(summary: dict[str, Any], out_dir: Path) -> None:
    """The build's headline figures, one table."""
    table = Table(title=f"build in {out_dir}/", show_header=False)
    table.add_column("what")
    table.add_column("figure", justify="right")
    if "clean" in summary:
        c = summary["clean"]
        dropped = ", ".join(f"{k} {v}" for k, v in c["dropped"].items()) or "none"
        table.add_row("pages kept / snapshots", f"{c['kept']} / {c['snapshots']} (dropped: {dropped})")
    if "topics" in summary:
        t = summary["topics"]
        table.add_row("topics", ", ".join(f"{name} ({n})" for name, n in t["topics"].items()))
    if "framework" in summary:
        f = summary["framework"]
        table.add_row("framework", f"{f['classes']} classes, {f['bytes']:,} bytes, {f['tokens']:,} tokens")
    if "convert" in summary:
        t = summary["convert"]["totals"]
        if t["seed_format_over_semantic"]:
            table.add_row("prototype format / semantic+framework (tokens)", f"{t['seed_format_over_semantic']:.1f}x")
        table.add_row("semantic+framework / snapshot (tokens)", f"{t['semantic_over_snapshot']:.3f}")
        table.add_row("lossless pages", f"{t['lossless_pages']} / {t['pages']}")
        table.add_row("classes per styled element", f"{t['classes_per_element']:.2f}")
        table.add_row("elements with a residual inline style", f"{t['residual_element_share'] * 100:.1f}%")
        r = summary["convert"].get("responsive")
        if r and r["media_classes"]:
            table.add_row(
                "responsive (@media classes)",
                f"{r['responsive_pages']} / {r['pages']} pages, {r['media_classes']} classes, "
                f"+{(r['cost'] or 0) * 100:.1f}% tokens",
            )
    if "label" in summary:
        lab = summary["label"]
        sources = ", ".join(f"{k} {v}" for k, v in lab["by_source"].items())
        table.add_row("labels", f"{lab['pages']} by {lab['labeler']} ({sources}; reused {lab['reused']})")
        if lab["fallbacks"]:
            reasons = ", ".join(f"{k} {v}" for k, v in lab["fallback_reasons"].items())
            table.add_row("labeller failures → extractive", f"{lab['fallbacks']} ({reasons})")
        table.add_row(
            "boilerplate / duplicate labels (title)",
            f"{lab['boilerplate_rate']:.0%} / {lab['duplicate_rate']:.0%} "
            f"({lab['title_boilerplate_rate']:.0%} / {lab['title_duplicate_rate']:.0%})",
        )
        for name, q in lab.get("quality", {}).items():
            table.add_row(
                f"gold set ({q['pages']} pages): {name}",
                f"similarity {q['similarity']:.3f}, boilerplate {q['boilerplate_rate']:.0%}, "
                f"duplicates {q['duplicate_rate']:.0%}",
            )
    if "prompts" in summary:
        p = summary["prompts"]
        splits = ", ".join(f"{k} {v}" for k, v in p["splits"].items())
        fitted = f"; condensed to fit: {p['fitted']}" if p.get("fit") else ""
        table.add_row("dataset pages", f"{p['kept']} ({splits}); left out, too long: {p['left_out_too_long']}{fitted}")
        table.add_row("tokens per page (median / max)", f"{p['n_tokens']['median']:,} / {p['n_tokens']['max']:,}")
    out.print(table)


def _stage(name: str) -> None:
    console.print(f"[bold]{name}[/]")


@main.command()
@data_option
@out_option
@max_tokens_option
@jobs_option
@labeler_options
@validation_option
@fit_option
@handle_errors
def build(data_dir: Path | None, out_dir: Path, max_tokens: int, num_proc: int | None, **options: Any) -> None:
    """Run clean, topics, framework, convert, label and prompts on the stored snapshots."""
    from tinyweb.build.pipeline import build as run_build

    build_options = _build_options(max_tokens, num_proc, **options)
    bar = LabelBar()
    try:
        with open_store(data_dir) as store:
            summary = run_build(store, out_dir, build_options, progress=_stage, label_progress=bar)
    finally:
        bar.close()
    print_build(summary, out_dir)
    out.print(
        f"report: {out_dir / 'report.json'}, pages: {out_dir / 'pages'}/, dataset: {out_dir / 'final-dataset.json'}"
    )


@main.command()
@data_option
@out_option
@max_tokens_option
@jobs_option
@handle_errors
def clean(data_dir: Path | None, out_dir: Path, max_tokens: int, num_proc: int | None) -> None:
    """Stage 1: drop unusable and duplicate pages, normalise every style."""
    from tinyweb.build.pipeline import run_clean

    with open_store(data_dir) as store:
        print_build({"clean": run_clean(store, out_dir, _build_options(max_tokens, num_proc))}, out_dir)


@main.command()
@out_option
@handle_errors
def topics(out_dir: Path) -> None:
    """Stage 2: embed and cluster the cleaned pages into named topics."""
    from tinyweb.build.pipeline import run_topics

    print_build({"topics": run_topics(out_dir)}, out_dir)


@main.command()
@out_option
@jobs_option
@handle_errors
def framework(out_dir: Path, num_proc: int | None) -> None:
    """Stage 3: factor the corpus's styles into the semantic CSS framework."""
    from tinyweb.build.pipeline import run_framework

    print_build({"framework": run_framework(out_dir, _build_options(num_proc=num_proc))}, out_dir)


@main.command()
@out_option
@jobs_option
@handle_errors
def convert(out_dir: Path, num_proc: int | None) -> None:
    """Stage 4: rewrite every cleaned page to use the framework."""
    from tinyweb.build.pipeline import run_convert

    print_build({"convert": run_convert(out_dir, _build_options(num_proc=num_proc))}, out_dir)


@main.command(name="label")
@data_option
@out_option
@labeler_options
@click.option(
    "--import",
    "import_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="First import manual labels (CSV/TSV with id or url, and label; or JSON). They override any labeller; "
    "an empty label removes a manual one.",
)
@click.option(
    "--export",
    "export_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Then write every page's label to this CSV, to fix by hand and --import.",
)
@handle_errors
def label_command(
    data_dir: Path | None, out_dir: Path, import_file: Path | None, export_file: Path | None, **options: Any
) -> None:
    """Stage 5: write the request a person would type for each page (kept in the store)."""
    from tinyweb.build.labels import export_labels, import_labels
    from tinyweb.build.pipeline import load_pages, run_label

    build_options = _build_options(**options)
    bar = LabelBar()
    with open_store(data_dir) as store:
        if import_file:
            counts = import_labels(store, import_file)
            out.print(f"manual labels: {counts['imported']} imported, {counts['removed']} removed from {import_file}")
        try:
            section = run_label(store, out_dir, build_options, bar)
        finally:
            bar.close()
    print_build({"label": section}, out_dir)
    if export_file:
        n = export_labels(out_dir, export_file, load_pages(out_dir))
        out.print(f"{n} labels written to {export_file}")


@main.command()
@out_option
@max_tokens_option
@validation_option
@fit_option
@handle_errors
def prompts(out_dir: Path, max_tokens: int, validation_share: float, fit: bool) -> None:
    """Stage 6: write the prompt dataset (final-dataset.json, dataset/, dataset-stats.png)."""
    from tinyweb.build.pipeline import run_prompts

    section = run_prompts(out_dir, _build_options(max_tokens, validation_share=validation_share, fit=fit))
    print_build({"prompts": section}, out_dir)
    out.print(f"dataset: {out_dir / 'final-dataset.json'}, {out_dir / 'dataset'}/, {out_dir / 'dataset-stats.png'}")


# --- learn: model, train, generate, evaluate -------------------------------------------------------------


@main.group()
def model() -> None:
    """Base models and trained runs as plain model folders."""


@model.command("prepare")
@click.option("--base-model", default="smollm2-135m", show_default=True, help="A known base model name.")
@handle_errors
def model_prepare(base_model: str) -> None:
    """Convert a base model once into a safetensors folder in the cache (SmolLM2: from the GGUF in its wheel)."""
    from tinyweb.learn.runs import resolve_base_model
    from tinyweb.models import BASE_MODELS

    if base_model not in BASE_MODELS:
        raise UsageError(f"unknown base model {base_model!r}: known are {', '.join(BASE_MODELS)}")
    console.print(f"preparing {base_model} (converted once, then reused)")
    out.print(f"{base_model}: {resolve_base_model(base_model)}")


@model.command("export")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="New folder.")
@handle_errors
def model_export(run_dir: Path, output: Path) -> None:
    """Merge a run's LoRA into a standalone model folder that plain transformers loads."""
    from tinyweb.learn.runs import export_model

    out.print(f"merged model: {export_model(run_dir, output)}")


@main.command(name="train")
@click.option(
    "--dataset",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("tinyweb-build/dataset"),
    show_default=True,
    help="The prompt dataset (OUT/dataset from `tinyweb prompts`).",
)
@click.option("--base-model", default="smollm2-135m", show_default=True, help="smollm2-135m or a model folder.")
@click.option("--output", required=True, type=click.Path(file_okay=False, path_type=Path), help="runs/NAME")
@click.option("--max-steps", default=-1, show_default=True, help="Optimizer steps (-1: as many as --epochs take).")
@click.option("--epochs", default=3.0, show_default=True)
@click.option("--lora-r", default=16, show_default=True)
@click.option("--lora-alpha", default=32, show_default=True)
@click.option("--lora-dropout", default=0.05, show_default=True)
@click.option("--max-length", default=2048, show_default=True, help="Tokens per sequence (pages never cut).")
@click.option("--lr", default=2e-4, show_default=True, help="Learning rate.")
@click.option("--batch-size", default=1, show_default=True, help="Sequences per device per step.")
@click.option("--grad-accum", default=4, show_default=True, help="Gradient accumulation steps.")
@click.option("--packing/--no-packing", default=True, show_default=True, help="Pack pages into sequences.")
@click.option("--pad-to-max-length", is_flag=True, help="With --no-packing: pad every sequence to --max-length.")
@click.option("--eval-steps", default=0, show_default=True, help="Validate every N steps (0: four times).")
@click.option("--save-steps", default=50, show_default=True, help="Checkpoint every N steps.")
@click.option("--seed", default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue the run in --output from its latest checkpoint.")
@handle_errors
def train_command(dataset: Path, output: Path, resume: bool, **options: Any) -> None:
    """LoRA-fine-tune a small causal LM on the prompt dataset (loss on the page only)."""
    from accelerate import PartialState

    from tinyweb.learn.train import TrainConfig, train

    config = TrainConfig(dataset=str(dataset), output=str(output), **options)
    summary = train(config, resume=resume)
    if PartialState().is_main_process:  # under `accelerate launch`, one process reports
        print_train(summary, output)


def print_train(summary: dict[str, Any], output: Path) -> None:
    table = Table(title=f"train {output}/", show_header=False)
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("steps / epochs", f"{summary['steps']} / {summary['epochs']}")
    table.add_row("pages (train / validation)", f"{summary['train_pages']} / {summary['validation_pages']}")
    left_out = summary["left_out_too_long"]
    if left_out["train"] or left_out["validation"]:
        table.add_row("left out, longer than --max-length", f"{left_out['train']} / {left_out['validation']}")
    table.add_row("training loss", f"{summary['train_loss']:.4f}")
    if summary["eval_loss"] is not None:
        table.add_row("validation loss", f"{summary['eval_loss']:.4f}")
    table.add_row("non-padding tokens / s", f"{summary['tokens_per_second']:,}")
    out.print(table)
    out.print(f"adapter: {output / 'adapter'}/, loss curve: {output / 'loss.png'}, metrics: {output / 'metrics.json'}")


def generation_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--max-new-tokens", default=1024, show_default=True, help="The longest page, in tokens."),
        click.option("--temperature", default=0.0, show_default=True, help="0: greedy; above: sampling."),
        click.option("--top-p", default=0.95, show_default=True, help="Nucleus sampling (temperature > 0)."),
        click.option("--seed", default=0, show_default=True),
        click.option("--repetition-penalty", default=1.1, show_default=True, help="On generated tokens only."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@main.command(name="generate")
@click.argument("prompt")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="runs/NAME")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("page.html"))
@click.option("--screenshot", type=click.Path(dir_okay=False, path_type=Path), help="Also render it to this PNG.")
@generation_options
@handle_errors
def generate_command(prompt: str, run_dir: Path, output: Path, screenshot: Path | None, **options: Any) -> None:
    """Write the page a trained run makes for PROMPT ("a landing page for a bakery"), with the framework."""
    from tinyweb.learn.generate import GenerateOptions, generate

    console.print(f"[bold]generate[/] with {run_dir} …")
    report = generate(run_dir, prompt, output, screenshot, GenerateOptions(**options))
    state = "a complete document" if report["complete"] else "[yellow]no closing </html>[/] (raise --max-new-tokens)"
    out.print(f"{report['output']}: {state}, {report['new_tokens']} tokens in {report['seconds']:.1f} s")
    if report["unknown_classes"]:
        unknown = ", ".join(report["unknown_classes"][:10])
        out.print(f"classes the framework lacks ({len(report['unknown_classes'])}): {escape(unknown)}")
    if report["screenshot"]:
        out.print(f"screenshot: {report['screenshot']}")


@main.command(name="evaluate")
@click.option("--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="runs/NAME")
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Requests to try: one per line, or a JSON list.",
)
@click.option("--split", type=click.Choice(["validation"]), help="Use the labels of the dataset's validation split.")
@click.option("--dataset", type=click.Path(file_okay=False, path_type=Path), help="With --split (default: the run's).")
@click.option("--limit", default=20, show_default=True, help="At most this many prompts.")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), help="Default: RUN/evaluation.")
@generation_options
@handle_errors
def evaluate_command(
    run_dir: Path,
    prompts_file: Path | None,
    split: str | None,
    dataset: Path | None,
    limit: int,
    output: Path | None,
    **options: Any,
) -> None:
    """Base model and tuned model side by side on the same requests: a JSON report and a contact sheet."""
    from tinyweb.learn.evaluate import evaluate, read_prompts, validation_prompts
    from tinyweb.learn.generate import GenerateOptions
    from tinyweb.learn.runs import read_run_config

    if (prompts_file is None) == (split is None):
        raise UsageError("give either --prompts FILE or --split validation")
    if prompts_file is not None:
        prompts = read_prompts(prompts_file)[:limit]
    else:
        prompts = validation_prompts(dataset or Path(read_run_config(run_dir)["config"]["dataset"]), limit)
    target = output or run_dir / "evaluation"
    with Progress(
        TextColumn("[bold]evaluate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("", total=4 * len(prompts))
        report = evaluate(run_dir, prompts, target, GenerateOptions(**options), lambda n: bar.advance(task, n))
    print_evaluation(report, target)


def print_evaluation(report: dict[str, Any], target: Path) -> None:
    table = Table(title=f"evaluate {report['run']} ({len(report['prompts'])} prompts)")
    table.add_column("metric")
    for name in report["summary"]:
        table.add_column(name, justify="right")
    rows = [
        ("complete documents", "complete", "{:.0%}"),
        ("HTML parse errors per page", "parse_errors", "{:.1f}"),
        ("… not caused by stopping early", "parse_errors_before_end", "{:.1f}"),
        ("class names in the framework", "class_validity", "{:.0%}"),
        ("renders non-blank", "renders_non_blank", "{:.0%}"),
        ("prompt ↔ page text similarity", "prompt_similarity", "{:.3f}"),
        ("repeated 4-grams", "repetition_rate", "{:.1%}"),
    ]
    for title, key, fmt in rows:
        values = [report["summary"][name].get(key) for name in report["summary"]]
        table.add_row(title, *("—" if v is None else fmt.format(v) for v in values))
    out.print(table)
    out.print(f"report: {target / 'evaluation.json'}, contact sheet: {target / 'contact-sheet.png'}")


@main.command()
@click.argument("out_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--sample", type=int, default=None, help="Check an even spread of this many pages (default: all).")
@handle_errors
def verify(out_dir: Path, sample: int | None) -> None:
    """Render every semantic page beside its snapshot and compare pixels and computed styles."""
    from tinyweb.build.pipeline import load_pages
    from tinyweb.build.verify import page_viewports, select
    from tinyweb.build.verify import verify as run_verify

    total = sum(len(page_viewports(p)) for p in select(load_pages(out_dir), sample))
    with Progress(
        TextColumn("[bold]verify"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
    ) as bar:
        task = bar.add_task("", total=total)

        def progress(check) -> None:
            bar.update(
                task, advance=1, description=f"{check.pixel_share * 100:.2f}% {check.viewport} {check.url[-50:]}"
            )

        section = run_verify(out_dir, sample, progress)
    print_verify(section, out_dir)


def print_verify(section: dict[str, Any], out_dir: Path) -> None:
    table = Table(title=f"verify {out_dir}/", show_header=False)
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("pages", str(section["pages"]))
    for viewport, figures in section["widths"].items():
        table.add_row(f"at {viewport}: pages checked", str(figures["checked"]))
        table.add_row(f"at {viewport}: median equal pixels", f"{figures['median_pixel_share'] * 100:.3f}%")
        table.add_row(f"at {viewport}: pages with >= 99% equal pixels", f"{figures['share_of_pages_at_99'] * 100:.1f}%")
        table.add_row(f"at {viewport}: median elements, equal style", f"{figures['median_style_share'] * 100:.2f}%")
    table.add_row("worst pages, side by side", ", ".join(str(out_dir / p) for p in section["worst"][:3]))
    out.print(table)


if __name__ == "__main__":
    main()
