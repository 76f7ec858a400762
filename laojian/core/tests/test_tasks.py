"""Background tasks retry with backoff and leave a dead letter after the last attempt (REL-31)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from laojian.core import tasks
from laojian.core.models import DeadLetter
from laojian.core.tests import retried_tasks

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def fresh():
    retried_tasks.CALLS.clear()
    retried_tasks.FAIL_TIMES["n"] = 0


def fail(times: int) -> None:
    retried_tasks.FAIL_TIMES["n"] = times


def test_a_task_that_fails_twice_succeeds_on_its_third_attempt_without_a_dead_letter(settings):
    settings.TASKS = IMMEDIATE
    fail(2)
    retried_tasks.flaky.enqueue(21)
    assert retried_tasks.CALLS == [21, 21, 21]
    assert not DeadLetter.objects.exists()


def test_the_last_failure_writes_a_dead_letter_with_the_arguments_and_the_error(settings):
    settings.TASKS = IMMEDIATE
    fail(10)
    result = retried_tasks.flaky.enqueue(21)
    assert len(retried_tasks.CALLS) == 3
    letter = DeadLetter.objects.get()
    assert (letter.task, letter.args, letter.attempts) == ("laojian.core.tests.retried_tasks.flaky", [21], 3)
    assert "partner system down (call 3)" in letter.error
    assert result.status == "FAILED"


def test_a_task_that_succeeds_runs_once(settings):
    settings.TASKS = IMMEDIATE
    assert retried_tasks.flaky.enqueue(4).return_value == 8
    assert retried_tasks.CALLS == [4]


def test_on_a_deferring_backend_the_next_attempt_waits_its_backoff(settings):
    settings.TASKS = DATABASE
    fail(10)
    before = timezone.now()
    with pytest.raises(RuntimeError):
        retried_tasks.flaky.call(21)
    queued = DBTaskResult.objects.get()
    assert queued.args_kwargs["kwargs"] == {"attempt": 2}
    assert before + dt.timedelta(seconds=10) <= queued.run_after <= timezone.now() + dt.timedelta(seconds=10)


def test_the_backoff_grows_by_its_factor():
    waits = [tasks.delay(n, first_delay=30, factor=4).total_seconds() for n in (1, 2, 3, 4)]
    assert waits == [30, 120, 480, 1920]


def test_a_dead_letter_can_be_sent_again(settings):
    settings.TASKS = IMMEDIATE
    fail(3)
    retried_tasks.flaky.enqueue(5)
    letter = DeadLetter.objects.get()
    tasks.send_again(letter.pk)
    letter.refresh_from_db()
    assert letter.retried_at is not None
    assert retried_tasks.CALLS == [5, 5, 5, 5]


def test_the_console_lists_dead_letters_and_sends_one_again(settings, capsys):
    from django.core.management import call_command

    settings.TASKS = IMMEDIATE
    fail(3)
    retried_tasks.flaky.enqueue(7)
    letter = DeadLetter.objects.get()
    call_command("deadletters")
    assert "laojian.core.tests.retried_tasks.flaky[7]" in capsys.readouterr().out
    call_command("deadletters", "--retry", str(letter.pk))
    assert retried_tasks.CALLS[-1] == 7 and len(retried_tasks.CALLS) == 4
