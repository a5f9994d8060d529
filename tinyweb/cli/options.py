"""Flags from the options dataclasses the stages own: each field's name, type, default and `help` metadata
become one click option (TRL's config style), so a flag is declared once, beside what it sets.

Field metadata: `help`; `flag` (another name, e.g. "--jobs"); `choices`; `exists` (a path that must exist);
`cli: False` keeps a field off the command line. A bool field with a False default is an on/off flag, one
with a True default a `--x/--no-x` pair. A nested dataclass field contributes its own fields.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _base_type(annotation: Any) -> Any:
    """`int` for `int | None`, and so on."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _fields(cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    hints = typing.get_type_hints(cls)
    found = []
    for f in dataclasses.fields(cls):
        kind = _base_type(hints[f.name])
        if dataclasses.is_dataclass(kind):
            found += _fields(kind)  # type: ignore[arg-type]
        elif f.metadata.get("cli", True) and "help" in f.metadata:
            found.append((f, kind))
    return found


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING  # a required option


def _option(f: dataclasses.Field[Any], kind: Any) -> Decorator:
    flag = f.metadata.get("flag", "--" + f.name.replace("_", "-"))
    default = _default(f)
    extra: dict[str, Any] = {"help": f.metadata["help"]}
    if default is dataclasses.MISSING:
        return click.option(flag, f.name, required=True, type=kind, **extra)
    if kind is bool:
        pair = "/" in flag or default
        names = [flag if "/" in flag else f"{flag}/--no-{flag[2:]}"] if pair else [flag]
        return click.option(*names, f.name, is_flag=True, default=default, show_default=pair, **extra)
    if "choices" in f.metadata:
        extra["type"] = click.Choice(list(f.metadata["choices"]))
    elif kind is Path:
        extra["type"] = click.Path(dir_okay=False, exists=f.metadata.get("exists", False), path_type=Path)
    elif kind in (int, float, str):
        extra["type"] = kind
    return click.option(flag, f.name, default=default, show_default=default is not None, **extra)


def options_of(*classes: type, skip: tuple[str, ...] = ()) -> Decorator:
    """A decorator adding one option per field of each dataclass (in field order), except those in `skip`."""
    options = [_option(f, kind) for cls in classes for f, kind in _fields(cls) if f.name not in skip]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def make(cls: type, values: dict[str, Any]) -> Any:
    """An instance of `cls` from the parsed flags (nested dataclasses filled from the same flags)."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        kind = _base_type(hints[f.name])
        if dataclasses.is_dataclass(kind):
            kwargs[f.name] = make(kind, values)  # type: ignore[arg-type]
        elif f.name in values:
            kwargs[f.name] = values[f.name]
    return cls(**kwargs)
