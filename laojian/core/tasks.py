"""Background tasks that retry with backoff and leave a dead letter after the last attempt (REL-30, REL-31).

Put ``@retried()`` under ``@task()``::

    @task()
    @retried(attempts=5)
    def issue_for_step(case_id: int, step: str, actor_id: int) -> int: ...

A failed attempt enqueues the next one ``first_delay × factor^(n-1)`` seconds later (30 s, 2 min,
8 min, 32 min by default) on a backend that can defer, at once on one that cannot (the immediate
backend of tests), and is itself recorded as failed. The last failure writes a :class:`DeadLetter`
with the arguments and the error, and logs it. Tasks must be safe to run twice (each takes ids and
finds its own earlier work): a retry after a crash is the same as a retry after an error.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.utils import timezone
from django.utils.module_loading import import_string

from laojian.core.models import DeadLetter

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
ATTEMPT = "attempt"


@dataclass(frozen=True)
class Attempt:
    number: int  # 1 = the first
    of: int

    @property
    def is_retry(self) -> bool:
        return self.number > 1

    @property
    def will_retry(self) -> bool:
        """A failure now is followed by another attempt (not yet a dead letter)."""
        return self.number < self.of


_current: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar("laojian_task_attempt", default=None)


def current_attempt() -> Attempt | None:
    """The attempt of the ``@retried`` task running now; None outside one (a request, the console).

    A service that records a failure on its row reads it to say "will be tried again" instead of
    "failed", and a retry may take back work its own earlier attempt left half-done.
    """
    return _current.get()


def delay(attempt: int, *, first_delay: float, factor: float) -> dt.timedelta:
    """How long to wait after failed attempt ``attempt`` (1 = the first) before the next one."""
    return dt.timedelta(seconds=first_delay * factor ** (attempt - 1))


def retried(*, attempts: int = 5, first_delay: float = 30.0, factor: float = 4.0) -> Callable[[F], F]:
    if attempts < 1:
        raise ValueError("attempts must be at least 1")

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            attempt = int(kwargs.pop(ATTEMPT, 1))
            token = _current.set(Attempt(attempt, attempts))
            try:
                return func(*args, **kwargs)
            except Exception:
                task = import_string(f"{func.__module__}.{func.__name__}")
                if attempt >= attempts:
                    DeadLetter.objects.create(task=task.module_path, args=list(args), kwargs=kwargs, attempts=attempt,
                                              error=traceback.format_exc()[-8000:])
                    log.error("task %s failed its last attempt (%s); dead letter written", task.module_path, attempt)
                else:
                    wait = delay(attempt, first_delay=first_delay, factor=factor)
                    later = task.using(run_after=timezone.now() + wait) if task.get_backend().supports_defer else task
                    log.warning("task %s failed attempt %s of %s; next in %s", task.module_path, attempt, attempts, wait)
                    _current.reset(token)
                    token = None
                    later.enqueue(*args, **{**kwargs, ATTEMPT: attempt + 1})
                raise
            finally:
                if token is not None:
                    _current.reset(token)
        return run  # type: ignore[return-value]
    return decorate


def send_again(dead_letter_id: int) -> DeadLetter:
    """Enqueue a dead letter's task once more from its first attempt (an administrator fixed the cause)."""
    letter = DeadLetter.objects.get(pk=dead_letter_id)
    import_string(letter.task).enqueue(*letter.args, **letter.kwargs)
    letter.retried_at = timezone.now()
    letter.save(update_fields=["retried_at"])
    return letter
