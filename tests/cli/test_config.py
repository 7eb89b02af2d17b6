"""The config file: where it is found, what is refused (with file, line and key), the
`config check` command, and that no value makes the loader fail with an internal error."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcli.cli.config import config_problems
from arcli.config import _known_tree, find_config, load_config
from arcli.errors import ConfigError
from tests.conftest import ROOT

EXAMPLE = ROOT / "config.example.yaml"


def _leaf_paths(tree, prefix=()) -> list[tuple]:
    """Every key path the example config knows (list items as index 0)."""
    if isinstance(tree, list):
        return _leaf_paths(tree[0], (*prefix, 0))
    if not isinstance(tree, dict) or not tree:
        return [prefix]
    paths = [prefix] if prefix else []
    for key, sub in tree.items():
        paths += _leaf_paths(sub, (*prefix, key))
    return paths


KNOWN_PATHS = sorted({p for p in _leaf_paths(_known_tree()) if p}, key=str)

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["1e999999", "NaN", "-Infinity", "auto", "0", "-1", "2026-02-30",
                     "{customer}", "../x", "act/365", "eu", "tls", "none", "A", "EUR",
                     "1000000000", "99999999999999999999", "%Y/%m/%d"]),
    st.dates(min_value=dt.date(1, 1, 1)),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["EUR", "CNY", "2026-11", "A", "x", "days", "name"]),
                    inner, max_size=3)), max_leaves=6)


def _nested(path: tuple, value) -> dict:
    for key in reversed(path):
        value = [value] if key == 0 else {key: value}
    return value


def _merge(into: dict, other: dict) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(KNOWN_PATHS), _values), min_size=1, max_size=4))
def test_random_values_for_known_keys_give_clean_errors_only(tmp_path, entries):
    data: dict = {}
    for path, value in entries:
        _merge(data, _nested(path, value))
    path = tmp_path / "arcli.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        config = load_config(path, strict=False)
        problems = config_problems(config)
    except ConfigError as exc:
        problems = [exc.message]
    for problem in problems:
        assert problem.startswith(str(path)), problem


def test_huge_bucket_bound_is_a_located_error(tmp_path):
    path = tmp_path / "arcli.yaml"
    path.write_text("aging:\n  buckets: [1000000000]\n")
    problems = config_problems(load_config(path))
    assert problems == [f"{path}: line 2: aging.buckets: must be increasing day counts "
                        "from 1 to 36500, e.g. 30,60,90"]


def test_example_config_has_no_problems_but_warns_of_its_company(arcli):
    target = arcli.cwd / "arcli.yaml"
    target.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    result = arcli("--config", str(target), "config", "check")
    assert result.exit_code == 0, result.output
    assert "still the example company" in result.stderr


def test_unknown_duplicate_and_wrong_keys_are_listed_with_line(arcli):
    target = arcli.cwd / "mine.yaml"
    target.write_text("company:\n  name: Mine Ltd\ndefaults:\n  terms_days: 30\n"
                      "  terms_days: 45\ndunning:\n  grace_dayz: 3\n"
                      "credit:\n  lookback_days: -5\n")
    result = arcli("--config", str(target), "config", "check")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert f"{target}: line 5: defaults.terms_days: duplicate key (first given at line 4)" \
        in lines
    assert f"{target}: line 7: dunning.grace_dayz: unknown key (did you mean grace_days?)" \
        in lines
    assert any(line.startswith(f"{target}: line 9: credit.lookback_days: ") for line in lines)
    assert "example company" not in result.stderr
    # every other command refuses the unknown and duplicate keys too (usage error)
    aging = arcli("--config", str(target), "aging", "--csv")
    assert aging.exit_code == 2
    assert "grace_dayz: unknown key" in aging.stderr


def test_keys_of_sections_the_example_shows_commented_out_are_checked(arcli):
    """``fx:`` and ``provision:`` are documented as comments in the example: a misspelt
    key inside them (``bsae``) ran on, and failed later as an empty currency."""
    target = arcli.cwd / "mine.yaml"
    target.write_text("fx:\n  bsae: EUR\n  rates:\n    USD: [{from: 2026-01-01, rate: '0.9'}]\n"
                      "provision:\n  metod: roll-rate\n  months: 6\n")
    result = arcli("--config", str(target), "aging", "--csv")
    assert result.exit_code == 2
    assert f"{target}: line 2: fx.bsae: unknown key (did you mean base?)" in result.stderr
    assert f"{target}: line 6: provision.metod: unknown key (did you mean method?)" \
        in result.stderr
    assert "months" not in result.stderr and "rates" not in result.stderr


def test_config_is_found_in_the_nearest_parent_then_the_user_folder(tmp_path, monkeypatch):
    project = tmp_path / "books" / "2026"
    (project / "q4" / "work").mkdir(parents=True)
    (tmp_path / "books" / "arcli.yaml").write_text("{}\n")
    (project / "arcli.yaml").write_text("{}\n")
    user = tmp_path / "xdg"
    (user / "arcli").mkdir(parents=True)
    (user / "arcli" / "arcli.yaml").write_text("{}\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user))
    assert find_config(None, project / "q4" / "work") == str(project / "arcli.yaml")
    assert find_config("given.yaml", project) == "given.yaml"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert find_config(None, outside) == str(user / "arcli" / "arcli.yaml")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))
    assert find_config(None, outside) is None


def test_a_parent_folders_config_finds_its_own_book(example_book):
    """`database: arcli.db` in a parent's arcli.yaml is that folder's book, not ./arcli.db."""
    if not example_book.is_sqlite:
        pytest.skip("a SQLite path")
    book = Path(example_book.db)
    (book.parent / "arcli.yaml").write_text(f"database: {book.name}\n")
    below = book.parent / "sub" / "dir"
    below.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("ARCLI_DB", "ARCLI_CONFIG")}
    done = subprocess.run([sys.executable, "-m", "arcli", "aging", "--customer", "C001",
                           "--csv"], cwd=below, env={**env, "ARCLI_TODAY": "2026-11-22"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "141450.50" in done.stdout
    assert not (below / "arcli.db").exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"company:\n  name: \xff\xfe\n", "line 2: not UTF-8 text"),
    (b"aging:\n  ba\x01sis: due\n", "line 2: invalid YAML: character U+0001"),
    (b"- a\n- b\n", "line 1: must be a mapping of keys to values"),
    (b"aging:\n\tbasis: due\n", "line 2: invalid YAML"),
])
def test_a_file_that_is_not_a_yaml_mapping_is_a_located_error(arcli, content, message):
    target = arcli.cwd / "odd.yaml"
    target.write_bytes(content)
    checked = arcli("--config", str(target), "config", "check")
    assert checked.exit_code == 1
    assert checked.stderr.startswith(f"{target}: {message}")
    used = arcli("--config", str(target), "aging")
    assert used.exit_code == 2
    assert used.stderr.startswith(f"arcli: error: {target}: {message}")


def test_config_check_lists_every_problem_even_with_a_broken_company(arcli):
    target = arcli.cwd / "m.yaml"
    target.write_text("aging:\n  buckets: [30, 30]\ncompany: [1, 2]\nrender:\n  jobs: 2.5\n")
    checked = arcli("--config", str(target), "config", "check")
    assert checked.exit_code == 1
    assert [line.split(": ")[1] for line in checked.stderr.splitlines()] == \
        ["line 2", "line 3", "line 5"]


def test_init_writes_the_config_where_arcli_config_names_it(tmp_path):
    """A scheduled job names its config (ARCLI_CONFIG) before it exists: `arcli init`
    wrote nothing there, and every later command stopped with "config file not found"."""
    named = tmp_path / "etc" / "arcli.yaml"
    named.parent.mkdir()
    env = {**os.environ, "ARCLI_DB": str(tmp_path / "book.db"), "ARCLI_CONFIG": str(named),
           "ARCLI_TODAY": "2026-11-22"}
    env.pop("ARCLI_DEBUG", None)
    arcli = [sys.executable, "-m", "arcli"]
    init = subprocess.run([*arcli, "init"], env=env, cwd=tmp_path, capture_output=True,
                          text=True)
    assert init.returncode == 0, init.stderr
    assert named.is_file() and not (tmp_path / "arcli.yaml").exists()
    aging = subprocess.run([*arcli, "aging", "-q", "--csv"], env=env, cwd=tmp_path,
                           capture_output=True, text=True)
    assert (aging.returncode, aging.stderr) == (0, "")
    again = subprocess.run([*arcli, "init"], env=env, cwd=tmp_path, capture_output=True,
                           text=True)
    assert again.returncode == 0 and "wrote" not in again.stderr  # kept as it is
