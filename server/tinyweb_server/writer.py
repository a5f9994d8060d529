"""Writes posted snapshots to the store, batching concurrent posts into one committed transaction."""

from __future__ import annotations

import asyncio
import contextlib

from tinyweb.snapshot import Snapshot
from tinyweb.store import Store

MAX_BATCH = 64  # snapshots per transaction: one fsync for many posts, yet a bounded wait for each


class SnapshotWriter:
    """`await writer.add(snapshot, body)` returns (id, created) once the snapshot is committed to SQLite."""

    def __init__(self, store: Store, max_batch: int = MAX_BATCH):
        self.store = store
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[Snapshot, bytes, asyncio.Future[tuple[str, bool]]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tinyweb-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():  # posts that arrived during shutdown are not acknowledged
            _, _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(ConnectionAbortedError("server shutting down"))

    async def add(self, snapshot: Snapshot, body: bytes) -> tuple[str, bool]:
        """Store `snapshot`, validated from the JSON `body` (which is what is kept: see Store.add_many)."""
        future: asyncio.Future[tuple[str, bool]] = asyncio.get_running_loop().create_future()
        await self._queue.put((snapshot, body, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                snapshots, bodies = [snap for snap, _, _ in batch], [body for _, body, _ in batch]
                results = await asyncio.to_thread(self.store.add_many, snapshots, bodies)
            except Exception as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, _, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
