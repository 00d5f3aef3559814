"""A minimal immutable value object, instead of ``@dataclass(frozen=True)``,
whose ``inspect`` import would cost about 20 ms at start-up: the value objects
on the signing path only need immutability, equality, hashing and a repr.
"""

from __future__ import annotations

# typing only for the type checker: importing it costs milliseconds at start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar


class Frozen:
    """Slotted, immutable; equal and hashed by the fields named in ``_compare``."""

    __slots__ = ()
    _compare: ClassVar[tuple[str, ...]] = ()

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace(...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._compare)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._compare)
        return f"{type(self).__name__}({inner})"

    def __copy__(self) -> Frozen:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Frozen:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        names: tuple[str, ...] = self.__slots__
        return (_rebuild, (type(self), {n: getattr(self, n) for n in names}))


def _rebuild(cls: type[Frozen], values: dict[str, Any]) -> Frozen:
    obj = cls.__new__(cls)
    obj._set(**values)
    return obj
