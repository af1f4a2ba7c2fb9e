"""State channels: how the writes of one superstep combine into a key's next value.

Each channel is a tiny value class; the values themselves live in a plain dict
(the frame), so a frame is easy to snapshot, encode and restore.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

from engine.errors import InvalidUpdateError


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()


class LastValue:
    """A plain key: holds the last value written; two writes in one step are a conflict."""

    def __init__(self, key: str) -> None:
        self.key = key

    def initial(self) -> Any:
        return MISSING

    def update(self, current: Any, values: Sequence[Any]) -> Any:
        if len(values) != 1:
            raise InvalidUpdateError(
                f"At key {self.key!r}: Can receive only one value per step. "
                "Use an Annotated key with a reducer to handle multiple values."
            )
        return values[0]

    def __repr__(self) -> str:
        return f"LastValue({self.key!r})"


class Reducer:
    """An ``Annotated[T, reducer]`` key: every write is folded in with ``reducer(current, write)``."""

    def __init__(self, key: str, reducer: Callable[[Any, Any], Any], empty: Callable[[], Any] | None) -> None:
        self.key = key
        self.reducer = reducer
        self.empty = empty

    def initial(self) -> Any:
        return MISSING if self.empty is None else self.empty()

    def update(self, current: Any, values: Sequence[Any]) -> Any:
        items = iter(values)
        if current is MISSING:
            current = next(items, MISSING)
        for value in items:
            try:
                current = self.reducer(current, value)
            except Exception as exc:
                raise InvalidUpdateError(
                    f"At key {self.key!r}: the reducer {getattr(self.reducer, '__name__', self.reducer)!r} "
                    f"failed on a write of type {type(value).__qualname__}: {exc!r}"
                ) from exc
        return current

    def __repr__(self) -> str:
        return f"Reducer({self.key!r}, {getattr(self.reducer, '__name__', self.reducer)})"


Channel = LastValue | Reducer
