"""`tinyweb serve` as a real process on a free loopback port, for tests that must kill and restart it."""

from __future__ import annotations

import json
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tinyweb_server.config import TOKEN_FILE

START_TIMEOUT_S = 30  # a cold `python -m tinyweb serve` answers in about a second; a loaded CI box is slower
STOP_TIMEOUT_S = 10


def free_port() -> int:
    """A TCP port that nothing listens on now (the OS picks it; the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    """`python -m tinyweb serve --host 127.0.0.1 --port PORT --data DATA`, started, killed and restarted
    on the same port and data directory. Its output goes to `log` (shown when it fails to start)."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        log: Path | None = None,
        args: tuple[str, ...] = (),
        open_files: int | None = None,
    ):
        """`args`: more `tinyweb serve` flags; `open_files`: the process's open-file limit (`ulimit -n`)."""
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.log = log or self.data_dir.parent / f"{self.data_dir.name}-serve.log"
        self.args = args
        self.open_files = open_files
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token(self) -> str:
        return (self.data_dir / TOKEN_FILE).read_text(encoding="utf-8").strip()

    def start(self) -> None:
        """Start the server and return once /api/health answers."""
        command = [sys.executable, "-m", "tinyweb", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        limit = self.open_files

        def lower_limit() -> None:  # in the child, before it runs Python
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "--data", str(self.data_dir), *self.args],
                stdout=log,
                stderr=log,
                preexec_fn=lower_limit if limit is not None else None,
            )
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tinyweb serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            if self.healthy():
                return
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"tinyweb serve did not answer within {START_TIMEOUT_S} s:\n{self.log.read_text()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "api/health", timeout=2) as response:
                return json.load(response).get("status") == "ok"
        except (OSError, ValueError):
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a crash or an OOM kill."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, which aiohttp turns into a graceful shutdown; SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> ServeProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
