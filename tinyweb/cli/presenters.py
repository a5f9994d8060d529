"""Presenters: what the CLI prints. Rich tables of each stage's report, progress bars for long work, and the
demo's printer. Commands hand results here; nothing here computes a figure.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tinyweb.layout import (
    ADAPTER_DIR,
    CONTACT_SHEET,
    DATASET_DIR,
    EVALUATION_FILE,
    FINAL_DATASET,
    FRAMEWORK_CSS,
    LABELS_FILE,
    LOSS_PNG,
    METRICS_FILE,
    PAGES_DIR,
    REPORT_FILE,
    STATS_PNG,
)

# Piped or in CI, rich would assume 80 columns and squeeze the tables.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)
out = Console(width=None if sys.stdout.isatty() else 120)


def bar(name: str, described: bool = False) -> Progress:
    """A progress bar on stderr: name, bar, done/total, time, and what was just done."""
    columns = [TextColumn(f"[bold]{name}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    return Progress(*columns, *([TextColumn("{task.description}")] if described else []), console=console)


@contextmanager
def crawl_bar(total: int) -> Iterator[Any]:
    """A crawl's progress bar; yields the crawler's progress hook (url, outcome, summary)."""
    with bar("crawl", described=True) as progress:
        task = progress.add_task("", total=total)
        last: list[Any] = []

        def hook(url: str, outcome: str, summary: Any) -> None:
            last[:] = [summary]
            progress.update(task, completed=summary.visited, description=f"{outcome} {url[-60:]}")

        yield hook
        if last:  # the crawl may stop short of --max-pages: the bar ends full
            progress.update(task, total=last[0].visited or 1, completed=last[0].visited)


@contextmanager
def counted_bar(name: str, described: bool = False) -> Iterator[Any]:
    """A bar whose total comes with the first call: yields `advance(done, total, description="")`."""
    with bar(name, described) as progress:
        task = progress.add_task("", total=None)

        def advance(done: int, total: int, description: str = "") -> None:
            progress.update(task, completed=done, total=total, description=description)

        yield advance


@contextmanager
def stepped_bar(name: str, total: int) -> Iterator[Any]:
    """A bar of known length: yields `advance(n)`."""
    with bar(name) as progress:
        task = progress.add_task("", total=total)
        yield lambda n: progress.advance(task, n)


@contextmanager
def status(name: str) -> Iterator[Any]:
    """A spinner with a line that says what is being done: yields `tell(text)`."""
    with console.status(f"{name} …") as spinner:
        yield lambda text: spinner.update(f"{name}: {escape(text)}")


def stage(name: str) -> None:
    """A build stage starts."""
    console.print(f"[bold]{name}[/]")


def print_error(exc: Exception) -> int:
    """A TinywebError as one line (its message taken literally: it may hold [brackets]); its exit code."""
    console.print("[bold red]error:[/]", escape(str(exc)), soft_wrap=True)
    return getattr(exc, "exit_code", 1)


def print_interrupted() -> int:
    console.print("[yellow]interrupted[/]: what was captured is stored; run the same command to resume")
    return 130


def print_prepared(name: str, prepare: Any) -> None:
    console.print(f"preparing {name} (converted once, then reused)")
    out.print(f"{name}: {prepare()}")


def print_capture(snap: Any, snapshot_id: str, created: bool) -> None:
    s = snap.stats
    out.print(
        f"{'captured' if created else 'already stored'} [bold]{snapshot_id}[/] {snap.url}\n"
        f"  {s.element_count} elements, {len(snap.html):,} bytes styled (page HTML {s.raw_html_bytes:,}, "
        f"prototype format {s.seed_format_bytes or 0:,}), {s.capture_ms:.0f} ms in page"
    )


def print_exported(n: int, output: str) -> None:
    console.print(f"exported {n} snapshots" + ("" if output == "-" else f" to {output}"))


def print_skipped_seed(seeds_file: Path, bad: Any) -> None:
    console.print(f"[yellow]skipped seed[/] {seeds_file}:{bad.line_no}: {bad.line!r} ({bad.reason})")


def print_snapshots(snapshots: list[Any], store_path: Path) -> None:
    """The captured pages, one row each (the demo's)."""
    table = Table(title="captured pages (bytes)", show_header=True)
    table.add_column("id", no_wrap=True)
    table.add_column("title", no_wrap=True, max_width=30, overflow="ellipsis")
    for column in ("elements", "page", "snapshot", "prototype", "in page"):
        table.add_column(column, justify="right", no_wrap=True)
    for snap in snapshots:
        s = snap.stats
        table.add_row(
            snap.id[:8],
            snap.title,
            str(s.element_count),
            f"{s.raw_html_bytes:,}",
            f"{len(snap.html.encode()):,}",
            f"{s.seed_format_bytes or 0:,}",
            f"{s.capture_ms:.0f} ms",
        )
    out.print(table)
    out.print(f"{len(snapshots)} snapshots in {store_path}")


def composing(what: str) -> None:
    """Composed generation wrote its plan, or some sections."""
    console.print(f"  {escape(what)}")


CUT = {"budget": "cut at its budget", "mark": "cut where it began another example", "cancelled": "cancelled"}


def print_generated(
    report: dict[str, Any], unclosed: str = "[yellow]no closing </html>[/] (raise --max-new-tokens)"
) -> None:
    if report.get("mode") == "composed":
        ended = sum(s["ended"] for s in report["sections"])
        fallback = " [yellow](the model's plan did not parse: the fallback plan)[/]" if report["fallback_plan"] else ""
        out.print(f"plan{fallback}:")
        for i, section in enumerate(report["sections"], 1):
            cut = "" if section["ended"] else f" [yellow]({CUT.get(section.get('ending', ''), CUT['budget'])})[/]"
            out.print(f"  {i}. {escape(section['label'])}: {section['new_tokens']} tokens{cut}")
        state = f"composed of {len(report['sections'])} sections, {ended} ended on their own"
    else:
        state = "a complete document" if report["complete"] else unclosed
    out.print(f"{report['output']}: {state}, {report['new_tokens']} tokens in {report['seconds']:.1f} s")
    if report["unknown_classes"]:
        unknown = ", ".join(report["unknown_classes"][:10])
        out.print(f"classes the framework lacks ({len(report['unknown_classes'])}): {escape(unknown)}")
    if report["screenshot"]:
        out.print(f"screenshot: {report['screenshot']}")


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


def print_build(summary: dict[str, Any], out_dir: Path, footer: bool = False) -> None:
    """The build's headline figures, one table (with `footer`, where the build's files are)."""
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
        unlabelled = f"; skipped, no label: {p['unlabelled']}" if p.get("unlabelled") else ""
        rows = ", ".join(f"{kind} {n:,}" for kind, n in p["rows"].items())
        table.add_row("dataset pages", f"{p['reached']} of {p['pages']} ({splits}; {p['sites']} sites){unlabelled}")
        table.add_row("dataset rows", rows)
        table.add_row("whole pages", f"{p['kept']}; left out, too long: {p['left_out_too_long']}{fitted}")
        cut = p["sections"]
        if cut["section_tokens"]:
            table.add_row(
                "sections per page (median / max)",
                f"{cut['per_page']['median']:g} / {cut['per_page']['max']}; tokens median "
                f"{cut['section_tokens']['median']:g}, p95 {cut['section_tokens']['p95']} (budget {p['section_budget']}"
                f"; trimmed {cut['trimmed']}, condensed {cut['condensed']})",
            )
        pages = p["n_tokens"]["page"]
        if pages:
            table.add_row("tokens per page (median / max)", f"{pages['median']:,} / {pages['max']:,}")
    out.print(table)
    for warning in summary.get("prompts", {}).get("warnings", []):
        out.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if "label" in summary and summary["label"].get("imported"):
        imported = summary["label"]["imported"]
        out.print(f"manual labels: {imported['imported']} imported, {imported['removed']} removed")
    if "label" in summary and summary["label"].get("exported_to"):
        out.print(f"{summary['label']['exported']} labels written to {summary['label']['exported_to']}")
    if footer:
        out.print(
            f"report: {out_dir / REPORT_FILE}, pages: {out_dir / PAGES_DIR}/, "
            f"dataset: {out_dir / FINAL_DATASET}, {out_dir / DATASET_DIR}/, {out_dir / STATS_PNG}"
        )


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

    def __enter__(self) -> LabelBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def print_train(summary: dict[str, Any], output: Path) -> None:
    if not summary.get("main_process", True):  # under `accelerate launch`, one process reports
        return
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
    if not summary["validation_pages"]:
        out.print("[yellow]warning:[/yellow] no validation pages: trained without validation (training loss only)")
    out.print(f"adapter: {output / ADAPTER_DIR}/, loss curve: {output / LOSS_PNG}, metrics: {output / METRICS_FILE}")


def print_evaluation(report: dict[str, Any], target: Path) -> None:
    table = Table(title=f"evaluate {report['run']} ({len(report['requests'])} requests, {report['seconds']:.0f} s)")
    table.add_column("measure")
    summary, reference = report["summary"], report.get("reference") or {}
    for name in summary:
        table.add_column(name, justify="right")
    table.add_column("real pages (p25 / median)", justify="right")
    rows = [
        ("complete documents", "complete", "{:.0%}", None),
        ("parts that ended on their own", "parts_ended", "{:.0%}", None),
        ("parse errors per page (raw text)", "parse_errors", "{:.1f}", None),
        ("class uses in the framework", "class_uses_valid", "{:.0%}", None),
        ("blank (first screen)", "blank", "{:.0%}", "blank"),
        ("text at contrast >= 4.5:1", "contrast_ok", "{:.0%}", "contrast_ok"),
        ("ink, median", "ink", "{:.1%}", "ink"),
        ("colours, median", "colours", "{:g}", "colours"),
        ("painted blocks, median", "painted_blocks", "{:g}", "painted_blocks"),
        ("words on the first screen, median", "words", "{:g}", "words"),
        ("page height, median (px)", "height", "{:g}", "height"),
        ("landmark sections, median", "landmarks", "{:g}", "landmarks"),
        ("3+ landmarks and a footer", "landmarks_3_and_footer", "{:.0%}", None),
        ("request similarity", "request_similarity", "{:.3f}", None),
        ("repeated 4-grams", "repetition_rate", "{:.1%}", None),
        ("seconds per page, median", "seconds_median", "{:.1f}", None),
    ]
    for title, key, fmt, ref_key in rows:
        values = [summary[name].get(key) for name in summary]
        ref = reference.get(ref_key) if ref_key else None
        if isinstance(ref, dict):
            ref_text = f"{fmt.format(ref['p25'])} / {fmt.format(ref['median'])}"
        else:
            ref_text = "—" if ref is None else fmt.format(ref)
        table.add_row(title, *("—" if v is None else fmt.format(v) for v in values), ref_text)
    out.print(table)
    near = [n for n in report.get("nearest_training_labels") or [] if n["over_limit"]]
    if near:
        out.print(f"[yellow]warning:[/yellow] {len(near)} requests are close to a training label (> 0.85)")
    out.print(f"report: {target / EVALUATION_FILE}, contact sheet: {target / CONTACT_SHEET}")


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
    cut = section.get("sections")
    if cut and cut["scored"]:
        table.add_row(
            "sections alone vs their region of the page",
            f"{cut['scored']} of {cut['sections']} drawn ({cut['pages']} pages): median "
            f"{cut['median_pixel_share'] * 100:.1f}% equal pixels, {cut['share_at_95'] * 100:.0f}% at >= 95%",
        )
    out.print(table)


class DemoPrinter:
    """The demo's report (tinyweb.demo.DemoReport), printed."""

    def stage(self, text: str) -> None:
        console.print(text)

    def crawl_progress(self, total: int) -> Any:
        return crawl_bar(total)

    def crawled(self, summary: Any, snapshots: list[Any], store_path: Path) -> None:
        print_summary(summary)
        print_snapshots(snapshots, store_path)

    def built(self, summary: dict[str, Any], out_dir: Path) -> None:
        print_build(summary, out_dir)

    def verified(self, section: dict[str, Any], out_dir: Path) -> None:
        print_verify(section, out_dir)

    def trained(self, summary: dict[str, Any], run_dir: Path) -> None:
        print_train(summary, run_dir)

    def composing(self, what: str) -> None:
        composing(what)

    def generated(self, report: dict[str, Any]) -> None:
        print_generated(report, unclosed="not closed yet (a few steps are not a trained model)")

    def finished(self, out_dir: Path) -> None:
        out.print(
            f"framework: {out_dir / FRAMEWORK_CSS}, pages: {out_dir / PAGES_DIR}/, "
            f"labels: {out_dir / LABELS_FILE}, dataset: {out_dir / FINAL_DATASET} and "
            f"{out_dir / DATASET_DIR}/ ({out_dir / STATS_PNG}), report: {out_dir / REPORT_FILE}"
        )


def print_server(url: str, token: str, data_dir: Path) -> None:
    out.print(f"tinyweb server on [bold]{url}[/] (data: {data_dir})")
    out.print(f"pairing token: [bold]{token}[/]")
    out.print(f"studio: [bold]{url}studio[/] (ask the model for a page)")
