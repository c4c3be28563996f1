"""The Redis keys a check touched: the test harness's Redis client records them, the failure report dumps them.

The report plugin (``galaxylab.cli.report``) opens a recording around each test (:func:`begin`) and
reads it when the test fails (:func:`keys`); without the plugin nothing records (:func:`record` is a
no-op), so the harness behaves the same whoever runs it. One test runs at a time in a pytest process
(each xdist worker is a process), so one recording per process is the test's.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_KEYS = 50

# Commands without a key, or whose keys are not their first argument.
_NO_KEY = frozenset(
    {"PING", "INFO", "KEYS", "SCAN", "DBSIZE", "TIME", "SELECT", "HELLO", "AUTH", "CLIENT", "CONFIG", "COMMAND"}
    | {"FLUSHDB", "FLUSHALL", "MULTI", "EXEC", "DISCARD", "UNWATCH", "SCRIPT", "FUNCTION", "PUBLISH"}
)
_ALL_KEYS = frozenset({"DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH"})
_SUBCOMMAND_THEN_KEY = frozenset({"XINFO", "XGROUP", "OBJECT", "MEMORY"})
_STREAMS = frozenset({"XREAD", "XREADGROUP"})
_SCRIPTS = frozenset({"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})

_recording: dict[str, None] | None = None


def begin() -> None:
    """Start a new recording (the report plugin, before each test)."""
    global _recording
    _recording = {}


def end() -> None:
    global _recording
    _recording = None


def keys() -> list[str]:
    """The keys recorded since :func:`begin`, in the order first touched (at most ``MAX_KEYS``)."""
    return list(_recording or {})[:MAX_KEYS]


def record(args: Sequence[object]) -> None:
    """Note the keys of one Redis command (``("XADD", "stream", ...)``); nothing when not recording."""
    if _recording is None or not args:
        return
    for key in command_keys(args):
        _recording.setdefault(key, None)


def command_keys(args: Sequence[object]) -> list[str]:
    """The key arguments of a Redis command, by the command's shape (no server round trip)."""
    name = _text(args[0]).upper()
    rest = [_text(arg) for arg in args[1:]]
    if name in _NO_KEY or not rest:
        return []
    if name in _ALL_KEYS:
        return rest
    if name in _STREAMS:
        upper = [arg.upper() for arg in rest]
        if "STREAMS" not in upper:
            return []
        streams = rest[upper.index("STREAMS") + 1 :]
        return streams[: len(streams) // 2]
    if name in _SUBCOMMAND_THEN_KEY:
        return rest[1:2]
    if name in _SCRIPTS:
        count = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else 0
        return rest[2 : 2 + count]
    return rest[:1]


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
