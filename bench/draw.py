"""The panel draw against a plain filtered query over the same pool (issue 4).

Usage (from the checkout)::

    .venv/bin/python bench/draw.py [--experts 10000] [--cases 2400] [--repeat 5]

Runs in a throwaway SQLite ``LAOJIAN_DATA_DIR`` (or the database in ``DATABASE_URL`` if set: give it an
empty scratch database). Seeds ``--experts`` experts (20 hospitals, 12 specialties in the five
categories, all trained and in term) with ``random.Random(42)``, then measures:

- one draw (``services.panel_draw``: eligibility, recusal, weights, commit, reveal, seating, audit)
  against the plain query "active experts of the needed specialties, in term, with their hospital"
  evaluated into a list;
- a batch: a draw for each of ``--cases`` reviewed cases, against the same number of plain queries;
- the same number of cases drawn with ``services.panels_draw_batch``, ``--sitting`` cases per
  appraisal date (one call, one transaction per sitting), against the same plain queries.

Prints ratios (median of ``--repeat`` for the single draw); asserts nothing. Goal: a draw < 10x a query.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experts", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=2400)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sitting", type=int, default=40, help="cases per sitting for panels_draw_batch")
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        data_dir = tempfile.mkdtemp(prefix="laojian-bench-draw-")
        os.environ["LAOJIAN_DATA_DIR"] = data_dir
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args)


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth.models import Group

    from laojian.cases.models import Case, CaseType, Employer, InjuryDetermination, Status, Worker
    from laojian.core.models import Committee, User
    from laojian.core.validators import build_credit_code, build_resident_id
    from laojian.experts import services
    from laojian.experts.models import Expert, Hospital, Specialty, TrainingRecord

    rng = random.Random(42)
    committee = Committee.objects.create(name="基准市劳动能力鉴定委员会", short_name="基准", code="379999",
                                         case_number_prefix="基劳鉴")
    clerk = User.objects.create(username="bench-clerk", committee=committee)
    clerk.groups.add(Group.objects.get(name="clerk"))
    hospitals = Hospital.objects.bulk_create(
        [Hospital(committee=committee, code=f"B{i:02d}", name=f"基准医院{i}") for i in range(20)])
    specs = []
    for category in range(1, 6):
        for j in range(3 if category < 5 else 0) or [0]:
            specs.append(Specialty(code=f"b{category}{j}", name=f"科{category}{j}", category=category))
    specs = Specialty.objects.bulk_create(specs)
    users = User.objects.bulk_create(
        [User(username=f"bench-e{i}", committee=committee, password="!") for i in range(args.experts)],
        batch_size=2000)
    experts = Expert.objects.bulk_create([
        Expert(committee=committee, user=users[i], name=f"专家{i}", hospital=rng.choice(hospitals), title="主任医师",
               term_start=dt.date(2025, 1, 1), term_end=dt.date(2028, 12, 31), code=f"BE{i:05d}")
        for i in range(args.experts)], batch_size=2000)
    through = Expert.specialties.through
    through.objects.bulk_create([through(expert_id=e.pk, specialty_id=rng.choice(specs).pk) for e in experts],
                                batch_size=5000)
    TrainingRecord.objects.bulk_create(
        [TrainingRecord(expert=e, date=dt.date(2025, 2, 1), topic="培训", hours=4) for e in experts], batch_size=5000)

    def make_cases(n: int, offset: int) -> list[int]:
        ids = []
        for i in range(n):
            k = offset + i
            w = Worker.objects.create(id_number=build_resident_id("371502", dt.date(1970, 1, 1)
                                                                  + dt.timedelta(days=k % 9000), k // 9000),
                                      name=f"工人{k}", birth_date=dt.date(1970, 1, 1), sex="M")
            e = Employer.objects.create(credit_code=build_credit_code(f"9137150{k:010d}"), name=f"企业{k}")
            d = InjuryDetermination.objects.create(number=f"B{k}", worker=w, employer=e, injury_date=dt.date(2026, 1, 1),
                                                   determination_date=dt.date(2026, 2, 1), injured_parts="手",
                                                   diagnosis="骨折")
            ids.append(Case.objects.create(committee=committee, case_type=CaseType.INITIAL, applicant_kind="worker",
                                           status=Status.REVIEWED, worker=w, employer=e, determination=d,
                                           number=f"基劳鉴{k}").pk)
        return ids

    on = dt.date(2026, 12, 7)

    def plain_query() -> int:
        return len(list(
            Expert.objects.filter(committee=committee, status="active", term_start__lte=on, term_end__gte=on,
                                  specialties__category=2).select_related("hospital")
            .values_list("pk", "hospital__name")))

    def one_draw(case_id: int) -> None:
        services.panel_draw(case_id, services.DrawRequest([2], sitting_date=on), actor=clerk)

    def timed(fn, *a) -> float:
        start = time.perf_counter()
        fn(*a)
        return time.perf_counter() - start

    singles = make_cases(args.repeat + 2, 0)
    for _ in range(2):
        plain_query()
    one_draw(singles[0])
    draw_times = [timed(one_draw, c) for c in singles[1:args.repeat + 1]]
    query_times = [timed(plain_query) for _ in range(args.repeat)]
    d, q = statistics.median(draw_times), statistics.median(query_times)
    print(f"pool {args.experts} experts, {plain_query()} of category 2")
    print(f"one draw:   {d * 1000:8.1f} ms   plain query: {q * 1000:8.1f} ms   ratio {d / q:5.1f}x")

    batch = make_cases(args.cases, 10_000)
    start = time.perf_counter()
    for case_id in batch:
        one_draw(case_id)
    batch_draw = time.perf_counter() - start
    start = time.perf_counter()
    for _ in batch:
        plain_query()
    batch_query = time.perf_counter() - start
    print(f"batch of {args.cases}: draws {batch_draw:8.1f} s   plain queries {batch_query:8.1f} s   "
          f"ratio {batch_draw / batch_query:5.1f}x")

    sittings = make_cases(args.cases, 20_000)
    start = time.perf_counter()
    for k in range(0, len(sittings), args.sitting):
        day = on + dt.timedelta(days=1 + k // args.sitting)
        result = services.panels_draw_batch(sittings[k:k + args.sitting],
                                            services.DrawRequest([2], sitting_date=day), actor=clerk)
        assert result.ok, result.failures[:3]
    sitting_draw = time.perf_counter() - start
    print(f"panels_draw_batch, {args.cases} cases in sittings of {args.sitting}: draws {sitting_draw:8.1f} s   "
          f"plain queries {batch_query:8.1f} s   ratio {sitting_draw / batch_query:5.1f}x   "
          f"({sitting_draw / args.cases * 1000:.1f} ms per case)")


if __name__ == "__main__":
    main()
