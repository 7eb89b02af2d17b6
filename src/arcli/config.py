"""Configuration: YAML with every key optional, validated with file-and-line messages.

The loader remembers the line of every key so that a bad value is reported as
``arcli.yaml: line 12: dunning.levels[1].days: must be a positive integer``. Each feature
parses its own section through a :class:`ConfigView`, which hands out typed values with
defaults and builds those messages; this keeps validation next to the code that uses the
values, instead of one giant schema that every feature has to edit.

Secrets never live in the file: keys ending in ``_env`` name an environment variable and
keys ending in ``_file`` name a file holding the secret (see :meth:`ConfigView.secret`).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from arcli.errors import ConfigError

DEFAULT_CONFIG_NAME = "arcli.yaml"


class _LineDict(dict):
    """A mapping that remembers the source line of each key."""

    lines: dict[Any, int]


class _LineList(list):
    """A sequence that remembers the source line of each item."""

    lines: list[int]


@functools.cache
def _line_loader():
    """A SafeLoader that records line numbers (1-based) on mappings and sequences.

    Built on first use: PyYAML takes ~10 ms to import, which commands run without a
    config file (most cron jobs pass everything as options) should not pay.
    """
    import yaml

    class LineLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):  # type: ignore[override]
            mapping = _LineDict(super().construct_mapping(node, deep=True))
            mapping.lines = {}
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=True)
                mapping.lines[key] = key_node.start_mark.line + 1
            return mapping

        def construct_sequence(self, node, deep=False):  # type: ignore[override]
            seq = _LineList(super().construct_sequence(node, deep=True))
            seq.lines = [item.start_mark.line + 1 for item in node.value]
            return seq

    tags = yaml.resolver.BaseResolver
    LineLoader.add_constructor(tags.DEFAULT_MAPPING_TAG, LineLoader.construct_mapping)
    LineLoader.add_constructor(tags.DEFAULT_SEQUENCE_TAG, LineLoader.construct_sequence)
    return LineLoader


class ConfigView:
    """A typed, located view of one mapping inside the configuration.

    ``path`` is the dotted key path shown in messages; ``line`` the line of the mapping
    itself, used when a required key is missing.
    """

    def __init__(self, data: Any, source: str, path: str = "", line: int | None = None):
        if data is None:
            data = _LineDict()
            data.lines = {}
        if not isinstance(data, dict):
            raise ConfigError(_located(source, line, path, "must be a mapping of keys to values"))
        self._data = data
        self.source = source
        self.path = path
        self.line = line

    # -- navigation -----------------------------------------------------------------
    def keys(self) -> list[str]:
        return [str(k) for k in self._data]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str, default: Any = None) -> Any:
        """The plain value under ``key`` (for free-form sections such as mappings)."""
        return self._data.get(key, default)

    def line_of(self, key: str) -> int | None:
        return getattr(self._data, "lines", {}).get(key, self.line)

    def key_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else str(key)

    def error(self, key: str, message: str) -> ConfigError:
        """A ConfigError located at ``key`` of this view."""
        return ConfigError(_located(self.source, self.line_of(key), self.key_path(key), message))

    def section(self, key: str) -> ConfigView:
        """The sub-mapping under ``key`` (empty when absent)."""
        return ConfigView(self._data.get(key), self.source, self.key_path(key), self.line_of(key))

    def sections(self, key: str) -> Iterator[ConfigView]:
        """Each mapping of the list under ``key`` as a view (``levels[0]``, ``levels[1]``...)."""
        value = self._data.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        lines = getattr(value, "lines", [self.line_of(key)] * len(value))
        for index, item in enumerate(value):
            yield ConfigView(item, self.source, f"{self.key_path(key)}[{index}]", lines[index])

    # -- typed getters --------------------------------------------------------------
    def get_str(self, key: str, default: str | None = None) -> str | None:
        value = self._data.get(key, default)
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            raise self.error(key, "must be a text value")
        return str(value)

    def get_bool(self, key: str, default: bool = False) -> bool:
        value = self._data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, "must be true or false")
        return value

    def get_int(
        self, key: str, default: int | None = None, *, minimum: int | None = None
    ) -> int | None:
        value = self._data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, _int_message(minimum))
        if minimum is not None and value < minimum:
            raise self.error(key, _int_message(minimum))
        return value

    def get_decimal(self, key: str, default: Decimal | None = None) -> Decimal | None:
        """A decimal written as a YAML string or integer (floats are refused: they are inexact)."""
        value = self._data.get(key, default)
        if value is None or isinstance(value, Decimal):
            return value
        if isinstance(value, float):
            raise self.error(key, f"write decimals in quotes to keep them exact, e.g. '{value}'")
        if isinstance(value, bool):
            raise self.error(key, "must be a number")
        try:
            return Decimal(str(value).strip())
        except ArithmeticError:
            raise self.error(key, "must be a number") from None

    def get_date(self, key: str, default: dt.date | None = None) -> dt.date | None:
        value = self._data.get(key, default)
        if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise self.error(key, "must be a date YYYY-MM-DD") from None

    def get_list(self, key: str, default: list | None = None) -> list:
        value = self._data.get(key, default if default is not None else [])
        if not isinstance(value, list):
            raise self.error(key, "must be a list")
        return list(value)

    def get_path(self, key: str, default: str | None = None) -> Path | None:
        """A file path; relative paths are taken relative to the config file's folder."""
        value = self.get_str(key, default)
        if value is None:
            return None
        path = Path(os.path.expanduser(value))
        if not path.is_absolute() and self.source not in ("", "<defaults>"):
            path = Path(self.source).resolve().parent / path
        return path

    def secret(self, key: str) -> str | None:
        """Read secret ``key`` from ``<key>_env`` (environment variable) or ``<key>_file``.

        A literal ``<key>`` in the file is refused so secrets never sit in config files.
        """
        if key in self._data:
            raise self.error(
                key, f"secrets are not read from the config: use {key}_env or {key}_file"
            )
        env_name = self.get_str(f"{key}_env")
        if env_name:
            if env_name not in os.environ:
                raise self.error(f"{key}_env", f"environment variable {env_name} is not set")
            return os.environ[env_name]
        file_path = self.get_path(f"{key}_file")
        if file_path:
            try:
                return file_path.read_text(encoding="utf-8").rstrip("\r\n")
            except OSError as exc:
                message = f"cannot read {file_path}: {exc.strerror}"
                raise self.error(f"{key}_file", message) from None
        return None


def _int_message(minimum: int | None) -> str:
    if minimum == 1:
        return "must be a positive integer"
    if minimum == 0:
        return "must be a non-negative integer"
    if minimum is not None:
        return f"must be an integer >= {minimum}"
    return "must be an integer"


def _located(source: str, line: int | None, path: str, message: str) -> str:
    where = source or "config"
    if line:
        where += f": line {line}"
    if path:
        where += f": {path}"
    return f"{where}: {message}"


class Config(ConfigView):
    """The whole configuration file (or the defaults when there is none)."""

    def __init__(self, data: Any, source: str):
        super().__init__(data, source, "", None)


def load_config(path: str | os.PathLike | None) -> Config:
    """Load and syntax-check a YAML config; ``None`` gives an all-defaults config."""
    if path is None:
        return Config(None, "<defaults>")
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    import yaml

    try:
        data = yaml.load(text, Loader=_line_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f": line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}{line}: invalid YAML: {problem}") from None
    return Config(data, source)


def find_config(explicit: str | None) -> str | None:
    """Which config file to use: ``--config``/``ARCLI_CONFIG``, else ``./arcli.yaml`` if present."""
    if explicit:
        return explicit
    if Path(DEFAULT_CONFIG_NAME).is_file():
        return DEFAULT_CONFIG_NAME
    return None
