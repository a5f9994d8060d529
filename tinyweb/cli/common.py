"""What the commands share: turning errors into messages, and the options several commands take."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from tinyweb.cli.presenters import console
from tinyweb.errors import TinywebError
from tinyweb.snapshot import Viewport
from tinyweb.store import Store, default_data_dir


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn TinywebError into a clean message and exit code instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TinywebError as exc:
            # The message taken literally (it may hold [brackets]).
            console.print("[bold red]error:[/]", escape(str(exc)), soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]: what was captured is stored; run the same command to resume")
            sys.exit(130)

    return wrapper


def open_store(data_dir: Path | None) -> Store:
    return Store(data_dir or default_data_dir())


data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data directory (default: $TINYWEB_DATA or ./tinyweb-data).",
)
out_option = click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("tinyweb-build"),
    show_default=True,
    help="Build directory.",
)
seed_format_option = click.option(
    "--seed-format-text", is_flag=True, help="Keep the prototype-format text, not only its size."
)
run_option = click.option(
    "--run", "run_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="runs/NAME"
)


def _parse_viewports(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[Viewport, ...]:
    try:
        return Viewport.parse_all(values)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


viewport_option = click.option(
    "--viewport",
    "viewports",
    multiple=True,
    default=("1280x800", "390x844"),
    show_default=True,
    callback=_parse_viewports,
    help="Viewport WxH; give it several times to capture each width (the widest holds the inline styles, "
    "the others become @media rules). One --viewport captures one width.",
)
