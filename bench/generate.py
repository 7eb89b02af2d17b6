"""Seeded synthetic books for benchmarks: customers plus a ledger of N documents.

Mix as in the issue: 70% invoices, 25% payments, 5% credit notes, one currency (EUR by
default), spread over two years. Payments mostly reference an earlier invoice of the same
customer, like real remittances; some are partial, some unreferenced.

    python bench/generate.py --documents 1000000 --customers 10000 --out bench/data/1m
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path

START = dt.date(2024, 11, 1)
DAYS = 730


def generate(out: Path, documents: int, customers: int, seed: int = 42,
             currency: str = "EUR") -> tuple[Path, Path]:
    """Write customers.csv and ledger.csv into ``out``; returns their paths."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    cust_path, ledger_path = out / "customers.csv", out / "ledger.csv"
    with cust_path.open("w", encoding="utf-8") as f:
        f.write("id,name,email,language,currency,address,credit_limit,terms_days,"
                "credit_class,salesperson,contact\n")
        for i in range(customers):
            lang = "zh_CN" if i % 3 == 0 else "en"
            f.write(f"K{i:06d},Customer {i} Ltd,ap{i}@example.com,{lang},{currency},"
                    f"\"{i} Market Street\nCity {i % 97}\",{rng.randrange(10, 500) * 1000},"
                    f"{rng.choice((14, 30, 30, 45, 60))},{rng.choice('AABBBC')},"
                    f"Rep {i % 25},Contact {i}\n")
    last_invoice: dict[int, tuple[str, int]] = {}
    with ledger_path.open("w", encoding="utf-8") as f:
        f.write("type,number,customer,date,due_date,amount,currency,reference,description\n")
        for n in range(documents):
            c = rng.randrange(customers)
            day = START + dt.timedelta(days=int(DAYS * n / documents))
            roll = rng.random()
            if roll < 0.70 or c not in last_invoice:
                cents = rng.randrange(5_000, 5_000_000)
                number = f"INV{n:08d}"
                last_invoice[c] = (number, cents)
                f.write(f"invoice,{number},K{c:06d},{day},,{cents // 100}.{cents % 100:02d},"
                        f"{currency},PO-{n},goods\n")
            elif roll < 0.95:
                ref, cents = last_invoice[c]
                if rng.random() < 0.2:
                    cents = max(100, cents // 2)
                    ref = ref if rng.random() < 0.5 else ""
                f.write(f"payment,PAY{n:08d},K{c:06d},{day},,{cents // 100}.{cents % 100:02d},"
                        f"{currency},{ref},transfer\n")
            else:
                ref, cents = last_invoice[c]
                cents = max(100, cents // 10)
                f.write(f"credit_note,CN{n:08d},K{c:06d},{day},,{cents // 100}."
                        f"{cents % 100:02d},{currency},{ref},discount\n")
    return cust_path, ledger_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("bench/data/book"))
    args = parser.parse_args()
    customers = args.customers or max(10, args.documents // 100)
    for path in generate(args.out, args.documents, customers, args.seed):
        print(path)


if __name__ == "__main__":
    main()
