"""Captured pages are private: the folders that hold them are 0700 and their files 0600.

Snapshots hold what a person read (and the pairing token is a password), so another user of the machine must
not be able to read them. A folder tinyweb makes gets mode 0700 and a marker file; an existing folder that is
looser is tightened only when it carries the marker, since it could be anything else (a home folder given as
--data): that one is left as it is, with a warning that says how to fix it. The files tinyweb writes itself
(the database, the token, exports) are made 0600; `restrict_umask()` makes every other file the process
writes (datasets, model weights) 0600 and folder 0700 too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
from pathlib import Path
from typing import IO, Any

from tinyweb.errors import StoreError

MARKER = ".tinyweb"  # in each folder tinyweb made: the folder is tinyweb's to keep private
MARKER_TEXT = "This folder was made by tinyweb and holds captured pages: it is kept private (mode 0700).\n"
PRIVATE_UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600

log = logging.getLogger("tinyweb")


def restrict_umask() -> int:
    """From now on, every file this process creates is 0600 and every folder 0700; returns the old umask."""
    return os.umask(PRIVATE_UMASK)


def private_dir(path: str | os.PathLike[str], what: str = "folder") -> Path:
    """`path` as a private folder: made (with missing parents) as 0700 with tinyweb's marker; an existing one
    looser than 0700 tightened if it carries the marker, warned about if not. Raises StoreError if it cannot be
    made (`what` names the folder in its message)."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        if not folder.is_dir():
            raise StoreError(f"cannot use {what} {folder}: it is a file, not a folder") from None
        tighten(folder)
        return folder
    except OSError as exc:
        raise StoreError(f"cannot create {what} {folder}: {exc.strerror}") from exc
    folder.chmod(DIR_MODE)  # mkdir's mode is masked by the umask, which may be looser or stricter
    write_marker(folder)
    return folder


def tighten(folder: Path) -> None:
    mode = stat.S_IMODE(folder.stat().st_mode)
    if not mode & 0o077:
        return
    if (folder / MARKER).is_file() and not (folder / MARKER).is_symlink():
        folder.chmod(DIR_MODE)
        log.warning("%s was readable by other users (mode %o): made private (700) again", folder, mode)
        return
    log.warning(
        "%s is readable by other users (mode %o) and tinyweb did not make it, so it is left as it is; the "
        "files tinyweb writes in it are private (600), but their names show: `chmod 700 %s`, or use a new folder",
        folder,
        mode,
        folder,
    )


def write_marker(folder: Path) -> None:
    try:
        with open_private(folder / MARKER, "w") as file:
            file.write(MARKER_TEXT)
    except OSError as exc:
        raise StoreError(f"cannot write {folder / MARKER}: {exc.strerror}") from exc


def open_private(path: str | os.PathLike[str], mode: str = "w", encoding: str = "utf-8") -> IO[Any]:
    """`open(path, mode)` for writing a private file: made 0600 (an existing one is set to 0600 too), and never
    through a symbolic link, which could point anywhere."""
    if not any(c in mode for c in "wax"):
        raise ValueError(f"open_private writes files: mode {mode!r} has no w, a or x")
    flags = os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if "a" in mode else os.O_TRUNC if "w" in mode else os.O_EXCL)
    flags |= os.O_RDWR if "+" in mode else os.O_WRONLY
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        if os.path.islink(path):
            raise StoreError(f"{path} is a symbolic link: tinyweb does not write through one; remove it") from exc
        raise
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode, encoding=None if "b" in mode else encoding)
    except BaseException:
        os.close(fd)
        raise


def make_private(path: str | os.PathLike[str]) -> None:
    """Set an existing file of tinyweb's own (the database and its -wal and -shm) to 0600, if it is looser."""
    try:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077 and not os.path.islink(path):
        os.chmod(path, FILE_MODE)


def private_output(output: str) -> contextlib.AbstractContextManager[IO[Any]]:
    """Where a command writes what it exports: standard output for "-" (left open), else the file, private."""
    return contextlib.nullcontext(sys.stdout) if output == "-" else open_private(output)
