"""Batched audit writes: the same entries, chained in order and verifiable, written at the batch's end."""

from __future__ import annotations

import pytest
from django.db import transaction

from laojian.core import audit
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory

pytestmark = pytest.mark.django_db


def test_a_batch_writes_its_entries_in_order_at_its_end_and_the_chain_verifies():
    committee = CommitteeFactory()
    audit.record("before.batch", committee=committee)
    with audit.batched():
        for i in range(5):
            audit.record("in.batch", committee=committee, after={"i": i})
        assert AuditEvent.objects.filter(action="in.batch").count() == 0
    entries = list(AuditEvent.objects.filter(chain=f"committee:{committee.pk}").order_by("seq"))
    assert [e.action for e in entries] == ["before.batch"] + ["in.batch"] * 5
    assert [e.after.get("i") for e in entries[1:]] == [0, 1, 2, 3, 4]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert all(r.ok for r in audit.verify())


def test_entries_of_several_chains_each_join_their_own_chain():
    a, b = CommitteeFactory(), CommitteeFactory()
    with audit.batched():
        audit.record("x", committee=a)
        audit.record("x", committee=b)
        audit.record("x", committee=a)
    assert AuditEvent.objects.filter(chain=f"committee:{a.pk}").count() == 2
    assert AuditEvent.objects.filter(chain=f"committee:{b.pk}").count() == 1
    assert all(r.ok for r in audit.verify())


def test_a_batch_that_fails_writes_nothing():
    committee = CommitteeFactory()
    with pytest.raises(RuntimeError), transaction.atomic(), audit.batched():
        audit.record("lost", committee=committee)
        raise RuntimeError("the operation failed")
    assert not AuditEvent.objects.filter(action="lost").exists()


def test_a_nested_batch_leaves_the_writing_to_the_outer_one():
    committee = CommitteeFactory()
    with audit.batched():
        with audit.batched():
            audit.record("inner", committee=committee)
        assert not AuditEvent.objects.filter(action="inner").exists()
    assert AuditEvent.objects.filter(action="inner").count() == 1
