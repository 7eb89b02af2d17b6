"""`arcli templates check`: every template renders, and problems are named."""

from __future__ import annotations

import json


def test_all_shipped_templates_render(arcli):
    result = arcli("templates", "check", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 15 and {r["status"] for r in rows} == {"ok"}


def test_missing_translation_and_broken_template_are_reported(arcli, tmp_path):
    override = tmp_path / "tpl" / "letters"
    override.mkdir(parents=True)
    (override / "courtesy.en.xml.j2").write_text("<story><p>{{ items[0].number }}</p></story>")
    (override / "reminder.zh_CN.xml.j2").write_text("<story>\n<p>{{ broken(</p></story>")
    config = tmp_path / "c.yaml"
    config.write_text(f"templates:\n  path: {tmp_path / 'tpl'}\ndunning:\n  levels:\n"
                      "    - {name: Reminder, days: 1, template: reminder}\n"
                      "    - {name: Courtesy call, days: 20, template: courtesy}\n")
    arcli.config = config
    result = arcli("templates", "check", "--json")
    assert result.exit_code == 1
    rows = {(r["template"], r["language"]): r for r in json.loads(result.stdout)}
    assert rows[("letters/courtesy", "en")]["status"] == "ok"
    assert rows[("letters/courtesy", "zh_CN")]["status"] == "missing"
    broken = rows[("letters/reminder", "zh_CN")]
    assert broken["status"] == "error" and "reminder.zh_CN.xml.j2: line 2" in broken["message"]


def test_money_and_date_as_filters_and_as_functions_agree(tmp_path):
    """Shipped templates use ``x|money(cur)`` and ``d|date``; templates written for the
    function forms ``money(x, cur)`` and ``date(d)`` keep working, with the same text."""
    import datetime as dt
    from decimal import Decimal

    from arcli.render.templating import render_template

    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "a.j2").write_text("{{ x|money }} {{ x|money('JPY') }} {{ d|date }}")
    (folder / "b.j2").write_text("{{ money(x) }} {{ money(x, 'JPY') }} {{ date(d) }}")
    context = {"x": Decimal("1234.5"), "d": dt.date(2026, 10, 31), "currency": "EUR"}
    for locale, expected in (("en", "1,234.50 1,235 Oct 31, 2026"),  # yen: no minor unit
                             ("zh_CN", "1,234.50 1,235 2026年10月31日")):
        texts = {render_template(name, context, locale, folder) for name in ("a.j2", "b.j2")}
        assert texts == {expected}
