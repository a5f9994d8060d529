"""Flags from the options dataclasses the stages own: each field's name, type, default and `help` metadata
become one click option (TRL's config style), so a flag is declared once, beside what it sets.

Field metadata: `help`; `flag` (another name: "--jobs", or a "--x/--no-x" pair) or `flags` (several names);
`choices`; `exists` (a path that must exist); `dir` (a folder); `multiple` (repeatable, parsed by the function
given); `flag_value` (a flag that sets this value); `cli: False` (or no help) keeps a field off the command
line. A nested dataclass field contributes its own fields.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click


def _kind(annotation: Any) -> Any:
    """`int` for `int | None`, and so on."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _fields(cls: type) -> list[tuple[dataclasses.Field[Any], Any]]:
    hints, found = typing.get_type_hints(cls), []
    for f in dataclasses.fields(cls):
        kind = _kind(hints[f.name])
        if dataclasses.is_dataclass(kind):
            found += _fields(kind)  # type: ignore[arg-type]
        elif f.metadata.get("cli", True) and "help" in f.metadata:
            found.append((f, kind))
    return found


def _option(f: dataclasses.Field[Any], kind: Any) -> Callable[[Any], Any]:
    meta = f.metadata
    names = list(meta.get("flags", [meta.get("flag", "--" + f.name.replace("_", "-"))]))
    extra: dict[str, Any] = {"help": meta["help"]}
    if f.default is not dataclasses.MISSING:
        extra |= {"default": f.default, "show_default": f.default is not None and f.default is not False}
    elif f.default_factory is not dataclasses.MISSING:
        extra |= {"default": f.default_factory(), "show_default": True}
    else:
        extra["required"] = True
    if "multiple" in meta:  # repeatable, parsed as a whole by the function given
        extra |= {"multiple": True, "default": [str(v) for v in extra["default"]], "callback": _parse(meta["multiple"])}
    elif "flag_value" in meta:
        extra |= {"flag_value": meta["flag_value"], "show_default": False}
    elif kind is bool:
        extra["is_flag"] = True
    elif "choices" in meta:
        extra["type"] = click.Choice(list(meta["choices"]))
    elif kind is Path:
        folder = meta.get("dir", False)
        extra["type"] = click.Path(
            file_okay=not folder, dir_okay=folder, exists=meta.get("exists", False), path_type=Path
        )
    elif kind in (int, float, str):
        extra["type"] = kind
    return click.option(*names, f.name, **extra)


def _parse(parse: Callable[[Any], Any]) -> Callable[..., Any]:
    def callback(ctx: click.Context, param: click.Parameter, values: Any) -> Any:
        try:
            return parse(values)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc

    return callback


def options_of(*classes: type, skip: tuple[str, ...] = ()) -> Callable[[Any], Any]:
    """A decorator adding one option per field of each dataclass (in field order), except those in `skip`."""
    options = [_option(f, kind) for cls in classes for f, kind in _fields(cls) if f.name not in skip]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def make(cls: type, values: dict[str, Any]) -> Any:
    """An instance of `cls` from the parsed flags (nested dataclasses filled from the same flags)."""
    hints, kwargs = typing.get_type_hints(cls), {}
    for f in dataclasses.fields(cls):
        kind = _kind(hints[f.name])
        if dataclasses.is_dataclass(kind):
            kwargs[f.name] = make(kind, values)  # type: ignore[arg-type]
        elif f.name in values:
            kwargs[f.name] = values[f.name]
    return cls(**kwargs)
