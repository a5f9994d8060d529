"""Server settings, their limits, and the pairing token kept in the data directory."""

from __future__ import annotations

import errno
import ipaddress
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from tinyweb.errors import StoreError, UsageError
from tinyweb.private import private_dir

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY_BYTES = 20 * 1024 * 1024  # a captured page with inline styles is rarely over a few MB; 20 MiB is generous
EXTENSION_ORIGINS = ("chrome-extension://*", "moz-extension://*")  # only the browser extension may call us
TOKEN_FILE = "server-token"
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 bits, 43 characters
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
NOT_IN_HOST = frozenset("/\\@?# \t")  # a Host header is host[:port]: nothing that makes it a path or a login
DEFAULT_MAX_CONNECTIONS = 1024  # far more than one browser and a few scripts open; each costs a file descriptor
MIN_CONNECTIONS = 8  # below this the extension's retries and the dashboard would starve one another
# Seconds an idle connection (or one still sending its request line and headers) is kept: aiohttp's keep-alive
# timer starts when a connection opens and closes it unless a whole request has arrived, so it is the header
# timeout too. The extension sends its queue in one burst: 15 s between requests is plenty.
KEEPALIVE_TIMEOUT_S = 15.0
BODY_TIMEOUT_S = 60.0  # a 20 MiB body over loopback takes well under a second; a slower one holds a slot this long
LINGER_S = 2.0  # after an early answer (413, 408), how long the unread rest of a body is drained before closing
# Studio jobs running or waiting at once: one worker writes one page at a time (a page takes tens of seconds on
# a CPU), so a longer queue is mostly waiting; past it a job gets a 429.
DEFAULT_STUDIO_QUEUE = 4


def parse_hosts(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """`--allowed-host` values as bare lower-case host names (a port or a trailing dot is dropped)."""
    hosts = []
    for value in values:
        host = host_name(value)
        if not host:
            raise ValueError(f"{value!r} is not a host name: give it as name.example or 192.168.1.10")
        hosts.append(host)
    return tuple(hosts)


def host_name(value: str) -> str | None:
    """The host of a Host header (or an --allowed-host value) in lower case, without port or brackets."""
    value = value.strip()
    if not value or any(c in NOT_IN_HOST for c in value):
        return None
    try:
        host = urlsplit("//" + value).hostname
    except ValueError:  # an unclosed [ipv6
        return None
    return host.rstrip(".") if host else None


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost, the only addresses other machines cannot reach."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServerConfig:
    """How `init_app` builds the server. A non-loopback host needs `allow_remote=True`."""

    data_dir: Path
    host: str = field(default=DEFAULT_HOST, metadata={"help": "Address to listen on (loopback only by default)."})
    port: int = field(default=DEFAULT_PORT, metadata={"help": "Port to listen on."})
    allow_remote: bool = field(
        default=False, metadata={"help": "Allow a non-loopback --host: other machines could reach it."}
    )
    allowed_hosts: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "With --allow-remote: a name other machines reach this server by (the Host header they "
            "send); give it once per name. Loopback names and the listening address are always answered.",
            "flag": "--allowed-host",
            "multiple": parse_hosts,
        },
    )
    max_connections: int | None = field(
        default=None,
        metadata={
            "help": f"Most connections open at once (default: the open-file limit less a reserve, at most "
            f"{DEFAULT_MAX_CONNECTIONS}); idle ones are closed first, and past it requests get a 503."
        },
    )
    runs_dir: Path | None = field(
        default=None,
        metadata={
            "help": "A folder of training runs (`tinyweb train --output DIR/NAME`) the studio may generate with, "
            "besides the run shipped with tinyweb; each is chosen by its folder's name.",
            "flag": "--runs",
            "dir": True,
        },
    )
    studio_queue: int = field(
        default=DEFAULT_STUDIO_QUEUE,
        metadata={"help": "Most studio jobs running or waiting at once; past it a new one gets a 429."},
    )
    max_body_bytes: int = MAX_BODY_BYTES
    keepalive_timeout_s: float = KEEPALIVE_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S
    allowed_origins: tuple[str, ...] = EXTENSION_ORIGINS

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if self.runs_dir is not None:
            object.__setattr__(self, "runs_dir", Path(self.runs_dir))
        if self.studio_queue < 1:
            raise UsageError(f"--studio-queue must be at least 1, not {self.studio_queue}")
        if not self.allow_remote and not is_loopback(self.host):
            raise UsageError(
                f"refusing to listen on {self.host}: other machines could reach your snapshots; "
                "use 127.0.0.1, or pass --allow-remote if you really mean it"
            )
        if self.max_body_bytes < 1:
            raise UsageError(f"max_body_bytes must be positive, not {self.max_body_bytes}")
        try:
            object.__setattr__(self, "allowed_hosts", parse_hosts(self.allowed_hosts))
        except ValueError as exc:
            raise UsageError(f"--allowed-host: {exc}") from None
        if self.allowed_hosts and not self.allow_remote:
            raise UsageError(
                "--allowed-host names a host other machines use: it needs --allow-remote (loopback names are "
                "always answered)"
            )
        if self.max_connections is not None and self.max_connections < MIN_CONNECTIONS:
            raise UsageError(f"--max-connections must be at least {MIN_CONNECTIONS}, not {self.max_connections}")

    def answers_host(self, header: str | None) -> bool:
        """Whether a request with this Host header is for us: a loopback name or address, the address we
        listen on, or an --allowed-host. Anything else is a name that was pointed at us (DNS rebinding)."""
        host = host_name(header) if header else None
        if host is None:
            return False
        bound = host_name(self.host)
        return is_loopback(host) or host == bound or host in self.allowed_hosts


def load_or_create_token(data_dir: Path) -> str:
    """The pairing token in `data_dir/server-token`: made (mode 0600) on first start, reused after. The data
    folder is made private (tinyweb.private). A token file that is a symbolic link is refused, never followed:
    it could point at a file another user controls."""
    folder = private_dir(data_dir, "data directory")
    path = folder / TOKEN_FILE
    try:
        token = read_token(path)
        if token:
            return token
        token = secrets.token_urlsafe(TOKEN_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(token + "\n")
        return token
    except OSError as exc:
        raise StoreError(f"cannot read or write the server token {path}: {exc.strerror}") from exc


def read_token(path: Path) -> str | None:
    """The token kept in `path` (set to 0600 if someone loosened it), or None if there is none (an empty file
    is removed, to be made again)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(
                f"the server token {path} is a symbolic link: tinyweb does not follow it (another user could "
                "control where it points); remove the link and start again to make a new token"
            ) from None
        raise
    with os.fdopen(fd, encoding="utf-8") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StoreError(f"the server token {path} is not a plain file: remove it to make a new token")
        if info.st_mode & 0o077:
            os.fchmod(fd, 0o600)  # someone loosened it; the token is a password
        token = file.read().strip()
    if not token:
        path.unlink()
    return token or None
