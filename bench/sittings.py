"""Filling a sitting: 200 workers in 20 rooms (panels drawn, every worker booked) against one room of 10.

Usage (from the checkout)::

    .venv/bin/python bench/sittings.py [--experts 600] [--rooms 20] [--per-room 10] [--repeat 5]

Runs in a throwaway SQLite ``LAOJIAN_DATA_DIR`` (or the database in ``DATABASE_URL`` if set: give it an
empty scratch database). Seeds ``--experts`` orthopaedists (category 2) over 20 hospitals (round robin), all
trained and in term; each run plans a fresh sitting at a fresh venue with enough
rooms and fills it with ``planning.sitting_fill`` (group by category, one group draw per room with
the experts already seated in the other rooms excluded, one ``appointment_book`` per worker with
its conflict checks, the case's ``schedule`` step, SMS rows, audit entries), all in one transaction.

Measures (median of ``--repeat``):

- baseline: one room of ``--per-room`` workers;
- the sitting: ``--rooms`` rooms of ``--per-room`` workers;

and prints the ratio of the sitting to ``--rooms`` baselines (1.0x: it scales linearly with the
rooms), the time per worker, and the queries per worker of each (counted with ``connection.execute_wrapper``; ``--top N``
prints the N most frequent query shapes of one room).
Asserts nothing but that every fill succeeds and no expert sits in two rooms.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experts", type=int, default=600)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--per-room", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=0, help="print the N most frequent query shapes of one room")
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        data_dir = tempfile.mkdtemp(prefix="laojian-bench-sittings-")
        os.environ["LAOJIAN_DATA_DIR"] = data_dir
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    os.environ.setdefault("LAOJIAN_DEBUG", "0")
    os.environ.setdefault("LAOJIAN_LOG_LEVEL", "ERROR")
    sys.path.insert(0, str(PROJECT_DIR))
    sys.path.insert(0, str(PROJECT_DIR / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args)


def _workday(start: dt.date) -> dt.date:
    from laojian.core.calendar import CalendarYearMissing, WorkingCalendar

    day = start
    while True:
        try:
            if WorkingCalendar.for_range(day, day).is_workday(day):
                return day
        except CalendarYearMissing:
            if day.weekday() < 5:
                return day
        day += dt.timedelta(days=1)


def run(args: argparse.Namespace) -> None:
    import harness
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.utils import timezone

    from laojian.cases.models import (
        Case,
        CaseAssignment,
        CaseType,
        Employer,
        InjuryDetermination,
        Status,
        Worker,
    )
    from laojian.core.models import Committee, User
    from laojian.core.validators import build_credit_code, build_resident_id
    from laojian.experts.models import Expert, Hospital, Specialty, TrainingRecord
    from laojian.sittings import planning
    from laojian.sittings.models import Room, SchedulingRules, Venue

    committee = Committee.objects.create(name="基准市劳动能力鉴定委员会", short_name="基准", code="379999",
                                         case_number_prefix="基劳鉴")
    SchedulingRules.objects.create(committee=committee, workers_per_group=args.per_room, minutes_per_worker=15)
    clerk = User.objects.create(username="bench-clerk", committee=committee)
    clerk.groups.add(Group.objects.get(name="clerk"))
    hospitals = Hospital.objects.bulk_create(
        [Hospital(committee=committee, code=f"B{i:02d}", name=f"基准医院{i}") for i in range(20)])
    ortho = Specialty.objects.create(code="b-ortho", name="骨科", category=2)
    users = User.objects.bulk_create(
        [User(username=f"bench-e{i}", committee=committee, password="!") for i in range(args.experts)],
        batch_size=2000)
    experts = Expert.objects.bulk_create([
        Expert(committee=committee, user=users[i], name=f"专家{i}", hospital=hospitals[i % len(hospitals)],
               title="主任医师", term_start=dt.date(2025, 1, 1), term_end=dt.date(2030, 12, 31), code=f"BE{i:05d}",
               phone=f"139{i:08d}")
        for i in range(args.experts)], batch_size=2000)
    through = Expert.specialties.through
    through.objects.bulk_create([through(expert_id=e.pk, specialty_id=ortho.pk) for e in experts], batch_size=5000)
    TrainingRecord.objects.bulk_create(
        [TrainingRecord(expert=e, date=dt.date(2025, 2, 1), topic="培训", hours=4) for e in experts], batch_size=5000)
    expert_group = Group.objects.get(name="expert")
    expert_group.user_set.add(*users)

    today = timezone.localdate()
    counter: dict = {"k": 0, "venue": 0}

    def make_cases(n: int) -> list[int]:
        ids = []
        for _ in range(n):
            k = counter["k"]
            counter["k"] += 1
            w = Worker.objects.create(id_number=build_resident_id("371502", dt.date(1970, 1, 1)
                                                                  + dt.timedelta(days=k % 9000), k // 9000),
                                      name=f"工人{k}", birth_date=dt.date(1970, 1, 1), sex="M",
                                      phone=f"138{k:08d}")
            e = Employer.objects.create(credit_code=build_credit_code(f"9137150{k:010d}"), name=f"企业{k}")
            d = InjuryDetermination.objects.create(number=f"B{k}", worker=w, employer=e, injury_date=dt.date(2026, 1, 1),
                                                   determination_date=dt.date(2026, 2, 1), injured_parts="手",
                                                   diagnosis="骨折")
            ids.append(Case.objects.create(committee=committee, case_type=CaseType.INITIAL, applicant_kind="worker",
                                           status=Status.REVIEWED, worker=w, employer=e, determination=d,
                                           accepted_on=today, reviewed_on=today).pk)
        return ids

    def new_sitting(rooms: int):
        counter["venue"] += 1
        venue = Venue.objects.create(committee=committee, name=f"基准会场{counter['venue']}", address="柳园路1号")
        Room.objects.bulk_create(Room(venue=venue, name=f"第{i + 1}室", order=i) for i in range(rooms))
        # A day of its own for every sitting, so that each run's draws see the same busy experts.
        day = _workday(counter.get("day", today + dt.timedelta(days=7)) + dt.timedelta(days=1))
        counter["day"] = day
        return planning.sitting_plan(committee, actor=clerk, date=day, venue_id=venue.pk, starts_at=dt.time(8, 30),
                                     ends_at=dt.time(12, 0))

    shapes: Counter = Counter()  # query shapes of the first single-room fill
    big_shapes: Counter = Counter()  # and of the first whole sitting

    def fill(rooms: int) -> tuple[float, int]:
        sitting = new_sitting(rooms)
        cases = make_cases(rooms * args.per_room)
        chosen = {c: [2] for c in cases}
        seen: list[str] = []

        def count(execute, sql, params, many, context):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            start = time.perf_counter()
            result = planning.sitting_fill(sitting.pk, chosen, actor=clerk)
            elapsed = time.perf_counter() - start
        assert len(result.groups) == rooms and len(result.appointments) == len(cases)
        target = shapes if rooms == 1 else big_shapes
        if not target:
            target.update(re.sub(r"\b\d+\b|'[^']*'", "?", sql)[:150] for sql in seen)
        seats = Counter(CaseAssignment.objects.filter(case_id__in=[cases[i * args.per_room] for i in range(rooms)],
                                                      role="expert", active=True).values_list("user_id", flat=True))
        assert max(seats.values()) == 1, "an expert sits in two rooms"
        return elapsed, len(seen)

    def against_plain_queries(rooms: int) -> tuple[float, float, int]:
        """The fill in a rolled-back savepoint, then the statements it sent, replayed raw."""
        sitting = new_sitting(rooms)
        chosen = {c: [2] for c in make_cases(rooms * args.per_room)}
        result, sent, ours, plain = harness.capture_and_replay_rolled_back(
            lambda: planning.sitting_fill(sitting.pk, chosen, actor=clerk))
        assert len(result.groups) == rooms
        return ours, plain, sent

    fill(1)  # warm-up
    base = [fill(1) for _ in range(args.repeat)]
    big = [fill(args.rooms) for _ in range(max(1, args.repeat // 2))]
    versus = [against_plain_queries(args.rooms) for _ in range(max(1, args.repeat // 2))]
    b, s = statistics.median(t for t, _q in base), statistics.median(t for t, _q in big)
    bq, sq = base[0][1], big[0][1]
    workers = args.rooms * args.per_room
    print(f"{connection.vendor}, pool {args.experts} orthopaedists in 20 hospitals")
    print(f"one room of {args.per_room}:   {b * 1000:8.1f} ms   {b / args.per_room * 1000:6.1f} ms/worker   "
          f"{bq} queries ({bq / args.per_room:.1f}/worker)")
    print(f"{args.rooms} rooms, {workers} workers: {s * 1000:8.1f} ms   {s / workers * 1000:6.1f} ms/worker   "
          f"{sq} queries ({sq / workers:.1f}/worker)")
    print(f"ratio to {args.rooms} single rooms: {s / (b * args.rooms):5.2f}x")
    ours, plain = statistics.median(v[0] for v in versus), statistics.median(v[1] for v in versus)
    print(f"the sitting against the plain queries it makes ({versus[0][2]} statements replayed through a cursor): "
          f"{ours * 1000:.1f} ms / {plain * 1000:.1f} ms = {ours / plain:5.2f}x (goal <= 5x)")
    if args.top:
        print(f"queries of one room: alone / per room of the sitting ({args.rooms} rooms), most frequent first")
    for shape, n in shapes.most_common(args.top):
        print(f"{n:5d} {big_shapes[shape] / args.rooms:7.1f}  {shape}")
    grown = [(big_shapes[k] / args.rooms - shapes[k], k) for k in big_shapes if big_shapes[k] / args.rooms > shapes[k]]
    for extra, shape in sorted(grown, reverse=True)[:args.top and 5]:
        print(f"  +{extra:5.1f} a room in the sitting: {shape}")


if __name__ == "__main__":
    main()
