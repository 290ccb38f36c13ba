"""The clock and the random source, injected wherever time or randomness is used."""

from __future__ import annotations

import base64
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]

_URLSAFE = string.ascii_letters + string.digits + "-_"


@dataclass
class Randomness:
    """Makes ids and secrets; tests may pass their own ``token_bytes``."""

    token_bytes: Callable[[int], bytes] = field(default=secrets.token_bytes)

    def urlsafe(self, length: int) -> str:
        raw = self.token_bytes(length)
        return "".join(_URLSAFE[b & 63] for b in raw)

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
