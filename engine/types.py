"""Response objects that behave like LiteLLM's ``ModelResponse``.

They are plain dicts underneath (cheap to build on the hot path, trivially JSON),
with attribute access on top, so both ``resp.choices[0].message.content`` and
``resp["choices"][0]["message"]["content"]`` work. ``model_dump()`` returns the
OpenAI wire shape; the tests validate it against the ``openai`` package's types.
Provider data that is not part of OpenAI's schema lives in ``_hidden_params``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class OpenAIObject(dict):
    """A dict whose keys are also attributes.

    Nested dicts are wrapped lazily, on first access, and the wrapped object is stored
    back: building a response stays a plain dict construction (the hot path), and
    ``resp.choices[0].message.content`` still works all the way down.
    """

    def __init__(
        self, data: dict[str, Any] | None = None, /, **kwargs: Any
    ) -> None:  # `data=` is a field name (embeddings, images)
        if data:
            dict.__init__(self, data, **kwargs)
        else:
            dict.__init__(self, **kwargs)
        self._hidden_params: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        wrapped = _wrap(value)
        if wrapped is not value:
            dict.__setitem__(self, key, wrapped)
        return wrapped

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            dict.__setitem__(self, name, value)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        # A membership test, not try/except KeyError: the proxy asks every stream chunk for a "usage" it
        # mostly lacks, and a raised KeyError costs several times the lookup.
        return self[key] if dict.__contains__(self, key) else default

    def model_dump(self, exclude_none: bool = False) -> dict[str, Any]:
        """The OpenAI wire shape as plain dicts and lists."""
        return _unwrap(self, exclude_none)

    def model_dump_json(self, exclude_none: bool = False) -> str:
        return json.dumps(self.model_dump(exclude_none), separators=(",", ":"))

    json = model_dump_json

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


def _wrap(value: Any) -> Any:
    if type(value) is dict:
        return OpenAIObject(value)
    if type(value) is list and value and type(value[0]) is dict:
        return [OpenAIObject(item) if type(item) is dict else item for item in value]
    return value


def _unwrap(value: Any, exclude_none: bool) -> Any:
    if isinstance(value, dict):
        return {k: _unwrap(v, exclude_none) for k, v in dict.items(value) if not (exclude_none and v is None)}
    if isinstance(value, list):
        return [_unwrap(item, exclude_none) for item in value]
    return value


class ModelResponse(OpenAIObject):
    """A ``chat.completion`` object."""


class ModelResponseStream(OpenAIObject):
    """A ``chat.completion.chunk`` object."""


class TextCompletionResponse(OpenAIObject):
    """A ``text_completion`` object."""


class EmbeddingResponse(OpenAIObject):
    """A ``list`` of ``embedding`` objects (OpenAI's ``CreateEmbeddingResponse``)."""


class ImageResponse(OpenAIObject):
    """OpenAI's ``ImagesResponse``: ``created`` and ``data[i].b64_json``."""


class SpeechResponse:
    """Audio bytes, with the two ways the OpenAI SDK exposes them."""

    def __init__(self, content: bytes, media_type: str, hidden_params: dict[str, Any] | None = None) -> None:
        self.content = content
        self.media_type = media_type
        self._hidden_params = hidden_params or {}

    def stream_to_file(self, path: str | Path) -> None:
        Path(path).write_bytes(self.content)

    def iter_bytes(self, chunk_size: int = 65536) -> Iterator[bytes]:
        for start in range(0, len(self.content), chunk_size):
            yield self.content[start : start + chunk_size]

    def read(self) -> bytes:
        return self.content


class FileContent(SpeechResponse):
    """A file's bytes (``file_content``), with the accessors of OpenAI's ``HttpxBinaryResponseContent``."""

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.content)

    def write_to_file(self, path: str | Path) -> None:
        self.stream_to_file(path)
