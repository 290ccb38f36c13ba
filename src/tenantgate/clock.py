"""The clock and the random source, injected wherever time or randomness is used."""

from __future__ import annotations

import base64
import os
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

_URLSAFE = string.ascii_letters + string.digits + "-_"
_TO_URLSAFE = bytes(ord(_URLSAFE[b & 63]) for b in range(256))


class UrandomPool:
    """``os.urandom`` read 4 KiB at a time and handed out in slices: the token endpoint needs
    22 random bytes per token, and a system call each time (which also gives up the GIL to
    the storage thread) cost more than the bytes. Still the kernel's CSPRNG; the buffer is
    dropped in a forked child so that no two processes hand out the same bytes."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._buffer = b""
        self._offset = 0

    def __call__(self, n: int) -> bytes:
        if n > self._size // 4:
            return os.urandom(n)
        with self._lock:
            start = self._offset
            if start + n > len(self._buffer):
                self._buffer, start = os.urandom(self._size), 0
            self._offset = start + n
            return self._buffer[start : start + n]


urandom_pool = UrandomPool()


@dataclass
class Randomness:
    """Makes ids and secrets; tests may pass their own ``token_bytes``."""

    token_bytes: Callable[[int], bytes] = field(default=urandom_pool)

    def urlsafe(self, length: int) -> str:
        return self.token_bytes(length).translate(_TO_URLSAFE).decode("ascii")

    def alnum(self, length: int) -> str:
        """Letters and digits only, so that the id never starts with '-' on a command line."""
        chars: list[str] = []
        while len(chars) < length:
            chars += [_URLSAFE[b & 63] for b in self.token_bytes(length) if (b & 63) < 62]
        return "".join(chars[:length])

    def digits(self, length: int) -> str:
        raw = self.token_bytes(length)
        first = str(1 + raw[0] % 9)
        return first + "".join(str(b % 10) for b in raw[1:])

    def secret(self, nbytes: int = 32) -> str:
        return base64.urlsafe_b64encode(self.token_bytes(nbytes)).rstrip(b"=").decode()


system_clock: Clock = time.time
