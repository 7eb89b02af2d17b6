"""Jinja2 templates that word statements, letters and emails.

Templates render a small XML "story" (see :mod:`arcli.render.story`); autoescaping is on
for every template, so customer data such as ``<b>X</b> & Co`` prints literally and can
never inject markup, links or images. Only the template's own tags are markup. An override
folder from the config is searched before the shipped templates, so users reword without
touching the installation. Errors name the template file and line.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from jinja2 import pass_context

from arcli import money
from arcli.errors import ArcliError
from arcli.paths import shipped

SHIPPED_TEMPLATES = shipped("templates")
LANGUAGES = ("en", "zh_CN", "zh_TW")
_ALIASES = {"zh": "zh_CN", "zh-cn": "zh_CN", "zh_cn": "zh_CN", "zh-hans": "zh_CN",
            "zh_hans": "zh_CN", "zh-sg": "zh_CN", "zh-tw": "zh_TW", "zh_tw": "zh_TW",
            "zh-hant": "zh_TW", "zh_hant": "zh_TW", "zh-hk": "zh_TW", "zh_hk": "zh_TW",
            "zh-mo": "zh_TW", "en-gb": "en", "en-us": "en", "en_gb": "en", "en_us": "en"}


class TemplateError(ArcliError):
    """A template failed to load or render; the message names file and line."""


def normalize_language(code: str | None, default: str = "en") -> str:
    """Map ``zh``, ``zh-Hant``, ``zh_HK``... onto the languages templates exist for."""
    if not code:
        return default
    value = code.strip()
    if value in LANGUAGES:
        return value
    lowered = value.lower()
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    base = lowered.split("-")[0].split("_")[0]
    return "zh_CN" if base == "zh" else ("en" if base == "en" else default)


def _money(value: Decimal | None, currency: str, locale: str) -> str:
    if value is None:
        return ""
    return money.format_money(value, currency, locale)


def _date(value: dt.date | None, locale: str) -> str:
    if value is None:
        return ""
    return _format_date(value, locale)


@lru_cache(maxsize=8192)
def _format_date(value: dt.date, locale: str) -> str:
    """Cached: a batch prints the same few hundred dates thousands of times, and Babel's
    ``format_date`` (~30 us a call) was half the template rendering time."""
    if locale.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    from babel.dates import format_date

    return format_date(value, format="medium", locale=locale)


@lru_cache(maxsize=8)
def environment(override: Path | None = None):
    """A Jinja2 environment over the override folder and the shipped templates."""
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

    folders = [str(p) for p in (override, SHIPPED_TEMPLATES) if p is not None]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(folders)]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=_money_filter, date=_date_filter, described=_described)
    return env


# Templates format with filters (``x|money(cur)``, ``d|date``) or the same-named functions
# (``money(x, cur)``, ``date(d)``). Both read the document's locale (and default currency)
# from the rendering context. Jinja calls a filter directly, but routes every function
# call through ``Context.call`` (~1 us): a statement formats ~190 values.
_LOCALE, _CURRENCY = "_arcli_locale", "_arcli_currency"


@pass_context
def _money_filter(context, value: Decimal | None, currency: str | None = None) -> str:
    return _money(value, currency or context[_CURRENCY], context[_LOCALE])


def _described(line) -> str:
    """A document's reference and its description, each on a line of its own in one
    cell (the one once when they are the same): the column holds both, so neither the
    customer's order number nor what the credit note was for goes missing."""
    reference, description = getattr(line, "reference", None), getattr(line, "description", None)
    return "\n".join(dict.fromkeys(v.strip() for v in (reference, description) if v and v.strip()))


@pass_context
def _date_filter(context, value: dt.date | None) -> str:
    return _date(value, context[_LOCALE])


def render_template(name: str, context: dict, locale: str, override: Path | None = None) -> str:
    """Render ``name`` with money/date filters and functions for ``locale``;
    TemplateError on failure."""
    from jinja2 import TemplateError as JinjaError
    from jinja2 import TemplateNotFound, TemplateSyntaxError

    env = environment(override)
    currency = context.get("currency", "EUR")
    functions = {
        "money": lambda v, cur=None: _money(v, cur or currency, locale),
        "date": lambda v: _date(v, locale),
        _LOCALE: locale, _CURRENCY: currency,
    }
    try:
        template = env.get_template(name)
        return template.render(**context, **functions)
    except TemplateNotFound:
        raise TemplateError(f"template {name} not found (looked in "
                            f"{override or ''} {SHIPPED_TEMPLATES})") from None
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or name}: line {exc.lineno}: {exc.message}") \
            from None
    except JinjaError as exc:
        raise TemplateError(f"{_where(exc, name)}: {exc}") from None


def _where(exc: BaseException, name: str) -> str:
    """File and line of the template frame in a rendering traceback."""
    tb = exc.__traceback__
    location = name
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".j2", ".jinja", ".xml", ".txt")):
            location = f"{filename}: line {tb.tb_lineno}"
        tb = tb.tb_next
    return location


@lru_cache(maxsize=8)
def text_environment(override: Path | None = None):
    """Environment for plain-text templates (email): no HTML escaping, strict variables."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    folders = [str(p) for p in (override, SHIPPED_TEMPLATES) if p is not None]
    env = Environment(loader=FileSystemLoader(folders), autoescape=False,
                      undefined=StrictUndefined, keep_trailing_newline=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=_money_filter, date=_date_filter)
    return env


def render_text(name: str, context: dict, override: Path | None = None,
                locale: str = "en") -> str:
    """Render a plain-text template, with the ``money`` and ``date`` filters for
    ``locale``; TemplateError names file and line."""
    from jinja2 import TemplateError as JinjaError
    from jinja2 import TemplateNotFound, TemplateSyntaxError

    values = {_LOCALE: locale, _CURRENCY: context.get("currency", "EUR")}
    try:
        return text_environment(override).get_template(name).render(**context, **values)
    except TemplateNotFound:
        raise TemplateError(f"template {name} not found") from None
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or name}: line {exc.lineno}: {exc.message}") \
            from None
    except JinjaError as exc:
        raise TemplateError(f"{_where(exc, name)}: {exc}") from None
