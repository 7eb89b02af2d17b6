"""The dunning policy (config ``dunning:``): levels, grace, class shifts, intervals.

Collection practice: remind early, then escalate step by step -- friendly reminder, firm
demand, final notice announcing stop of supply, hand-over for legal action -- pressing
customers with poor credit (class C) sooner and good customers (class A) later. Each level
says how many days overdue an item must be to reach it, the minimum overdue amount per
currency worth a letter, the fee, the template, and the minimum interval since the
customer's previous letter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from arcli import money
from arcli.config import ConfigView
from arcli.dunning.interest import InterestPolicy, interest_policy
from arcli.naming import LETTER_FIELDS, pattern_problem


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    days: int  # days overdue (after grace) for an item to reach this level
    template: str
    interval_days: int = 14  # minimum days since the customer's previous letter
    min_amount: dict[str, Decimal] = field(default_factory=dict)  # per currency
    fee: dict[str, Decimal] = field(default_factory=dict)  # per currency
    stop_supply: bool = False

    def minimum(self, currency: str) -> Decimal:
        return self.min_amount.get(currency, self.min_amount.get("*", Decimal(0)))

    def fee_for(self, currency: str) -> Decimal:
        return money.quantize(self.fee.get(currency, self.fee.get("*", Decimal(0))), currency)


DEFAULT_LEVELS = (
    Level(1, "Friendly reminder", 1, "reminder", interval_days=0),
    Level(2, "Firm demand", 30, "demand"),
    Level(3, "Final notice", 60, "final", stop_supply=True),
    Level(4, "Legal hand-over", 90, "legal"),
)
DEFAULT_CLASS_SHIFTS = {"A": 14, "B": 0, "C": -7}


@dataclass(frozen=True)
class Policy:
    levels: tuple[Level, ...] = DEFAULT_LEVELS
    grace_days: int = 3
    allow_skip: bool = False
    class_shifts: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CLASS_SHIFTS))
    class_levels: dict[str, tuple[Level, ...]] = field(default_factory=dict)
    interest: InterestPolicy = field(default_factory=InterestPolicy)
    post_charges: bool = False
    pay_within_days: int = 10
    filename: str = "letter-{customer}-{currency}-L{level}-{date}.pdf"
    out: str = "letters"
    #: a customer's first letter: ``level-1`` starts at the first level whatever the
    #: debt's age (one step at a time, as every later letter); ``by-age`` at the level
    #: the oldest item's age calls for (a debt found late is not reminded of gently)
    first_letter: str = "level-1"

    def levels_for(self, credit_class: str | None) -> tuple[Level, ...]:
        """The level ladder for a credit class: a separate policy, or shifted thresholds."""
        cls = (credit_class or "B").upper()
        if cls in self.class_levels:
            return self.class_levels[cls]
        shift = self.class_shifts.get(cls, 0)
        if not shift:
            return self.levels
        return tuple(Level(lv.number, lv.name, max(1, lv.days + shift), lv.template,
                           lv.interval_days, lv.min_amount, lv.fee, lv.stop_supply)
                     for lv in self.levels)

    @property
    def max_level(self) -> int:
        return self.levels[-1].number


def _amounts(view: ConfigView, key: str) -> dict[str, Decimal]:
    """``{EUR: "5.00", CNY: "20"}`` or one amount for every currency (``"*"``)."""
    raw = view.raw(key)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return {"*": view.get_decimal(key)}
    section = view.section(key)
    found = {}
    for cur in section:
        code = cur if cur == "*" else _currency(section, cur)
        value = section.get_decimal(cur)
        if value is None or value < 0:
            raise section.error(cur, "must be a non-negative amount")
        found[code] = value
    return found


def _currency(view: ConfigView, code: str) -> str:
    try:
        return money.check_currency(code)
    except money.MoneyError as exc:
        raise view.error(code, str(exc)) from None


def _levels(view: ConfigView, key: str) -> tuple[Level, ...] | None:
    if key not in view:
        return None
    levels = []
    for index, lv in enumerate(view.sections(key), start=1):
        days = lv.get_int("days", None, minimum=1)
        if days is None:
            raise lv.error("days", "must be a positive integer (days overdue to reach it)")
        if levels and days <= levels[-1].days:
            raise lv.error("days", "must be larger than the previous level's days")
        levels.append(Level(
            number=index, name=lv.get_str("name", f"Level {index}") or f"Level {index}",
            days=days, template=lv.get_str("template", DEFAULT_LEVELS[min(index, 4) - 1].template)
            or "reminder",
            interval_days=lv.get_int("interval_days", 14, minimum=0),
            min_amount=_amounts(lv, "min_amount"), fee=_amounts(lv, "fee"),
            stop_supply=lv.get_bool("stop_supply", False),
        ))
    if not levels:
        raise view.error(key, "needs at least one level")
    return tuple(levels)


def dunning_policy(config: ConfigView) -> Policy:
    """Parse ``dunning:`` (every key optional; defaults as documented)."""
    view = config.section("dunning")
    levels = _levels(view, "levels") or DEFAULT_LEVELS
    classes = view.section("classes")
    shifts = dict(DEFAULT_CLASS_SHIFTS)
    class_levels = {}
    for cls in classes:
        section = classes.section(cls)
        if "levels" in section:
            class_levels[cls.upper()] = _levels(section, "levels")
        shifts[cls.upper()] = section.get_int("shift_days", 0) or 0
    return Policy(
        levels=levels, grace_days=view.get_int("grace_days", 3, minimum=0),
        allow_skip=view.get_bool("allow_skip", False), class_shifts=shifts,
        class_levels=class_levels, interest=interest_policy(view.section("interest")),
        post_charges=view.get_bool("post_charges", False),
        pay_within_days=view.get_int("pay_within_days", 10, minimum=0),
        filename=_filename(view),
        out=view.get_str("out", "letters") or "letters",
        first_letter=_first_letter(view),
    )


def _filename(view: ConfigView) -> str:
    """``dunning.filename``: a template of the letter fields only (see :mod:`arcli.naming`)."""
    pattern = view.get_str("filename", Policy.filename) or Policy.filename
    problem = pattern_problem(pattern, LETTER_FIELDS)
    if problem:
        raise view.error("filename", problem)
    return pattern


FIRST_LETTER = ("level-1", "by-age")


def _first_letter(view: ConfigView) -> str:
    value = view.get_str("first_letter", FIRST_LETTER[0]) or FIRST_LETTER[0]
    if value not in FIRST_LETTER:
        raise view.error("first_letter", f"must be one of {', '.join(FIRST_LETTER)}, "
                                         f"got {value!r}")
    return value


def item_level(levels: tuple[Level, ...], days_past_grace: int) -> int:
    """The highest level an item has reached (0 = not yet)."""
    reached = 0
    for level in levels:
        if days_past_grace >= level.days:
            reached = level.number
    return reached


def next_level(target: int, previous: int, allow_skip: bool, max_level: int,
               first_by_age: bool = False) -> int:
    """The level to send: never more than one step above the previous letter (a first
    letter, with ``first_by_age``, at the level its items' age reached)."""
    if allow_skip or (first_by_age and previous == 0):
        return target
    return min(target, previous + 1, max_level)


def level_reason(level: int, target: int, previous: tuple[int, str] | None,
                 policy: Policy, broken: bool) -> str:
    """Why a letter is at its level, in words for the run's reason column.

    ``target`` is the level the oldest item's age reached; ``previous`` the level and
    date of the customer's last letter in this currency, if any."""
    if broken:
        return f"promise broken: one level up, to {level}"
    if previous is None:
        if policy.first_letter == "by-age" or policy.allow_skip:
            return f"first letter: at level {level}, as its oldest item's age calls for"
        if target > level:
            return (f"first letter: starts at level {level} (the oldest item's age calls "
                    f"for level {target})")
        return f"first letter: starts at level {level}"
    last_level, last_date = previous
    if level > last_level and target > level and not policy.allow_skip:
        return (f"level {last_level} sent {last_date}: one level up, to {level} (the oldest "
                f"item's age calls for level {target})")
    if level > last_level:
        return f"level {last_level} sent {last_date}: the oldest item's age reaches {level}"
    return f"level {last_level} sent {last_date}: still at level {level}"
