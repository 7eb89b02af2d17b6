"""The pack's words in English and Chinese (``--lang en|zh``)."""

from __future__ import annotations

from arcli.errors import UsageError

LANGS = ("en", "zh")

_TEXT = {
    "title": ("Receivables management pack", "应收账款管理月报"),
    "period": ("Period", "期间"),
    "as_of": ("as of", "截至"),
    "aging": ("Aging by bucket", "账龄分布"),
    "trend": ("Aging trend, last 12 month ends", "近12个月末账龄趋势"),
    "top": ("Top debtors", "主要欠款客户"),
    "collections": ("Collection rate per salesperson", "业务员回款率"),
    "dso": ("DSO trend (days)", "应收账款周转天数（DSO）趋势"),
    "provision": ("Bad-debt provision and movement", "坏账准备及变动"),
    "holds": ("Customers on hold", "暂停发货客户"),
    "currency": ("Currency", "币种"),
    "bucket": ("Bucket", "账龄段"),
    "amount": ("Amount", "金额"),
    "customer": ("Customer", "客户"),
    "name": ("Name", "名称"),
    "balance": ("Balance", "余额"),
    "overdue": ("Overdue", "逾期"),
    "unapplied": ("Unapplied", "未核销"),
    "total": ("Total", "合计"),
    "salesperson": ("Salesperson", "业务员"),
    "collectable": ("Collectable", "应收"),
    "collected": ("Collected", "已收"),
    "rate": ("Rate %", "回款率 %"),
    "target": ("Target", "目标"),
    "achievement": ("Achievement %", "完成率 %"),
    "provision_now": ("Provision", "本期坏账准备"),
    "provision_before": ("Previous month end", "上月末"),
    "change": ("Entry to book", "本期计提（转回）"),
    "reasons": ("Reasons", "原因"),
    "none": ("None.", "无。"),
    "month": ("Month", "月份"),
}


def words(lang: str) -> dict[str, str]:
    """All the pack's words in ``lang``."""
    if lang not in LANGS:
        raise UsageError(f"--lang must be one of {', '.join(LANGS)}, got {lang!r}")
    index = LANGS.index(lang)
    return {key: pair[index] for key, pair in _TEXT.items()}


def locale_of(lang: str) -> str:
    return "zh_CN" if lang == "zh" else "en"
