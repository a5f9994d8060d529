"""Server settings, their limits, and the pairing token kept in the data directory."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from tinyweb.errors import StoreError, UsageError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_BODY_BYTES = 20 * 1024 * 1024  # a captured page with inline styles is rarely over a few MB; 20 MiB is generous
EXTENSION_ORIGINS = ("chrome-extension://*", "moz-extension://*")  # only the browser extension may call us
TOKEN_FILE = "server-token"
TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 bits, 43 characters
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


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
    max_body_bytes: int = MAX_BODY_BYTES
    allowed_origins: tuple[str, ...] = EXTENSION_ORIGINS

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        if not self.allow_remote and not is_loopback(self.host):
            raise UsageError(
                f"refusing to listen on {self.host}: other machines could reach your snapshots; "
                "use 127.0.0.1, or pass --allow-remote if you really mean it"
            )
        if self.max_body_bytes < 1:
            raise UsageError(f"max_body_bytes must be positive, not {self.max_body_bytes}")


def load_or_create_token(data_dir: Path) -> str:
    """The pairing token in `data_dir/server-token`: made (mode 0600) on first start, reused after."""
    path = Path(data_dir) / TOKEN_FILE
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        if path.is_file():
            token = path.read_text(encoding="utf-8").strip()
            if token:
                if path.stat().st_mode & 0o077:
                    path.chmod(0o600)  # someone loosened it; the token is a password
                return token
            path.unlink()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(token + "\n")
        return token
    except OSError as exc:
        raise StoreError(f"cannot read or write the server token {path}: {exc.strerror}") from exc
