"""Benchmark: the pure settlement engine over a synthetic year.

    python bench/engine/run.py --people 100000 --claims-per-person 10

Builds (untimed) a synthetic population across the three regions whose seed documents settle
without an administrator's numbers (赣州 360700, 沧州 130900, 巴南 500113), with mixed identities
(recipients of every class, monitored populations, ordinary residents, identities starting mid-year
for 赣州's look-back), claim kinds, hospital levels, locations and amounts; 沧州's resident
critical-illness payments are computed by the engine for its preferential categories. Then it times
``settle`` (single process) over everybody and reports claims per second. ``--with-parse`` also
times ``parse_input`` + ``settle`` + ``result_to_dict`` from the JSON-shaped payloads.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from policies.engine import parse_input, result_to_dict, settle, static_book_from_seed  # noqa: E402

STATISTICS = {
    "city_income": {"2021": "27000.00", "2022": "29000.00"},
    "province_rural_income": {"2021": "18000.00", "2022": "19000.00"},
    # 沧州's deductibles are announced each year (沧政办规〔2022〕7号 二(三)); never computed.
    "annual_deductible_dibao_edge": {"2023": "2900.00"},
    "annual_deductible_illness_poverty": {"2023": "7300.00"},
}
YEAR = 2023
REGIONS = {
    # region: (first claim date of the year, recipient categories that settle with the seed's numbers)
    "360700": (dt.date(YEAR, 1, 1), ["tekun", "orphan", "dibao", "fanpin", "jiance", "dibao_edge",
                                      "illness_poverty", "other_special"]),
    "130900": (dt.date(YEAR, 1, 1), ["tekun", "dibao", "dibao_edge", "illness_poverty"]),
    "500113": (dt.date(YEAR, 5, 1), ["tekun", "dibao", "fanpin", "illness_poverty", "dibao_edge", "jiance"]),
}
KINDS = ["inpatient", "inpatient", "outpatient_chronic", "outpatient_general", "outpatient_general"]
LOCATIONS = ["county", "county", "city", "province", "out_of_province"]


def money(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def person_payload(rng: random.Random, region: str, claims_per_person: int, serial: int) -> dict:
    first, cats = REGIONS[region]
    span = (dt.date(YEAR, 12, 31) - first).days
    identities = []
    roll = rng.random()
    if roll < 0.55:                                     # a recipient, from before the year or from mid-year
        start = first - dt.timedelta(days=400) if rng.random() < 0.8 else first + dt.timedelta(days=rng.randint(0, span))
        identities.append({"category": rng.choice(cats), "start": start.isoformat(), "end": None})
        if rng.random() < 0.2:                          # a second identity (precedence decides)
            identities.append({"category": rng.choice(cats), "start": (first - dt.timedelta(days=30)).isoformat(),
                               "end": None})
    elif roll < 0.65 and region != "130900":     # 沧州 leaves tuopin to the province (二(一)): refused
        identities.append({"category": "tuopin", "start": "2020-01-01", "end": None})
    claims = []
    for j in range(claims_per_person):
        kind = rng.choice(KINDS)
        scope = rng.randint(20_000, 1_500_000) if kind == "outpatient_general" else rng.randint(200_000, 12_000_000)
        total = scope + rng.randint(0, scope // 5)
        basic = scope * rng.randint(40, 75) // 100
        claim = {"id": f"p{serial}c{j}", "date": (first + dt.timedelta(days=rng.randint(0, span))).isoformat(),
                 "kind": kind, "special_disease": rng.random() < 0.15, "hospital_level": rng.randint(1, 3),
                 "location": rng.choice(LOCATIONS), "referral_compliant": rng.random() < 0.9,
                 "total": money(total), "policy_scope": money(scope), "basic_paid": money(basic)}
        preferential = (region == "130900" and identities and identities[0]["category"] in ("tekun", "dibao")
                        and identities[0]["start"] < first.isoformat())
        if not preferential or rng.random() < 0.3:      # 沧州 tekun/dibao: C computed by the engine
            claim["critical_paid"] = money((scope - basic) * rng.randint(0, 50) // 100)
        claims.append(claim)
    return {"region": region, "person": {"residence": rng.choice(["rural", "rural", "urban"]), "scheme": "resident",
                                         "identities": identities},
            "tilted_applied": rng.random() < 0.3, "claims": claims}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--claims-per-person", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--with-parse", action="store_true", help="also time parse_input + settle + result_to_dict")
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    regions = sorted(REGIONS)
    t0 = time.perf_counter()
    payloads = [person_payload(rng, regions[i % len(regions)], args.claims_per_person, i) for i in range(args.people)]
    inputs = [parse_input(p) for p in payloads]
    books = {code: static_book_from_seed(code, STATISTICS) for code in regions}
    n_claims = sum(len(i.claims) for i in inputs)
    print(f"built {args.people} people / {n_claims} claims in {time.perf_counter() - t0:.1f}s", flush=True)

    # Warm the per-book caches (compiled rules, version by date, statistic-based amounts) once.
    for inp in inputs[:1000]:
        settle(inp, books[inp.region])

    gc.collect()
    gc.disable()
    t0, c0 = time.perf_counter(), time.process_time()
    paid = alerts = 0
    for inp in inputs:
        result = settle(inp, books[inp.region])
        alerts += len(result.alerts)
        for c in result.claims:
            paid += c.assistance_fen + c.tilted_fen
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.enable()
    print(f"settle: {n_claims} claims in {elapsed:.2f}s wall = {n_claims / elapsed:,.0f} claims/s "
          f"({cpu:.2f}s CPU = {n_claims / cpu:,.0f} claims per CPU-second; "
          f"assistance + tilted paid {paid / 100:,.2f} 元, {alerts} alerts)")

    if args.with_parse:
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        for p in payloads:
            inp = parse_input(p)
            result_to_dict(settle(inp, books[inp.region]))
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"parse + settle + result_to_dict: {n_claims} claims in {elapsed:.2f}s wall = "
              f"{n_claims / elapsed:,.0f} claims/s ({n_claims / cpu:,.0f} claims per CPU-second)")
    print(f"python {platform.python_version()} on {platform.machine()}, nproc {os.cpu_count()}, single process")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
