"""`make lint`: the CLI stays a thin click layer.

- the CLI package, presenters excluded, is at most MAX_LINES lines;
- no command body (the function under @click.command) is over MAX_BODY lines, its docstring excluded;
- no command body speaks SQL or walks the filesystem (shutil, os, glob, rmtree, mkdir, unlink…): a command
  only opens the paths the user named.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CLI = Path(__file__).resolve().parent.parent / "tinyweb" / "cli"
EXCLUDED = {"presenters.py"}
MAX_LINES = 400
MAX_BODY = 25
FORBIDDEN_NAMES = {"shutil", "os", "glob", "rmtree", "mkdir", "unlink", "iterdir", "sqlite3", "execute", "rename"}


def is_command(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in ("command", "group"):
            return True
    return False


def body_lines(node: ast.FunctionDef) -> int:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the docstring is the command's --help, not its work
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0  # type: ignore[operator]


def problems() -> list[str]:
    found = []
    files = sorted(p for p in CLI.glob("*.py") if p.name not in EXCLUDED)
    total = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in files)
    if total > MAX_LINES:
        found.append(f"the CLI package is {total} lines (presenters excluded), over {MAX_LINES}")
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef) or not is_command(node):
                continue
            where = f"{path.name}:{node.lineno} {node.name}"
            if (n := body_lines(node)) > MAX_BODY:
                found.append(f"{where}: the body is {n} lines, over {MAX_BODY}")
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            names |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            if bad := sorted(names & FORBIDDEN_NAMES):
                found.append(f"{where}: store or filesystem work in a command ({', '.join(bad)})")
    return found


def main() -> int:
    found = problems()
    for problem in found:
        print(f"check_cli: {problem}", file=sys.stderr)
    if not found:
        files = [p for p in CLI.glob("*.py") if p.name not in EXCLUDED]
        print(f"check_cli: {sum(len(p.read_text().splitlines()) for p in files)} lines, every command thin")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
