"""Factories for the collective discussion: difficult cases whose panels signed diverging opinions,
the committee's members who sit in discussions, and meetings convened through the services."""

from __future__ import annotations

import datetime as dt
import itertools

from laojian.cases.models import Status
from laojian.core.tests.factories import UserFactory
from laojian.grading.tests.factories import PASSWORD, panel_case, signed_opinion
from laojian.review import services
from laojian.review.models import Discussion

__all__ = ["PASSWORD", "convene", "diverged_case", "leader", "member", "meeting"]

HELD_ON = dt.date(2026, 12, 1)
NINE = "5.9.2(3)"  # 脑挫裂伤无功能障碍 (grade 9)
TEN = "5.10.2(12)"  # the grading factories' default clause (grade 10)
_SEQ = itertools.count(1)


def leader(committee, **kwargs):
    """A committee leader: convenes, chairs and sits in discussions."""
    return UserFactory(committee=committee, roles=["leader"], **kwargs)


def member(committee, **kwargs):
    """A reviewer: sits in discussions (votes, signs the minutes) but does not convene them."""
    return UserFactory(committee=committee, roles=["reviewer"], **kwargs)


def diverged_case(committee, *, experts: int = 3, clauses: tuple[str, ...] = (NINE, TEN, TEN), **kwargs):
    """A case whose panel signed opinions that do not agree, so the rules made it difficult.
    Returns (case, [expert users])."""
    seq = next(_SEQ)
    kwargs = {"year": 2026, "seq": seq, "number": f"测劳鉴〔2026〕{seq:04d}号", **kwargs}
    case, panel = panel_case(experts=experts, status=Status.EXAMINED, committee=committee, **kwargs)
    for expert, clause in zip(panel, clauses, strict=False):
        signed_opinion(case, expert, [clause])
    case.refresh_from_db()
    assert case.status == Status.DIFFICULT
    return case, panel


def convene(chair, members, cases, *, held_on: dt.date = HELD_ON, place: str = "委员会第一会议室") -> Discussion:
    return services.discussion_convene(actor=chair, held_on=held_on, place=place,
                                       member_ids=[m.pk for m in members], case_ids=[c.pk for c in cases])


def meeting(committee, *, others: int = 2, cases: int = 1, open_: bool = False):
    """A meeting convened by a leader with ``others`` more members, ``cases`` diverged cases on its
    agenda; opened with everyone present if ``open_``. Returns (discussion, chair, others, cases)."""
    chair = leader(committee)
    people = [member(committee) for _ in range(others)]
    found = [diverged_case(committee)[0] for _ in range(cases)]
    discussion = convene(chair, people, found)
    if open_:
        discussion = services.discussion_open(discussion.pk, actor=chair, present_ids=[p.pk for p in people])
    return discussion, chair, people, found
