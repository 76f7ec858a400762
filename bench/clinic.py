"""The clinic's earliest suitable slot over a year of roster, against generating one week's slots (issue 5).

Usage (from the checkout)::

    .venv/bin/python bench/clinic.py [--lines 20] [--taken 0.6] [--repeat 7]

Runs in a throwaway SQLite ``LAOJIAN_DATA_DIR`` (or the database in ``DATABASE_URL`` if set: give it an
empty scratch database). Seeds with ``random.Random(42)`` one committee, a venue with a room per roster
line, ``--lines`` experts on ``--lines`` roster lines (two a half-day, Monday to Friday, valid all
year), and books ``--taken`` of the coming year's slots (one scheduled clinic case each), then measures:

- ``clinic.earliest_slot`` for a new reviewed clinic case (recusal, the case's own busy times, a year
  of roster and bookings loaded in one go, the first free slot);
- ``clinic.next_slots`` for the whole year (every free slot: the worst case of the search);
- the baseline: ``clinic.bookable_slots`` for one week (the same generator over seven days).

Prints the median of ``--repeat`` runs, the queries each side sent, and the ratios; asserts nothing.
Goal: the earliest slot of a year costs a small multiple of one week's slots (no query per slot).
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
    parser.add_argument("--lines", type=int, default=20, help="roster lines (and experts)")
    parser.add_argument("--taken", type=float, default=0.6, help="share of the year's slots already booked")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    if "DATABASE_URL" not in os.environ:
        data_dir = tempfile.mkdtemp(prefix="laojian-bench-clinic-")
        os.environ["LAOJIAN_DATA_DIR"] = data_dir
        os.mkdir(os.path.join(data_dir, "static"))
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    sys.path.insert(0, str(PROJECT_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laojian.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    run(args)


def _measure(fn, repeat: int) -> tuple[float, int, object]:
    """Median seconds of ``repeat`` runs (after one warm-up), the queries of one run, its result."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(queries), result


def run(args: argparse.Namespace) -> None:
    import harness
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from laojian.cases.models import Case, CaseType, Employer, InjuryDetermination, Mode, Status, Worker
    from laojian.core.models import Committee, User
    from laojian.core.validators import build_credit_code, build_resident_id
    from laojian.experts.models import Expert, Hospital, Specialty, TrainingRecord
    from laojian.sittings import clinic
    from laojian.sittings.models import Appointment, Room, Venue

    rng = random.Random(42)
    today = timezone.localdate()
    committee = Committee.objects.create(name="基准市劳动能力鉴定委员会", short_name="基准", code="379998",
                                         case_number_prefix="基劳鉴")
    clerk = User.objects.create(username="bench-clerk", committee=committee)
    clerk.groups.add(Group.objects.get(name="clerk"))
    venue = Venue.objects.create(committee=committee, name="基准鉴定门诊", address="基准市柳园路1号")
    rooms = Room.objects.bulk_create([Room(venue=venue, name=f"诊室{i + 1}", order=i) for i in range(args.lines)])
    specialty = Specialty.objects.create(code="bench-ortho", name="骨科", category=2)
    hospital = Hospital.objects.create(committee=committee, code="B01", name="基准医院")
    users = User.objects.bulk_create([User(username=f"bench-expert-{i}", committee=committee)
                                      for i in range(args.lines)])
    experts = Expert.objects.bulk_create([
        Expert(committee=committee, user=u, name=f"专家{i}", hospital=hospital, title="主任医师",
               term_start=today - dt.timedelta(days=30), term_end=today + dt.timedelta(days=400))
        for i, u in enumerate(users)])
    TrainingRecord.objects.bulk_create([TrainingRecord(expert=e, date=today - dt.timedelta(days=60), topic="政策与标准培训",
                                                       hours=4) for e in experts])
    Expert.specialties.through.objects.bulk_create(
        [Expert.specialties.through(expert_id=e.pk, specialty_id=specialty.pk) for e in experts])
    for i, (expert, room) in enumerate(zip(experts, rooms, strict=True)):
        half_day = i % 10
        clinic.roster_add(committee, actor=clerk, expert_id=expert.pk, specialty_id=specialty.pk,
                          weekday=half_day // 2, half="am" if half_day % 2 == 0 else "pm", venue_id=venue.pk,
                          room_id=room.pk, valid_from=today)

    year = list(clinic.bookable_slots(committee, first=today, last=today + dt.timedelta(days=365)))
    taken = rng.sample(year, int(len(year) * args.taken))
    worker = Worker.objects.create(id_number=build_resident_id("371502", dt.date(1980, 1, 1), 1), name="基准工人",
                                   birth_date=dt.date(1980, 1, 1), sex="M", phone="13900000000")
    employer = Employer.objects.create(credit_code=build_credit_code("91371500MA3C00001"), name="基准公司")
    # One injury a booked case: an injury has one case of a type in progress at a time (REL-21).
    determinations = InjuryDetermination.objects.bulk_create([
        InjuryDetermination(number=f"基准工伤认字〔2026〕{k + 100}号", worker=worker, employer=employer,
                            injury_date=dt.date(2026, 1, 5), determination_date=dt.date(2026, 3, 1),
                            injured_parts="右手", diagnosis="右手骨折")
        for k in range(len(taken))], batch_size=2000)
    cases = Case.objects.bulk_create([
        Case(committee=committee, case_type=CaseType.INITIAL, applicant_kind="worker", worker=worker,
             employer=employer, determination=determination, mode=Mode.CLINIC, status=Status.SCHEDULED)
        for determination in determinations], batch_size=2000)
    Appointment.objects.bulk_create([
        Appointment(case=case, committee=committee, mode=Mode.CLINIC, starts_at=slot.starts_at,
                    ends_at=slot.ends_at, place=slot.place, expert_id=slot.expert_id, roster_entry_id=slot.entry_id,
                    created_by=clerk)
        for case, slot in zip(cases, taken, strict=True)], batch_size=2000)
    other = Worker.objects.create(id_number=build_resident_id("371502", dt.date(1981, 2, 2), 2), name="待约工人",
                                  birth_date=dt.date(1981, 2, 2), sex="M", phone="13900000009")
    other_det = InjuryDetermination.objects.create(
        number="基准工伤认字〔2026〕2号", worker=other, employer=employer, injury_date=dt.date(2026, 1, 5),
        determination_date=dt.date(2026, 3, 1), injured_parts="左腿", diagnosis="左胫骨骨折")
    case = Case.objects.create(committee=committee, case_type=CaseType.INITIAL, applicant_kind="worker", worker=other,
                               employer=employer, determination=other_det, mode=Mode.CLINIC, status=Status.REVIEWED)

    week = (today, today + dt.timedelta(days=6))
    base_t, base_q, base = _measure(
        lambda: list(clinic.bookable_slots(committee, first=week[0], last=week[1])), args.repeat)
    first_t, first_q, first = _measure(lambda: clinic.earliest_slot(case), args.repeat)
    all_t, all_q, every = _measure(lambda: clinic.next_slots(case, count=10**6), args.repeat)
    _result, sent, _t = harness.capture(lambda: clinic.earliest_slot(case))
    plain_t = statistics.median(harness.replay(sent) for _ in range(args.repeat))

    print(f"roster {args.lines} lines, {len(year)} slots in the year, {len(taken)} booked ({args.taken:.0%})")
    print(f"one week's slots (baseline): {base_t * 1000:8.1f} ms  {base_q:3d} queries  {len(base)} slots")
    print(f"earliest slot, a year:       {first_t * 1000:8.1f} ms  {first_q:3d} queries  "
          f"ratio {first_t / base_t:5.1f}x   ({first.text if first else 'none'})")
    print(f"every free slot, a year:     {all_t * 1000:8.1f} ms  {all_q:3d} queries  "
          f"ratio {all_t / base_t:5.1f}x   ({len(every)} slots)")
    print(f"earliest slot against the plain queries it makes ({len(sent)} statements replayed through a cursor): "
          f"{first_t * 1000:.1f} ms / {plain_t * 1000:.1f} ms = {first_t / plain_t:5.2f}x (goal <= 5x)")


if __name__ == "__main__":
    main()
