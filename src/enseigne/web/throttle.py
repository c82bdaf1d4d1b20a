"""Login failures per (user name, client address), kept in memory.

After ``limit`` failures within ``window`` seconds, further attempts for that pair are
refused (HTTP 429) until the oldest failure leaves the window, whatever the password: a
guesser cannot learn that the sixth guess was right. Memory is bounded: stale pairs are
dropped whenever the table grows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

Key = tuple[str, str]


class LoginThrottle:
    def __init__(
        self,
        limit: int = 5,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[Key, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(user_name: str, address: str | None) -> Key:
        return (user_name.strip().casefold(), address or "")

    def retry_after(self, key: Key) -> int:
        """Seconds until ``key`` may try again; 0 when it may try now."""
        with self._lock:
            times = self._recent(key)
            if len(times) < self.limit:
                return 0
            return max(1, int(times[0] + self.window - self._clock()) + 1)

    def failed(self, key: Key) -> None:
        with self._lock:
            if len(self._failures) >= self._max_keys:
                self._prune()
            self._failures.setdefault(key, deque()).append(self._clock())

    def succeeded(self, key: Key) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: Key) -> deque[float]:
        times = self._failures.get(key, deque())
        horizon = self._clock() - self.window
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def _prune(self) -> None:
        for key in list(self._failures):
            if not self._recent(key):
                del self._failures[key]
