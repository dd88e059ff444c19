"""The one calling idiom over the raw functions: pass an error out-parameter, raise on failure,
copy out and free every buffer the library hands over."""

from __future__ import annotations

import ctypes
from typing import Any, Callable

from . import _native
from ._errors import InvalidArgument, check


def invoke(fn: Callable[..., int], *args: Any) -> None:
    """Calls ``fn(*args, &err)``; raises the matching :class:`RaftoralError` on failure."""
    err = ctypes.c_void_p()
    check(fn(*args, ctypes.byref(err)), err)


def invoke_bytes(fn: Callable[..., int], *args: Any) -> bytes:
    """Calls ``fn(*args, &buf, &err)`` and returns a copy of the buffer, which it frees."""
    buf = _native.Buf()
    err = ctypes.c_void_p()
    check(fn(*args, ctypes.byref(buf), ctypes.byref(err)), err)
    return take_buf(buf)


def take_buf(buf: _native.Buf) -> bytes:
    """Copies the bytes of a library-owned buffer and frees it."""
    if not buf.data:
        return b""
    try:
        return ctypes.string_at(buf.data, buf.len)
    finally:
        _native.lib().raftoral_buf_free(ctypes.byref(buf))


def read_string(fn: Callable[..., int], handle: Any) -> str:
    """Reads a string through a ``(handle, char *buf, size_t capacity, size_t *len_out, err)``
    function, growing the buffer once when the first one is too small."""
    capacity = 128
    for _ in range(2):
        buf = ctypes.create_string_buffer(capacity)
        length = ctypes.c_size_t()
        err = ctypes.c_void_p()
        status = fn(handle, buf, capacity, ctypes.byref(length), ctypes.byref(err))
        if status == _native.ERR_BUFFER_TOO_SMALL:
            _free(err)  # the needed length is in `length`
            capacity = length.value + 1
            continue
        check(status, err)
        return buf.raw[: length.value].decode("utf-8")
    raise RuntimeError("raftoral: a string kept growing while it was read")


def _free(err: ctypes.c_void_p) -> None:
    if err.value:
        _native.lib().raftoral_error_free(err)
        err.value = None


def encode_str(value: object, what: str) -> bytes:
    """A ``str`` argument as NUL-terminated UTF-8; ``TypeError`` for anything else, ``InvalidArgument``
    for text UTF-8 cannot hold (a NUL, an unpaired surrogate)."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidArgument(f"{what} must not contain NUL characters")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError as e:
        # A lone surrogate: Python holds it, UTF-8 (and the node) cannot; the typed error, as for NUL.
        raise InvalidArgument(f"{what} is not valid Unicode text (an unpaired surrogate at index {e.start})") from None
