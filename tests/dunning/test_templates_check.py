"""`arcli templates check`: every template renders, and problems are named."""

from __future__ import annotations

import json


def test_all_shipped_templates_render(arcli):
    result = arcli("templates", "check", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 21 and {r["status"] for r in rows} == {"ok"}
    assert {(r["template"], r["language"]) for r in rows if r["template"].startswith("email")} \
        == {(f"email/{k}", lang) for k in ("statement", "letter")
            for lang in ("en", "zh_CN", "zh_TW")}


def test_broken_email_templates_are_reported(arcli, tmp_path):
    """Email templates were not checked: a broken, subject-less or misspelt one showed
    only when ``arcli send`` mailed customers."""
    override = tmp_path / "tpl" / "email"
    override.mkdir(parents=True)
    (override / "letter.zh_CN.txt.j2").write_text("Subject: {{ company.name }}\n"
                                                  "{{ balances[0].amount|money(}}\n")
    (override / "statement.zh_CN.txt.j2").write_text("Subject: 对账单\n{{ customer.nmae }}\n")
    (override / "letter.en.txt.j2").write_text("Dear {{ customer.name }},\nplease pay.\n")
    config = tmp_path / "c.yaml"
    config.write_text(f"templates:\n  path: {tmp_path / 'tpl'}\n")
    arcli.config = config
    result = arcli("templates", "check", "--json")
    assert result.exit_code == 1
    rows = {(r["template"], r["language"]): r for r in json.loads(result.stdout)}
    syntax = rows[("email/letter", "zh_CN")]
    assert syntax["status"] == "error" and "letter.zh_CN.txt.j2: line 2" in syntax["message"]
    misspelt = rows[("email/statement", "zh_CN")]
    assert misspelt["status"] == "error" and "statement.zh_CN.txt.j2" in misspelt["message"]
    assert "nmae" in misspelt["message"]
    no_subject = rows[("email/letter", "en")]
    assert no_subject["status"] == "error" and "Subject" in no_subject["message"]
    assert rows[("email/statement", "en")]["status"] == "ok"


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


# Characters that exist only in simplified Chinese (each with its traditional form in
# the comment's order): a Taiwanese or Hong Kong reader spots them at once.
_SIMPLIFIED_ONLY = ("将为请问联额补偿总鉴发这们说钱张号单账户汇银开关门时间业务与应项结计际经过"
                    "还进运输认证书购销货场产厂东华区电话传约则规难继续给无双边纸线红绿蓝头样态"
                    "颜谢签盖财员价读写语识实处见现观视亲历记录节条执动万亿数库组织领导协议随币"
                    "种类标审确归档")


def test_traditional_chinese_templates_use_traditional_characters():
    from tests.conftest import ROOT

    found = {}
    for path in sorted((ROOT / "templates").rglob("*zh_TW*")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            text = line.split("{#")[0]  # comments may be in any script
            if hits := sorted({c for c in text if c in _SIMPLIFIED_ONLY}):
                found[f"{path.name}:{number}"] = "".join(hits)
    assert not found


def test_payment_sentences_read_well_without_bank_details():
    """With no bank details configured, letters and statements do not say "pay to: ,"
    or point to an account that is not there."""
    import dataclasses

    from arcli.render.letter import letter_context
    from arcli.render.samples import sample_letter, sample_statement
    from arcli.render.templating import render_template

    for language in ("en", "zh_CN", "zh_TW"):
        letter = sample_letter("reminder", language)
        for bank in ((), letter.company.bank_details):
            data = dataclasses.replace(
                letter, company=dataclasses.replace(letter.company, bank_details=bank))
            text = render_template(f"letters/reminder.{language}.xml.j2",
                                   letter_context(data), language)
            assert ("to: ," in text or "：，" in text) is False
            assert (bank[0] in text) if bank else True
        statement = sample_statement(language)
        for bank in ((), statement.company.bank_details):
            data = dataclasses.replace(
                statement, company=dataclasses.replace(statement.company, bank_details=bank))
            context = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
            text = render_template(f"statement/{language}.xml.j2",
                                   {**context, "document_number": "S1", "currency": "EUR"},
                                   language)
            points_below = any(words in text for words in ("account below", "下列账户",
                                                           "下列帳戶"))
            assert points_below == bool(bank)
