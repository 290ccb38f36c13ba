"""What every resolver gets: the verified tenant and the app's store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

StoreT = TypeVar("StoreT")


@dataclass(frozen=True)
class RequestContext(Generic[StoreT]):
    tenant_id: str
    claims: Mapping[str, Any]
    store: StoreT
