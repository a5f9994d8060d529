"""The `tinyweb` command: a click layer. Each command parses its flags (most declared once, on the options
dataclass of the stage it runs: tinyweb.cli.options), calls one library function, and hands the result to a
presenter (tinyweb.cli.presenters)."""

from __future__ import annotations

import click

from tinyweb.cli import build, capture, learn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinyweb")
def main() -> None:
    """tinyweb: capture web pages, compress them into a semantic CSS framework, train a tiny web-design model."""


for command in (*capture.COMMANDS, *build.COMMANDS, *learn.COMMANDS):
    main.add_command(command)

if __name__ == "__main__":
    main()
