"""Attribute access over Alexa's JSON, as Flask-Ask offered it.

``request.intent.slots.first.value`` reads like the JSON it came from; a missing key reads as
``None`` instead of raising, because Alexa omits optional fields freely. Nested dicts are
converted in place on first access, so ``session.attributes["x"] = 1`` changes the real data.
"""

from __future__ import annotations

from typing import Any


class AlexaObject(dict):
    """A dict whose keys are also attributes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        self.pop(name, None)

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        wrapped = wrap(value)
        if wrapped is not value:
            super().__setitem__(key, wrapped)
        return wrapped

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default  # noqa: SIM401 — self.get would recurse


def wrap(value: Any) -> Any:
    """Return ``value`` with dicts made attribute-accessible (lists converted in place)."""
    if type(value) is dict:
        return AlexaObject(value)
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = wrap(item)
    return value
