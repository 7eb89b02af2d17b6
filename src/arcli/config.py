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
MAX_CONFIG_INT = 1_000_000


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
            mapping.duplicates = []  # (key, line, line of its first appearance)
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                if key in mapping.lines:
                    mapping.duplicates.append((key, line, mapping.lines[key]))
                    continue  # the first appearance keeps its line; both are reported
                mapping.lines[key] = line
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
        self, key: str, default: int | None = None, *, minimum: int | None = None,
        maximum: int = MAX_CONFIG_INT,
    ) -> int | None:
        """An integer; no count of days, rows or seconds in arcli needs more than
        ``maximum`` (a billion days would overflow date arithmetic far from here)."""
        value = self._data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, _int_message(minimum))
        if minimum is not None and value < minimum:
            raise self.error(key, _int_message(minimum))
        if abs(value) > maximum:
            raise self.error(key, f"must be at most {maximum}")
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
            number = Decimal(str(value).strip())
        except ArithmeticError:
            raise self.error(key, "must be a number") from None
        # NaN, infinities and 1E+999999 parse, then break arithmetic far from here
        if not number.is_finite() or not -18 <= number.adjusted() <= 18:
            raise self.error(key, "must be a number below 10^18")
        return number

    def get_currency_amounts(self, key: str, *, wildcard: bool = False) -> dict[str, Decimal]:
        """``{EUR: "5.00", CNY: "30"}`` under ``key``: ISO 4217 codes (upper-cased; ``*``
        for every other currency with ``wildcard``) to non-negative decimals, each problem
        located."""
        from arcli import money

        if self.raw(key) is None:
            return {}
        section = self.section(key)
        found = {}
        for cur in section:
            try:
                code = "*" if wildcard and cur == "*" else money.check_currency(cur)
            except money.MoneyError as exc:
                raise section.error(cur, str(exc)) from None
            value = section.get_decimal(cur)
            if value is None or value < 0:
                raise section.error(cur, "must be a non-negative amount")
            found[code] = value
        return found

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


def load_config(path: str | os.PathLike | None, *, strict: bool = True) -> Config:
    """Load a YAML config and check its keys (:func:`key_problems`): every problem is
    raised at once as a ConfigError (``strict``), else left to the caller (``arcli config
    check``). ``None`` gives an all-defaults config."""
    config = _parse_config(path)
    if strict:
        problems = key_problems(config)
        if problems:
            raise ConfigError("\n".join(problems))
    return config


def _parse_config(path: str | os.PathLike | None) -> Config:
    """The file parsed (YAML syntax checked), nothing else."""
    if path is None:
        return Config(None, "<defaults>")
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = Path(path).read_bytes()[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{source}: line {line}: not UTF-8 text (save the file as "
                          "UTF-8)") from None
    except FileNotFoundError:
        raise ConfigError(f"{source}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror}") from None
    import yaml

    try:
        data = yaml.load(text, Loader=_line_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        position = getattr(exc, "position", None)  # a ReaderError: a character, no mark
        line = (f": line {mark.line + 1}" if mark else
                f": line {text[:position].count(chr(10)) + 1}" if position is not None
                else "")
        problem = getattr(exc, "problem", None) or str(exc)
        character = getattr(exc, "character", None)
        if position is not None and isinstance(character, (int, str)):
            code = character if isinstance(character, int) else ord(character)
            problem = f"character U+{code:04X} is not allowed in YAML"
        raise ConfigError(f"{source}{line}: invalid YAML: {problem}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"{source}: line 1: must be a mapping of keys to values")
    return Config(data, source)


def find_config(explicit: str | None, start: str | os.PathLike | None = None) -> str | None:
    """Which config file to use, like git finds its repository: ``--config`` /
    ``ARCLI_CONFIG``; else ``arcli.yaml`` in the current folder or the nearest parent
    that has one; else ``$XDG_CONFIG_HOME/arcli/arcli.yaml`` (``~/.config/arcli/...``);
    else none (all defaults)."""
    if explicit:
        return explicit
    here = Path(start or os.getcwd())
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG_NAME
        if candidate.is_file():
            return DEFAULT_CONFIG_NAME if folder == here and start is None else str(candidate)
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    user = Path(xdg) / "arcli" / DEFAULT_CONFIG_NAME
    return str(user) if user.is_file() else None


# -- which keys exist ---------------------------------------------------------------------
#: The shipped config.example.yaml is the list of known keys (one source: a key documented
#: there is known). These are what the example cannot show: sections whose keys the user
#: names (mappings, classes, currencies, dates, salespeople), and keys it shows only in
#: comments.
_FREE_SECTIONS = frozenset({"mappings", "dunning.classes", "dunning.interest.reference_rates",
                            "dunning.interest.fixed_fee", "reconcile.tolerance",
                            "collections.targets", "fx.rates"})
_COMMENTED_KEYS = {"aging": ("expected_curve",),
                   "signing": ("password_env", "password_file", "field_name"),
                   "smtp": ("password_env", "password_file"),
                   "dunning.levels[]": ("min_amount", "fee")}
#: Whole sections the example shows commented out (``# fx:`` and the lines under it):
#: their keys are read from those comments, so a misspelt key inside them is caught too.
_COMMENTED_SECTIONS = ("provision", "fx")


@functools.cache
def _example() -> dict:
    """The shipped example config as plain data (parsed by libyaml where present: no
    line numbers are needed, and every command that has a config reads it), or {}."""
    import yaml

    from arcli.paths import shipped

    path = shipped("config.example.yaml")
    if not path.is_file():
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = path.read_text(encoding="utf-8")
    data = yaml.load(text, Loader=loader)
    if not isinstance(data, dict):
        return {}
    for name in _COMMENTED_SECTIONS:
        section = yaml.load(_uncommented(text, name), Loader=loader)
        if isinstance(section, dict):
            data.setdefault(name, section.get(name))
    return data


def _uncommented(text: str, name: str) -> str:
    """The commented-out top-level section ``# name:`` of the example, as YAML: its
    lines without the leading ``# `` and without their own trailing comments."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"# {name}:")), None)
    if start is None:
        return ""
    block = [lines[start][2:]]
    for line in lines[start + 1:]:
        if not line.startswith("#  "):
            break
        block.append(line[2:].split("  #")[0].rstrip())
    return "\n".join(block) + "\n"


def example_value(*keys: str) -> Any:
    """A value of the shipped example config (e.g. its sample company's name)."""
    value: Any = _example()
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


@functools.cache
def _known_tree() -> dict:
    """The example config's keys as nested dicts (lists of mappings: their items' keys
    merged under ``[]``)."""
    return _tree_of(_example(), "")


def _tree_of(value: Any, path: str) -> Any:
    if path in _FREE_SECTIONS:
        return None  # anything goes
    if isinstance(value, dict):
        tree = {str(k): _tree_of(v, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
        for extra in _COMMENTED_KEYS.get(path, ()):
            tree.setdefault(extra, {})
        return tree
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        merged: dict = {}
        for item in value:
            merged.update(_tree_of(item, f"{path}[]"))
        for extra in _COMMENTED_KEYS.get(f"{path}[]", ()):
            merged.setdefault(extra, {})
        return [merged]
    return {}  # a plain value: no keys below it


def key_problems(config: ConfigView) -> list[str]:
    """Duplicate keys anywhere, and keys the example config does not know (with the
    nearest known one), each as ``file: line N: key.path: message``."""
    problems: list[str] = []
    if not config._data:  # no file, or an empty one: no keys, and no need to read the example
        return problems
    known = _known_tree()
    _walk_keys(config._data, known or None, config.source, "", problems)  # {}: no example
    return problems


def _walk_keys(data: Any, known: Any, source: str, path: str, problems: list[str]) -> None:
    lines = getattr(data, "lines", {})
    for key, line, first in getattr(data, "duplicates", ()):
        problems.append(_located(source, line, _join(path, key),
                                 f"duplicate key (first given at line {first})"))
    if isinstance(data, list) and isinstance(known, list):
        for index, item in enumerate(data):
            _walk_keys(item, known[0], source, f"{path}[{index}]", problems)
        return
    if not isinstance(data, dict) or not isinstance(known, dict) or not known:
        return
    for key, value in data.items():
        name = str(key)
        if name not in known:
            problems.append(_located(source, lines.get(key), _join(path, name),
                                     "unknown key" + _did_you_mean(name, known)))
            continue
        _walk_keys(value, known[name], source, _join(path, name), problems)


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _did_you_mean(name: str, known: dict) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]}?)"
    return f"; known keys here: {', '.join(sorted(known))}"
