"""Tasks for the retry tests: they fail as often as the test tells them to."""

from django_tasks import task

from laojian.core.tasks import retried

CALLS: list[int] = []
FAIL_TIMES = {"n": 0}


@task()
@retried(attempts=3, first_delay=10, factor=3)
def flaky(value: int) -> int:
    CALLS.append(value)
    if len(CALLS) <= FAIL_TIMES["n"]:
        raise RuntimeError(f"partner system down (call {len(CALLS)})")
    return value * 2
