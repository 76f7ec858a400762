"""The demo city: a fictional 聊城 committee with its expert pool, staff and about 300 cases.

Everything is derived from ``today`` and a seed, so two builds with the same arguments are the
same. The build has two halves:

1. **Planning** (no database writes): each case gets a list of dated steps, computed with the
   committee's working-day calendar, from registration to wherever the case stands ``today``.
2. **Replaying** the plan through the real services (``case_register``, ``transition``,
   ``assignment_add``), each step with its own ``today``/``at`` and the right actor, so case
   numbers, timelines, clocks and audit entries are exactly what real use would have produced.

Running it again does not duplicate anything: reference data and users are looked up by their
natural keys, and when the demo committee already has cases no case is added.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _
from pypdf import PdfWriter

from laojian.cases import clocks, materials, selectors, services
from laojian.cases.models import ApplicantKind, Case, CaseAssignment, CaseType, Mode, Status
from laojian.cases.services import DeterminationInput, EmployerInput, WorkerInput
from laojian.core import audit
from laojian.core.calendar import CalendarYearMissing, WorkingCalendar
from laojian.core.errors import ApplicationError
from laojian.core.models import Committee, User
from laojian.core.validators import USCC_ALPHABET, build_credit_code, build_resident_id
from laojian.demo import appointments, checks, data
from laojian.documents import services as document_services
from laojian.documents.models import Document
from laojian.documents.models import Kind as DocumentKind
from laojian.experts.models import Expert, Hospital, Specialty, TrainingRecord
from laojian.grading import rules as grading_rules
from laojian.grading import services as grading_services

DEFAULT_SEED = 371500
CASE_COUNT = 300
WINDOW_DAYS = 730  # cases are received over the two years before ``today``
TZ = ZoneInfo(settings.TIME_ZONE)


class DemoBuildError(ApplicationError):
    """A service refused a step of the demo plan: a bug in the plan or in the services."""

    code = "demo_build_failed"


# RESULT ------------------------------------------------------------------------------------------


@dataclass
class DemoReport:
    committee: Committee
    created_users: list[str]
    cases_added: int
    cases_existing: int
    seconds: float
    hospitals: int = 0
    experts: int = 0
    experts_by_status: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_mode: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    at_risk: int = 0
    verify_codes: list[str] = field(default_factory=list)
    screen_token: str = ""  # the waiting-room screen of the next planned sitting


# PLAN DATA STRUCTURES -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpertPlan:
    number: int  # 1-based; no. 1 is the demo login ``expert``, no. n > 1 signs in as expert{n-1:03d}
    username: str
    name: str
    hospital: str  # hospital code
    specialties: tuple[str, ...]
    title: str
    term_start: dt.date
    term_end: dt.date
    status: str

    def can_sit(self, day: dt.date) -> bool:
        return self.status != Expert.Status.SUSPENDED and self.term_start <= day <= self.term_end


@dataclass(frozen=True)
class EmployerPlan:
    credit_code: str
    name: str
    county: str
    address: str
    contact_name: str
    contact_phone: str


@dataclass
class Profile:
    """What a case is about, fixed before its dates are: who, where, which injury."""

    county: str
    region: str
    male: bool
    injury: data.InjuryData
    treating_hospital: str
    employer: EmployerPlan


@dataclass
class Step:
    day: dt.date
    kind: str  # "register", "assign" or a workflow transition name
    actor: str  # username
    to: str | None  # status after the step; None when the status does not change
    note: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime | None = None


@dataclass
class Options:
    """Choices for one case; the showcase cases force some of them, the rest are drawn."""

    case_type: str
    mode: str
    applicant_kind: str
    clerk: str = "clerk"
    own: bool = False  # filed online by the demo applicant account
    exit: str = ""  # "", "draft", "reject", "withdraw", "terminate"
    exit_from: str = ""  # for withdraw/reject: the status it leaves from
    correction: bool = False
    reschedule: bool = False
    difficult: bool = False
    extension: bool = False
    panel_size: int = 3
    reject_note: str = ""


@dataclass
class CasePlan:
    options: Options
    profile: Profile
    party: tuple[WorkerInput, EmployerInput, DeterminationInput, str]  # ..., applicant name
    steps: list[Step]

    @property
    def first_at(self) -> dt.datetime:
        assert self.steps[0].at is not None
        return self.steps[0].at


@dataclass(frozen=True)
class Showcase:
    """A case put where the demo needs it: a given status at about a given age (working days)."""

    status: str
    age: int
    mode: str = ""
    case_type: str = ""
    own: bool = False
    exit: str = ""
    exit_from: str = ""
    correction: bool | None = None
    reschedule: bool = False
    difficult: bool | None = None
    extension: bool = False
    reject_note: str = ""


logger = logging.getLogger("laojian.demo")
S = Status
PERIOD_CASE_TYPES = frozenset({CaseType.LEAVE_CONFIRMATION, CaseType.LEAVE_EXTENSION, CaseType.REHAB_CONFIRMATION,
                               CaseType.REHAB_EXTENSION})
# One of each status (several for the interesting ones), aged so the worklist shows every colour.
SHOWCASE: tuple[Showcase, ...] = (
    Showcase(S.DRAFT, 1),
    Showcase(S.DRAFT, 3, mode=Mode.HOME),
    Showcase(S.SUBMITTED, 1),
    Showcase(S.SUBMITTED, 3, mode=Mode.CLINIC),  # completeness notice due within days: at risk
    Showcase(S.SUBMITTED, 7, correction=False),  # completeness notice overdue
    Showcase(S.CORRECTION_REQUESTED, 4, correction=True),
    Showcase(S.CORRECTION_REQUESTED, 14, correction=True, case_type=CaseType.LEAVE_EXTENSION),
    Showcase(S.ACCEPTED, 2),
    Showcase(S.ACCEPTED, 41, mode=Mode.SITTING, correction=False),  # conclusion due soon: at risk
    Showcase(S.REVIEWED, 5),
    Showcase(S.REVIEWED, 46, mode=Mode.SITTING, correction=False),  # conclusion overdue
    Showcase(S.SCHEDULED, 6, mode=Mode.SITTING),
    Showcase(S.SCHEDULED, 8, mode=Mode.CLINIC, correction=False),  # clinic target at risk
    Showcase(S.SCHEDULED, 14, mode=Mode.SITTING, reschedule=True),
    Showcase(S.SCHEDULED, 9, mode=Mode.HOME),
    Showcase(S.SCHEDULED, 8, mode=Mode.REMOTE),
    Showcase(S.EXAMINED, 4, mode=Mode.CLINIC, correction=False),
    Showcase(S.EXAMINED, 24, mode=Mode.SITTING),
    Showcase(S.DIFFICULT, 30, mode=Mode.SITTING, difficult=True, extension=True),
    Showcase(S.DIFFICULT, 22, mode=Mode.REMOTE, difficult=True),
    Showcase(S.CONCLUDED, 26, mode=Mode.SITTING, difficult=False),
    Showcase(S.CONCLUDED, 44, mode=Mode.HOME, difficult=False),  # delivery overdue
    Showcase(S.DELIVERED, 35, mode=Mode.SITTING),
    Showcase(S.DELIVERED, 12, mode=Mode.CLINIC, correction=False),
    Showcase(S.ARCHIVED, 60, mode=Mode.CLINIC),
    Showcase(S.REJECTED, 12, exit="reject", exit_from=S.CORRECTION_REQUESTED, correction=True),
    Showcase(S.REJECTED, 5, exit="reject", exit_from=S.SUBMITTED, case_type=CaseType.REVIEW,
             correction=False, reject_note=data.REJECT_REVIEW_TOO_EARLY),
    Showcase(S.WITHDRAWN, 10, exit="withdraw", exit_from=S.SUBMITTED, correction=False),
    Showcase(S.WITHDRAWN, 20, exit="withdraw", exit_from=S.SCHEDULED, mode=Mode.SITTING),
    Showcase(S.TERMINATED, 30, exit="terminate", mode=Mode.SITTING),
)

CASE_TYPE_WEIGHTS = {
    CaseType.INITIAL: 62, CaseType.REVIEW: 7, CaseType.REAPPRAISAL: 2, CaseType.LEAVE_CONFIRMATION: 8,
    CaseType.LEAVE_EXTENSION: 12, CaseType.REHAB_CONFIRMATION: 5, CaseType.REHAB_EXTENSION: 4,
}
MODE_WEIGHTS = {Mode.SITTING: 56, Mode.CLINIC: 30, Mode.HOME: 7, Mode.REMOTE: 7}


def _status_after(steps: list[Step]) -> str:
    status = ""
    for step in steps:
        status = step.to or status
    return status


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# CALENDAR ---------------------------------------------------------------------------------------


class DemoCalendar:
    """Working days for planning: the committee calendar up to ``today``; after it, where a year
    may not be published yet, the weekday rule (those dates only matter for appointments)."""

    def __init__(self, today: dt.date):
        self.today = today
        self.first = today - dt.timedelta(days=WINDOW_DAYS + 40)
        self.cal = WorkingCalendar.for_range(self.first, today + dt.timedelta(days=120))
        self.cal.is_workday(today)  # raises CalendarYearMissing when today's year is unknown
        self._sittings: dict[tuple[int, int], dt.date] = {}

    def is_workday(self, day: dt.date) -> bool:
        try:
            return self.cal.is_workday(day)
        except CalendarYearMissing:
            if day <= self.today:
                raise
            return day.weekday() < 5

    def add(self, day: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``day`` (before it when negative); ``day`` for 0."""
        step = 1 if n > 0 else -1
        remaining = abs(n)
        while remaining:
            day += dt.timedelta(days=step)
            if self.is_workday(day):
                remaining -= 1
        return day

    def on_or_after(self, day: dt.date) -> dt.date:
        return day if self.is_workday(day) else self.add(day, 1)

    def on_or_before(self, day: dt.date) -> dt.date:
        return day if self.is_workday(day) else self.add(day, -1)

    def sitting(self, year: int, month: int) -> dt.date:
        """The month's sitting day (现场鉴定会): the first Tuesday to Thursday on or after the 12th that is a workday."""
        key = (year, month)
        if key not in self._sittings:
            day = dt.date(year, month, 12)
            while day.weekday() not in (1, 2, 3) or not self.is_workday(day):
                day += dt.timedelta(days=1)
            self._sittings[key] = day
        return self._sittings[key]

    def next_sitting(self, earliest: dt.date) -> dt.date:
        year, month = earliest.year, earliest.month
        while True:
            day = self.sitting(year, month)
            if day >= earliest:
                return day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)


# PLANNING ---------------------------------------------------------------------------------------


class Planner:
    """Turns (today, seed) into reference-data plans and case plans, without touching the database
    (except to read the working-day calendar once)."""

    def __init__(self, today: dt.date, seed: int):
        self.today = today
        self.seed = seed
        self.cal = DemoCalendar(today)
        self.window_start = today - dt.timedelta(days=WINDOW_DAYS)
        self.used_ids: set[str] = set()
        self.used_names: set[str] = set()
        self.determination_seq: Counter[tuple[str, int]] = Counter()
        self.experts = self._plan_experts()
        self.employers = self._plan_employers()

    def rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(p) for p in ("laojian-demo", self.seed, *parts)))

    # People ------------------------------------------------------------------------------------

    def _name(self, rng: random.Random, male: bool, unique: bool = False) -> str:
        for _attempt in range(200):
            name = rng.choice(data.SURNAMES) + rng.choice(data.GIVEN_MALE if male else data.GIVEN_FEMALE)
            if not unique or name not in self.used_names:
                self.used_names.add(name)
                return name
        raise DemoBuildError("ran out of names")

    def _plan_experts(self) -> list[ExpertPlan]:
        rng = self.rng("experts")
        self.used_names.update(name for _u, _r, name in data.STAFF)
        # Terms of 3 years: most experts were engaged before the window starts, some later,
        # a few newly engaged this year; a few have retired or are suspended.
        engaged = dt.date(self.window_start.year, self.window_start.month, 1) - dt.timedelta(days=61)
        engaged = engaged.replace(day=1)
        second_batch = _add_years(engaged, 1)
        new_batch = (self.today - dt.timedelta(days=150)).replace(day=1)
        mains: list[str] = []
        for spec in data.SPECIALTIES:
            mains += [spec.code] * spec.experts
        # Expert no. 1 (the demo login) is an orthopaedist at the first hospital.
        mains.remove("orthopaedics")
        rng.shuffle(mains)
        mains.insert(0, "orthopaedics")
        staff_expert_name = next(name for username, _r, name in data.STAFF if username == "expert")
        plans = []
        special = rng.sample(range(2, len(mains) + 1), 6)
        suspended, retired = set(special[:3]), set(special[3:])
        for number, main in enumerate(mains, start=1):
            male = rng.random() < 0.7
            if number == 1:
                name, hospital = staff_expert_name, "LCH01"
            else:
                name = self._name(rng, male, unique=True)
                candidates = [h for h in data.HOSPITALS if main in h.specialties]
                hospital = rng.choices(candidates, weights=[h.weight for h in candidates])[0].code
            specialties = (main,)
            if main in data.SECOND_SPECIALTY and rng.random() < 0.3:
                specialties += (rng.choice(data.SECOND_SPECIALTY[main]),)
            roll = rng.random()
            start = engaged if (number == 1 or roll < 0.68) else second_batch if roll < 0.92 else new_batch
            end = _add_years(start, 3) - dt.timedelta(days=1)
            status = Expert.Status.ACTIVE
            if number in retired:
                start, status = engaged, Expert.Status.RETIRED
                end = self.today - dt.timedelta(days=rng.randint(120, 400))
            elif number in suspended:
                status = Expert.Status.SUSPENDED
            plans.append(ExpertPlan(
                number=number,
                username="expert" if number == 1 else f"expert{number - 1:03d}",
                name=name,
                hospital=hospital,
                specialties=specialties,
                title="主任医师" if (number == 1 or rng.random() < 0.6) else "副主任医师",
                term_start=start,
                term_end=end,
                status=status,
            ))
        return plans

    def _plan_employers(self) -> list[EmployerPlan]:
        rng = self.rng("employers")
        counties = [c for c, _code, _p, _w in data.COUNTIES]
        weights = [w for _c, _code, _p, w in data.COUNTIES]
        codes = {c: code for c, code, _p, _w in data.COUNTIES}
        plans, names, credit_codes = [], set(), set()
        while len(plans) < 64:
            county = rng.choices(counties, weights=weights)[0]
            name = (data.COUNTY_PLACE[county] + rng.choice(data.EMPLOYER_BRANDS)
                    + rng.choice(data.EMPLOYER_TRADES) + "有限公司")
            if name in names:
                continue
            body = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
            code = build_credit_code("91" + codes[county] + body)
            if code in credit_codes:
                continue
            names.add(name)
            credit_codes.add(code)
            plans.append(EmployerPlan(
                credit_code=code,
                name=name,
                county=county,
                address=f"{county}{rng.choice(data.STREETS)}{rng.randint(1, 300)}号",
                contact_name=self._name(rng, rng.random() < 0.5),
                contact_phone=f"0635-{rng.randint(2100000, 8999999)}",
            ))
        return plans

    def _profile(self, rng: random.Random) -> Profile:
        county, region = rng.choices(
            [(c, code) for c, code, _p, _w in data.COUNTIES], weights=[w for *_rest, w in data.COUNTIES]
        )[0]
        injury = rng.choices(data.INJURIES, weights=[i.weight for i in data.INJURIES])[0]
        local = [h.code for h in data.HOSPITALS if h.county == county and h.county != "东昌府区"]
        big = [h.code for h in data.HOSPITALS if h.level == "三级甲等"]
        treating = rng.choice(local) if local and rng.random() < 0.5 else rng.choice(big)
        same_county = [e for e in self.employers if e.county == county]
        employer = rng.choice(same_county) if same_county and rng.random() < 0.7 else rng.choice(self.employers)
        return Profile(county=county, region=region, male=rng.random() < 0.82, injury=injury,
                       treating_hospital=treating, employer=employer)

    def _injury_date(self, rng: random.Random, case_type: str, received: dt.date) -> dt.date:
        before = {
            CaseType.INITIAL: (90, 500), CaseType.REVIEW: (480, 1500), CaseType.REAPPRAISAL: (150, 420),
            CaseType.LEAVE_CONFIRMATION: (40, 200), CaseType.LEAVE_EXTENSION: (300, 350),
            CaseType.REHAB_CONFIRMATION: (40, 150), CaseType.REHAB_EXTENSION: (150, 300),
        }[case_type]
        return received - dt.timedelta(days=rng.randint(*before))

    def _party(self, rng: random.Random, profile: Profile, options: Options,
               received: dt.date) -> tuple[WorkerInput, EmployerInput, DeterminationInput, str]:
        while True:
            birth = dt.date(rng.randint(1963, 2000), rng.randint(1, 12), rng.randint(1, 28))
            seq = rng.randrange(0, 500) * 2 + (1 if profile.male else 0)
            id_number = build_resident_id(profile.region, birth, seq)
            if id_number not in self.used_ids:
                self.used_ids.add(id_number)
                break
        name = self._name(rng, profile.male)
        street = rng.choice(data.STREETS + data.VILLAGES)
        worker = WorkerInput(
            id_number=id_number, name=name, phone=f"1380000{rng.randint(0, 9999):04d}",
            address=f"{profile.county}{street}{rng.randint(1, 200)}号", county=profile.county,
        )
        employer = self._employer_input(profile.employer)
        injury_date = self._injury_date(rng, options.case_type, received)
        determination = self._determination(rng, profile, injury_date, received)
        applicant = {
            ApplicantKind.WORKER: name,
            ApplicantKind.EMPLOYER: profile.employer.name,
            ApplicantKind.RELATIVE: self._name(rng, not profile.male),
            ApplicantKind.AGENCY: data.SOCIAL_INSURANCE_AGENCY,
        }[options.applicant_kind]
        return worker, employer, determination, applicant

    @staticmethod
    def _employer_input(employer: EmployerPlan) -> EmployerInput:
        return EmployerInput(credit_code=employer.credit_code, name=employer.name, address=employer.address,
                             contact_name=employer.contact_name, contact_phone=employer.contact_phone)

    def _determination(self, rng: random.Random, profile: Profile, injury_date: dt.date,
                       received: dt.date) -> DeterminationInput:
        determined = min(injury_date + dt.timedelta(days=rng.randint(20, 75)), received - dt.timedelta(days=3))
        determined = max(determined, injury_date)
        prefix = next(p for c, _code, p, _w in data.COUNTIES if c == profile.county)
        self.determination_seq[(prefix, determined.year)] += 1
        seq = self.determination_seq[(prefix, determined.year)] * 7 + rng.randint(0, 6)
        return DeterminationInput(
            number=f"{prefix}工伤认字〔{determined.year}〕{seq:04d}号",
            injury_date=injury_date, determination_date=determined,
            injured_parts=profile.injury.parts, diagnosis=profile.injury.diagnosis,
        )

    # Panels ------------------------------------------------------------------------------------

    def draw_panel(self, rng: random.Random, profile: Profile, day: dt.date, size: int) -> list[str]:
        """3 or 5 experts of the injury's specialties, none from the treating hospital (回避)."""
        eligible = [e for e in self.experts if e.can_sit(day) and e.hospital != profile.treating_hospital]
        wanted = profile.injury.specialties
        chosen: list[ExpertPlan] = []
        demo = eligible[0] if eligible and eligible[0].number == 1 else None
        if demo and set(demo.specialties) & set(wanted) and rng.random() < 0.3:
            chosen.append(demo)
        for spec in wanted:  # one expert for each specialty the injury involves
            if len(chosen) < size and not any(spec in e.specialties for e in chosen):
                pool = [e for e in eligible if spec in e.specialties and e not in chosen]
                if pool:
                    chosen.append(rng.choice(pool))
        categories = {s.category for s in data.SPECIALTIES if s.code in wanted}
        by_code = {s.code: s.category for s in data.SPECIALTIES}
        for candidates in (
            [e for e in eligible if set(e.specialties) & set(wanted)],
            [e for e in eligible if {by_code[s] for s in e.specialties} & categories],
            eligible,
        ):
            rest = [e for e in candidates if e not in chosen]
            rng.shuffle(rest)
            chosen += rest[: size - len(chosen)]
        if len(chosen) < size:
            raise DemoBuildError(f"not enough experts for a panel on {day}")
        return [e.username for e in chosen]

    # Case options ------------------------------------------------------------------------------

    def _options(self, rng: random.Random, profile: Profile, *, case_type: str = "", mode: str = "") -> Options:
        case_type = case_type or _weighted(rng, CASE_TYPE_WEIGHTS)
        if not mode:
            mode = _weighted(rng, MODE_WEIGHTS)
            if profile.injury.complex and mode == Mode.CLINIC:
                mode = Mode.SITTING  # the one-to-one clinic takes simple cases
        if case_type == CaseType.REVIEW and rng.random() < 0.3:
            kind = ApplicantKind.AGENCY
        else:
            kind = rng.choices(
                [ApplicantKind.WORKER, ApplicantKind.EMPLOYER, ApplicantKind.RELATIVE], weights=[62, 30, 8]
            )[0]
        complex_case = profile.injury.complex
        difficult = rng.random() < (0.4 if complex_case else 0.07)
        return Options(
            case_type=case_type, mode=mode, applicant_kind=kind,
            clerk="clerk" if rng.random() < 0.65 else "clerk2",
            correction=rng.random() < (0.08 if mode == Mode.CLINIC else 0.22),
            reschedule=mode != Mode.CLINIC and rng.random() < 0.07,
            difficult=difficult,
            extension=difficult and rng.random() < 0.4,
            panel_size=5 if complex_case or rng.random() < 0.08 else 3,
        )

    # The life of a case --------------------------------------------------------------------------

    def simulate(self, rng: random.Random, options: Options, profile: Profile, received: dt.date) -> list[Step]:
        """Every step of the case from registration on, dated; later steps may lie after today."""
        cal = self.cal
        o = options
        steps: list[Step] = []
        clerk, reviewer = o.clerk, data.REVIEWER_OF[o.clerk]
        applicant = "applicant" if o.own else clerk

        def add(day: dt.date, kind: str, actor: str, to: str | None, note: str = "", **step_data: Any) -> None:
            steps.append(Step(day=day, kind=kind, actor=actor, to=to, note=note, data=step_data))

        if o.exit == "draft":
            add(received, "register", applicant, S.DRAFT, submit=False)
            return steps
        if o.own:
            add(cal.add(received, -rng.randint(1, 3)), "register", applicant, S.DRAFT, submit=False)
            add(received, "submit", applicant, S.SUBMITTED)
        else:
            add(received, "register", clerk, S.SUBMITTED, submit=True)
        day = received
        reject_note = o.reject_note or rng.choice(data.REJECT_REASONS)

        def withdraw_here(status: str) -> bool:
            nonlocal day
            if o.exit == "withdraw" and o.exit_from == status:
                day = cal.add(day, rng.randint(1, 4))
                add(day, "withdraw", applicant, S.WITHDRAWN, rng.choice(data.WITHDRAW_REASONS))
                return True
            return False

        # Completeness check: one correction notice at most, within 5 working days.
        if o.exit == "reject" and o.exit_from == S.SUBMITTED:
            add(cal.add(day, rng.randint(1, 4)), "reject", clerk, S.REJECTED, reject_note)
            return steps
        if o.correction:
            day = cal.add(day, rng.randint(1, 4))
            add(day, "request_correction", clerk, S.CORRECTION_REQUESTED, rng.choice(data.CORRECTION_NOTES))
            if o.exit == "reject" and o.exit_from == S.CORRECTION_REQUESTED:
                add(cal.add(day, rng.randint(15, 25)), "reject", clerk, S.REJECTED, reject_note)
                return steps
            if withdraw_here(S.CORRECTION_REQUESTED):
                return steps
            day = cal.add(day, rng.randint(2, 12))
            add(day, "resubmit", applicant, S.SUBMITTED)
        if withdraw_here(S.SUBMITTED):
            return steps
        quick = o.mode == Mode.CLINIC
        day = cal.add(day, rng.randint(0, 1) if quick else rng.randint(1, 4))
        add(day, "accept", clerk, S.ACCEPTED)
        accepted = day
        if withdraw_here(S.ACCEPTED):
            return steps
        day = cal.add(day, rng.randint(0, 1) if quick else rng.randint(1, 3))
        add(day, "pass_review", reviewer, S.REVIEWED)
        if withdraw_here(S.REVIEWED):
            return steps

        # Panel and appointment.
        day = cal.add(day, rng.randint(0, 1) if quick else rng.randint(1, 3))
        panel = self.draw_panel(rng, profile, day, o.panel_size)
        for username in panel:
            add(day, "assign", clerk, None, user=username)
        appointment = self._appointment(rng, o.mode, day)
        add(day, "schedule", clerk, S.SCHEDULED, appointment=appointment.isoformat(),
            place=self._place(o.mode, profile), panel_size=len(panel))
        shift = 0
        if o.reschedule and cal.add(day, 1) < appointment:
            asked = cal.add(day, rng.randint(1, 3))
            asked = min(asked, cal.add(appointment, -1))
            if o.mode == Mode.SITTING:
                moved = cal.next_sitting(cal.add(appointment, 1))
            else:
                moved = cal.add(appointment, rng.randint(5, 12))
            shift = (moved - appointment).days
            add(asked, "reschedule", clerk, None, rng.choice(data.RESCHEDULE_REASONS),
                worker_requested=True, shift_days=shift, appointment=moved.isoformat())
            appointment = moved
        if o.exit == "withdraw" and o.exit_from == S.SCHEDULED:
            day = max(steps[-1].day, cal.add(appointment, -rng.randint(1, 3)))
            add(day, "withdraw", applicant, S.WITHDRAWN, rng.choice(data.WITHDRAW_REASONS))
            return steps
        if o.exit == "terminate":
            add(appointment, "terminate", clerk, S.TERMINATED, rng.choice(data.TERMINATE_REASONS))
            return steps
        examiner = "expert" if "expert" in panel else panel[0]
        add(appointment, "record_examination", examiner, S.EXAMINED)
        day = appointment

        # Opinion, discussion, conclusion: within 60 days of acceptance (+ shift, + one extension).
        limit = accepted + dt.timedelta(days=60 + shift)
        if o.difficult:
            day = cal.add(day, rng.randint(1, 4))
            add(day, "mark_difficult", rng.choice([reviewer, "leader"]), S.DIFFICULT, rng.choice(data.DIFFICULT_REASONS))
            conclude = cal.add(day, rng.randint(5, 15))
        else:
            conclude = cal.add(day, rng.randint(1, 2) if quick else rng.randint(2, 6))
        if o.extension or conclude > limit:
            granted = max(day, min(cal.add(day, rng.randint(1, 3)), cal.on_or_before(limit)))
            add(granted, "approve_extension", "leader", None, rng.choice(data.EXTENSION_REASONS))
            limit += dt.timedelta(days=30)
            day = granted
            conclude = max(conclude, cal.add(granted, 1))
        if conclude > limit:
            conclude = max(cal.add(day, 1), cal.on_or_before(limit))
        add(conclude, "conclude", "leader", S.CONCLUDED, **self._paper(o, profile, len(steps)))
        delivered = cal.add(conclude, rng.randint(1, 8))
        add(delivered, "deliver", clerk, S.DELIVERED)
        # Archived once the 15-day re-appraisal window has passed.
        archived = cal.add(cal.on_or_after(delivered + dt.timedelta(days=16)), rng.randint(0, 25))
        add(archived, "archive", "archivist", S.ARCHIVED)
        return steps

    @staticmethod
    def _paper(o: Options, profile: Profile, n: int) -> dict[str, Any]:
        """The conclusion the panel reached, chosen without the random generator so the plan stays put:
        one or two of the injury's clauses (some cases reach no grade), or the months for a period case."""
        if o.case_type in PERIOD_CASE_TYPES:
            return {"clauses": [], "months": 2 + n % 5}
        options = data.CLAUSES.get(profile.injury.diagnosis, ())
        if not options or n % 9 == 0:
            return {"clauses": []}
        return {"clauses": list(options[: 1 + n % len(options)])}

    def _appointment(self, rng: random.Random, mode: str, day: dt.date) -> dt.date:
        if mode == Mode.SITTING:
            return self.cal.next_sitting(self.cal.add(day, 4))
        low, high = {Mode.CLINIC: (1, 3), Mode.HOME: (5, 12), Mode.REMOTE: (4, 10)}[mode]
        return self.cal.add(day, rng.randint(low, high))

    def _place(self, mode: str, profile: Profile) -> str:
        if mode == Mode.SITTING:
            return data.SITTING_PLACE
        if mode == Mode.CLINIC:
            return data.CLINIC_PLACE
        if mode == Mode.HOME:
            return f"{profile.county}（职工住所）"
        local = [h.name for h in data.HOSPITALS if h.county == profile.county]
        return f"{local[0] if local else data.HOSPITALS[0].name}远程鉴定室"

    def truncate(self, steps: list[Step], stop: str = "") -> list[Step]:
        """The steps done before today; with ``stop``, the case stays in that status once it gets there
        (only a reschedule or an extension may still happen to it)."""
        kept: list[Step] = []
        status = ""
        for step in steps:
            if step.day >= self.today:
                break
            if stop and status == stop and (step.to or step.kind == "assign"):
                break
            kept.append(step)
            status = step.to or status
        return kept

    @staticmethod
    def _stamp(rng: random.Random, steps: list[Step]) -> None:
        """Give each step a time of day on its date, strictly increasing within the case."""
        last: dt.datetime | None = None
        for step in steps:
            at = dt.datetime.combine(step.day, dt.time(8, 30), tzinfo=TZ) + dt.timedelta(minutes=rng.randint(0, 150))
            if last is not None and at <= last:
                at = last + dt.timedelta(minutes=rng.randint(2, 15))
            step.at = last = at

    # The whole plan ----------------------------------------------------------------------------

    def plan_cases(self, count: int = CASE_COUNT) -> list[CasePlan]:
        plans = self._plan_applicant_cases() + self._plan_showcase()
        plans += self._plan_base(count - len(plans))
        plans.sort(key=lambda p: p.first_at)
        return plans

    def _workdays_before_today(self, day: dt.date) -> int:
        return self.cal.cal.workdays_between(day, self.today)

    def _find(self, key: str, show: Showcase, options_for: Any, profile: Profile) -> tuple[Options, dt.date, list[Step]]:
        """The youngest case (from ``show.age`` working days old on) that is in ``show.status`` today."""
        start = self.cal.on_or_before(self.today - dt.timedelta(days=1))
        for age in range(show.age, show.age + 120):
            rng = self.rng(key, age)
            received = self.cal.add(start, -(age - 1)) if age > 1 else start
            options = options_for(rng)
            steps = self.truncate(self.simulate(rng, options, profile, received), stop=show.status)
            if _status_after(steps) == show.status:
                self._stamp(rng, steps)
                return options, received, steps
        raise DemoBuildError(f"no date puts a demo case in {show.status}")

    def _plan_showcase(self) -> list[CasePlan]:
        plans = []
        for index, show in enumerate(SHOWCASE):
            key = f"show{index}"
            profile = self._profile(self.rng(key, "profile"))

            def options_for(rng: random.Random, show: Showcase = show, profile: Profile = profile) -> Options:
                o = self._options(rng, profile, case_type=show.case_type, mode=show.mode)
                o.exit = "draft" if show.status == S.DRAFT else show.exit
                o.exit_from = show.exit_from
                if o.exit == "terminate" or o.exit_from == S.SCHEDULED:
                    o.reschedule = False
                if show.correction is not None:
                    o.correction = show.correction
                if show.difficult is not None:
                    o.difficult = show.difficult
                o.reschedule = o.reschedule or show.reschedule
                o.extension = show.extension
                o.reject_note = show.reject_note
                return o

            options, received, steps = self._find(key, show, options_for, profile)
            party = self._party(self.rng(key, "party"), profile, options, received)
            plans.append(CasePlan(options, profile, party, steps))
        return plans

    def _plan_applicant_cases(self) -> list[CasePlan]:
        """The demo applicant's own file: a leave extension and an initial appraisal (both archived),
        and a review appraisal just started online (a draft)."""
        rng = self.rng("applicant")
        profile = self._profile(rng)
        profile.county, profile.region, profile.male = "东昌府区", "371502", True
        profile.injury = data.INJURIES[0]
        profile.employer = self.employers[0]
        profile.treating_hospital = "LCH02"
        injured = self.today - dt.timedelta(days=960)
        worker = WorkerInput(
            id_number=build_resident_id("371502", dt.date(1978, 5, 12), 213),
            name=next(name for username, _r, name in data.STAFF if username == "applicant"),
            phone="13800001978", address="东昌府区柳园路88号", county="东昌府区",
        )
        self.used_ids.add(worker.id_number)
        determination = self._determination(rng, profile, injured, injured + dt.timedelta(days=90))
        party = (worker, self._employer_input(profile.employer), determination, worker.name)
        plans = []
        for key, case_type, mode, first_day, status in (
            ("own-leave", CaseType.LEAVE_EXTENSION, Mode.CLINIC, injured + dt.timedelta(days=330), S.ARCHIVED),
            ("own-initial", CaseType.INITIAL, Mode.SITTING, injured + dt.timedelta(days=480), S.ARCHIVED),
            ("own-review", CaseType.REVIEW, Mode.SITTING, self.today - dt.timedelta(days=2), S.DRAFT),
        ):
            show = Showcase(status, max(1, self._workdays_before_today(self.cal.on_or_after(first_day))))

            def options_for(rng: random.Random, case_type: str = case_type, mode: str = mode,
                            status: str = status) -> Options:
                o = self._options(rng, profile, case_type=case_type, mode=mode)
                o.own, o.applicant_kind = True, ApplicantKind.WORKER
                o.exit = "draft" if status == S.DRAFT else ""
                o.correction = o.reschedule = o.difficult = False
                return o

            options, _received, steps = self._find(key, show, options_for, profile)
            plans.append(CasePlan(options, profile, party, steps))
        return plans

    def _review_party(self, rng: random.Random, earlier: CasePlan,
                      options: Options) -> tuple[WorkerInput, EmployerInput, DeterminationInput, str]:
        worker, employer, determination, _applicant = earlier.party
        applicant = {
            ApplicantKind.WORKER: worker.name,
            ApplicantKind.EMPLOYER: employer.name,
            ApplicantKind.RELATIVE: self._name(rng, not earlier.profile.male),
            ApplicantKind.AGENCY: data.SOCIAL_INSURANCE_AGENCY,
        }[options.applicant_kind]
        return worker, employer, determination, applicant

    def _plan_base(self, count: int) -> list[CasePlan]:
        rng = self.rng("base")
        workdays = []
        day = self.cal.on_or_after(self.window_start)
        while day < self.today:
            workdays.append(day)
            day = self.cal.add(day, 1)
        received_days = sorted(rng.choice(workdays) for _ in range(count))
        concluded_initials: list[tuple[dt.date, CasePlan]] = []
        plans = []
        for index, received in enumerate(received_days):
            case_rng = self.rng("case", index)
            profile = self._profile(case_rng)
            options = self._options(
                case_rng, profile,
                # The first few cover every case type and mode whatever the draw.
                case_type=list(CaseType.values)[index] if index < len(CaseType.values) else "",
                mode=list(Mode.values)[index] if index < len(Mode.values) else "",
            )
            party = None
            if options.case_type == CaseType.REVIEW:
                # A review appraisal a year or more after an earlier conclusion of the same worker.
                for i, (concluded, earlier) in enumerate(concluded_initials):
                    if concluded <= received - dt.timedelta(days=366):
                        profile = earlier.profile
                        party = self._review_party(case_rng, earlier, options)
                        del concluded_initials[i]
                        break
            roll = case_rng.random()
            if roll < 0.035:
                options.exit = "reject"
                options.exit_from = S.CORRECTION_REQUESTED if options.correction else S.SUBMITTED
            elif roll < 0.08:
                options.exit = "withdraw"
                options.exit_from = case_rng.choice([S.SUBMITTED, S.ACCEPTED, S.REVIEWED, S.SCHEDULED])
            elif roll < 0.11:
                options.exit = "terminate"
            steps = self.truncate(self.simulate(case_rng, options, profile, received))
            self._stamp(case_rng, steps)
            plan = CasePlan(options, profile, party or self._party(case_rng, profile, options, received), steps)
            if options.case_type == CaseType.INITIAL:
                concluded = next((s.day for s in steps if s.kind == "conclude"), None)
                if concluded:
                    concluded_initials.append((concluded, plan))
            plans.append(plan)
        return plans


# DATABASE: REFERENCE DATA AND USERS ----------------------------------------------------------------


def _ensure_committee() -> Committee:
    committee, _created = Committee.objects.get_or_create(
        code=data.COMMITTEE["code"],
        defaults={k: v for k, v in data.COMMITTEE.items() if k != "code"},
    )
    return committee


def _ensure_hospitals(committee: Committee) -> dict[str, Hospital]:
    hospitals = {}
    for h in data.HOSPITALS:
        hospitals[h.code], _created = Hospital.objects.get_or_create(
            committee=committee, code=h.code, defaults={"name": h.name, "level": h.level}
        )
    return hospitals


def _ensure_specialties() -> dict[str, Specialty]:
    specialties = {}
    for s in data.SPECIALTIES:
        specialties[s.code], _created = Specialty.objects.get_or_create(
            code=s.code, defaults={"name": s.name, "category": s.category}
        )
    return specialties


def _groups() -> dict[str, Group]:
    codes = {role for _u, role, _n in data.STAFF} | {"expert"}
    groups = {g.name: g for g in Group.objects.filter(name__in=codes)}
    missing = codes - set(groups)
    if missing:
        raise DemoBuildError(
            _("The role groups %(groups)s do not exist yet: run “laojian migrate” first.")
            % {"groups": ", ".join(sorted(missing))}
        )
    return groups


def _ensure_user(username: str, display_name: str, group: Group, committee: Committee, *,
                 password_hash: str | None, created: list[str], staff: bool = False) -> None:
    """Create the user if missing; an existing user keeps its password and flags, only gains the group."""
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, display_name=display_name, committee=committee, is_staff=staff)
        if password_hash:
            user.password = password_hash
        else:
            user.set_unusable_password()
        user.save()
        created.append(username)
    user.groups.add(group)


def _ensure_users_and_experts(committee: Committee, planner: Planner) -> list[str]:
    groups = _groups()
    created: list[str] = []
    # One hash for every demo login: the password is published anyway, and hashing it eleven
    # times would cost seconds.
    password_hash = make_password(settings.LAOJIAN_DEMO_PASSWORD)
    for username, role, display_name in data.STAFF:
        _ensure_user(username, display_name, groups[role], committee, password_hash=password_hash,
                     created=created, staff=role in ("admin", "security"))
    hospitals = _ensure_hospitals(committee)
    specialties = _ensure_specialties()
    existing = set(Expert.objects.filter(user__username__in=[e.username for e in planner.experts])
                   .values_list("user__username", flat=True))
    for plan in planner.experts:
        if plan.number != 1:
            _ensure_user(plan.username, plan.name, groups["expert"], committee, password_hash=None,
                         created=created)
        if plan.username in existing:
            continue
        expert = Expert.objects.create(
            committee=committee, user=User.objects.get(username=plan.username), name=plan.name,
            hospital=hospitals[plan.hospital], title=plan.title, senior_title=True,
            term_start=plan.term_start, term_end=plan.term_end, status=plan.status,
        )
        expert.specialties.set([specialties[code] for code in plan.specialties])
        # Trained before sitting: the draw only seats experts with a training record.
        TrainingRecord.objects.create(expert=expert, date=plan.term_start, topic=data.TRAINING_TOPIC, hours=8)
    return created


# DATABASE: CASES ---------------------------------------------------------------------------------


def _replay(plans: list[CasePlan], committee: Committee) -> None:
    usernames = {step.actor for plan in plans for step in plan.steps}
    usernames |= {step.data["user"] for plan in plans for step in plan.steps if step.kind == "assign"}
    # The same user objects throughout: their permission caches are filled once.
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    applicant = users.get("applicant")
    for number, plan in enumerate(plans, start=1):
        o = plan.options
        worker, employer, determination, applicant_name = plan.party
        case: Case | None = None
        for step in plan.steps:
            try:
                if step.kind == "register":
                    case = services.case_register(
                        actor=users[step.actor], committee=committee, worker=worker, employer=employer,
                        determination=determination, case_type=o.case_type, applicant_kind=o.applicant_kind,
                        mode=o.mode, applicant_name=applicant_name,
                        applicant_user=applicant if o.own else None, submit=step.data["submit"],
                        today=step.day, at=step.at,
                    )
                elif step.kind == "assign":
                    assert case is not None
                    services.assignment_add(case, users[step.data["user"]], CaseAssignment.Role.EXPERT,
                                            actor=users[step.actor], at=step.at)
                elif step.kind == "conclude":
                    assert case is not None
                    _conclude_from_paper(case, step, users[step.actor])
                else:
                    assert case is not None
                    if step.kind == "submit" and not users[step.actor].has_perm("cases.register_case"):
                        _upload_required_materials(case, users[step.actor], step.at)
                    case = services.transition(case.pk, step.kind, actor=users[step.actor], note=step.note,
                                               data=step.data, today=step.day, at=step.at)
            except ApplicationError as exc:
                raise DemoBuildError(
                    f"demo case {number} ({o.case_type}, {o.mode}): step “{step.kind}” by {step.actor} "
                    f"on {step.day}: {exc.__class__.__name__} [{exc.code}] {exc}"
                ) from exc


RECENT_LETTERS = 3


def _issue_recent_letters(committee: Committee) -> None:
    """The history is replayed without documents (backdated steps issue none); the latest few
    conclusions get their signed letter, so the documents page and /v/<code>/ have something to show."""
    leader = User.objects.get(username="leader")
    recent = (Case.objects.filter(committee=committee, status__in=[S.CONCLUDED, S.DELIVERED])
              .exclude(concluded_on=None).order_by("-concluded_on", "-id")[:RECENT_LETTERS])
    for case in recent:
        kind = DocumentKind.PERIOD if case.case_type in PERIOD_CASE_TYPES else DocumentKind.CONCLUSION
        last = case.timeline.order_by("-at", "-id").first()
        try:
            document_services.document_issue(case.pk, kind, actor=leader, today=case.concluded_on,
                                             at=last.at + dt.timedelta(minutes=1) if last else None)
        except ApplicationError as exc:  # e.g. no CJK font on this machine: the city works without letters
            logger.warning("demo: no conclusion letter for %s: %s", case.number, exc)
            return


def _conclude_from_paper(case: Case, step: Step, leader: User) -> None:
    """Past conclusions enter as the paper files they were: clauses, grade (by the combination rule), months."""
    clauses = step.data["clauses"]
    grade = None
    if case.case_type not in PERIOD_CASE_TYPES and clauses:
        grade = grading_rules.combine([int(c.split(".")[1]) for c in clauses]).grade
    basis = "依据GB/T 16180-2014 " + "、".join(clauses) if clauses else ""
    grading_services.conclusion_from_paper(
        case.pk, grading_services.PaperConclusion(clauses=clauses, grade=grade, months=step.data.get("months"),
                                                  basis=basis),
        actor=leader, today=step.day, at=step.at)


@functools.cache
def _sample_scan() -> bytes:
    """A one-page blank PDF standing in for a scanned document."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _upload_required_materials(case: Case, actor: User, at: dt.datetime) -> None:
    """An online applicant uploads the checklist's required materials before submitting."""
    required = [mt for mt in selectors.checklist_for(case) if mt.required]
    materials.materials_upload(
        case, [materials.Upload(mt, ContentFile(_sample_scan(), name=f"{mt.code}.pdf")) for mt in required],
        actor, at=at,
    )


# ENTRY POINT ------------------------------------------------------------------------------------


def build(*, today: dt.date | None = None, seed: int = DEFAULT_SEED, count: int = CASE_COUNT) -> DemoReport:
    """Create or complete the demo city. Idempotent; all or nothing (one transaction)."""
    started = time.monotonic()
    today = today or clocks.today()
    planner = Planner(today, seed)
    with transaction.atomic():
        committee = _ensure_committee()
        created = _ensure_users_and_experts(committee, planner)
        existing = Case.objects.filter(committee=committee).count()
        added = 0
        if not existing:
            plans = planner.plan_cases(count)
            _replay(plans, committee)
            added = len(plans)
            _issue_recent_letters(committee)
            checks.build(committee, today=today)
            appointments.build(committee, today=today)
        if created or added:
            audit.record("demo.build", committee=committee, obj=committee, after={
                "today": today.isoformat(), "seed": seed, "users_created": created, "cases_added": added,
            })
    report = DemoReport(committee=committee, created_users=created, cases_added=added,
                        cases_existing=existing, seconds=time.monotonic() - started,
                        verify_codes=list(Document.objects.filter(committee=committee).order_by("id")
                                          .values_list("verify_code", flat=True)[:RECENT_LETTERS]))
    report.screen_token = appointments.next_screen_token(committee, today)
    _count(report, today)
    return report


def _count(report: DemoReport, today: dt.date) -> None:
    committee = report.committee
    report.hospitals = Hospital.objects.filter(committee=committee).count()
    experts = Expert.objects.filter(committee=committee)
    report.experts = experts.count()
    report.experts_by_status = dict(Counter(experts.values_list("status", flat=True)))
    cases = list(Case.objects.filter(committee=committee).values_list("status", "mode", "case_type", "next_due"))
    report.by_status = dict(Counter(c[0] for c in cases))
    report.by_mode = dict(Counter(c[1] for c in cases))
    report.by_type = dict(Counter(c[2] for c in cases))
    for _status, _mode, _type, due in cases:
        colour = clocks.risk(due, today, committee.risk_warning_days)
        report.overdue += colour == "overdue"
        report.at_risk += colour == "at_risk"
