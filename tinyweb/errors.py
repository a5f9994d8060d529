"""Errors tinyweb raises on purpose: each message says what failed and how to fix it."""


class TinywebError(Exception):
    """Base of every error the CLI reports as a clean message rather than a traceback."""

    exit_code = 1


class UsageError(TinywebError):
    exit_code = 2


class StoreError(TinywebError):
    """The data directory or its database cannot be used."""


class BrowserError(TinywebError):
    """Chromium could not be found or started."""


class CaptureError(TinywebError):
    """A page could not be captured; `reason` is a short machine-readable code."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
