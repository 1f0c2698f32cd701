"""Local stores that record how they are asked (for tests of request patterns)."""

from __future__ import annotations

import threading
import time

from storage.local import LocalStorage


class AtOnceStore(LocalStorage):
    """A local folder that says it takes several requests at once (as S3 does), holds each
    read ``delay`` seconds and records the keys read and the most reads in flight at once."""

    put_concurrency = 4

    def __init__(self, root: str, delay: float = 0.05) -> None:
        super().__init__(root)
        self.delay = delay
        self.reads: list[str] = []
        self.most_at_once = 0
        self._busy = 0
        self._lock = threading.Lock()

    def get(self, key: str, limit: int | None = None) -> bytes:
        with self._lock:
            self.reads.append(key)
            self._busy += 1
            self.most_at_once = max(self.most_at_once, self._busy)
        try:
            time.sleep(self.delay)
            return super().get(key, limit)
        finally:
            with self._lock:
                self._busy -= 1
