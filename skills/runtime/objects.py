"""Attribute access over Alexa's JSON, as Flask-Ask offered it.

``request.intent.slots.first.value`` reads like the JSON it came from; a missing key reads as
``None`` instead of raising, because Alexa omits optional fields freely. Request bodies are
parsed straight into these objects (``parse``), so reading a field costs a dict lookup; a plain
dict that skill code stores is converted in place the first time it is read as an attribute.
"""

from __future__ import annotations

import json
from typing import Any


class AlexaObject(dict):
    """A dict whose keys are also attributes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = self.get(name)
        if type(value) is dict:
            value = self[name] = AlexaObject(value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        self.pop(name, None)


def parse(body: bytes | str) -> Any:
    """JSON with every object an :class:`AlexaObject` (raises ValueError like json.loads)."""
    return json.loads(body, object_hook=AlexaObject)


def wrap(value: Any) -> Any:
    """``value`` (an envelope given as plain dicts, e.g. a Lambda event) as AlexaObjects."""
    if isinstance(value, AlexaObject):
        return value
    return parse(json.dumps(value))
