"""One small name -> object registry, behind every plug-in point (tasks, evaluators, dataset
layouts, trainers): timm's ``register_model`` idea, with torchvision's refusal of a duplicate."""

from __future__ import annotations

from typing import Generic, TypeVar

from lensbox.errors import LensboxError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str, plural: str | None = None) -> None:
        self.what = what
        self.plural = plural or what + "s"
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        """Register ``item``; an empty or duplicate name is a programming error."""
        if not name:
            raise ValueError(f"a {self.what} needs a name")
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            known = ", ".join(self.names()) or "none"
            raise LensboxError(
                f"unknown {self.what} {name!r}; known {self.plural}: {known}"
            ) from None

    def remove(self, name: str) -> None:
        """Forget ``name`` (plug-ins dropped at run time, and tests)."""
        self._items.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._items)

    def values(self) -> list[T]:
        return [self._items[name] for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._items
