"""Two clerks accept the same case at the same moment: exactly one wins, nothing is half-written."""

import datetime as dt
import threading

import pytest
from django.db import connection

from laojian.cases import services
from laojian.cases.models import Case, Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core.errors import ApplicationError
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import UserFactory

ROUNDS = 5


def race(case_id: int, clerks) -> list:
    barrier = threading.Barrier(len(clerks))
    outcomes: list = [None] * len(clerks)

    def accept(i: int, clerk) -> None:
        try:
            barrier.wait()
            services.transition(case_id, "accept", actor=clerk, today=dt.date(2026, 11, 16))
            outcomes[i] = "won"
        except ApplicationError as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(i, c)) for i, c in enumerate(clerks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_no", range(ROUNDS))
def test_concurrent_double_accept_has_exactly_one_winner(round_no):
    case = CaseFactory(status=Status.SUBMITTED)
    clerks = [UserFactory(committee=case.committee, roles=["clerk"]) for _ in range(2)]

    outcomes = race(case.pk, clerks)

    assert outcomes.count("won") == 1
    loser = next(o for o in outcomes if o != "won")
    assert isinstance(loser, ApplicationError)
    assert loser.code in {"illegal_transition", "conflict"}
    case = Case.objects.get(pk=case.pk)
    assert (case.status, case.version) == (Status.ACCEPTED, 2)
    winner = clerks[outcomes.index("won")]
    assert case.accepted_by == winner
    assert TimelineEntry.objects.filter(case=case, action="accept").count() == 1
    assert AuditEvent.objects.filter(action="case.accept", object_id=str(case.pk)).count() == 1
