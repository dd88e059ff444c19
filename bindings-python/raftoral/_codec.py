"""Codecs turn Python values into the opaque bytes the engine stores, and back."""

from __future__ import annotations

import json
from typing import Any, Protocol, runtime_checkable

__all__ = ["Codec", "JsonCodec", "BytesCodec"]


@runtime_checkable
class Codec(Protocol):
    """Encodes workflow inputs, results and checkpoint values.

    ``encode`` must be deterministic: an idempotent start compares inputs as bytes, and every
    member of an execution group must produce the same bytes for the same value. It raises
    ``TypeError`` (or ``ValueError``) for a value it cannot encode.
    """

    def encode(self, value: Any) -> bytes: ...

    def decode(self, data: bytes) -> Any: ...


class JsonCodec:
    """The default codec: compact JSON with sorted keys, UTF-8. Empty bytes decode to ``None``
    (an input given by a client that sent none)."""

    def encode(self, value: Any) -> bytes:
        # allow_nan=False: NaN/Infinity are not JSON, and other languages could not read them.
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
            "utf-8"
        )

    def decode(self, data: bytes) -> Any:
        if not data:
            return None
        return json.loads(data)


class BytesCodec:
    """Passes ``bytes`` through unchanged (``bytearray`` and ``memoryview`` are copied)."""

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"BytesCodec encodes bytes, not {type(value).__name__}")
        return bytes(value)

    def decode(self, data: bytes) -> Any:
        return data
