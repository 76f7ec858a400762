"""Rules grading adds to the case workflow (registered in ``apps.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from laojian.cases.workflow import Context, TransitionRefused
from laojian.grading.models import Conclusion, Opinion

if TYPE_CHECKING:
    from laojian.cases.models import Case


# The conclusion the grading service is approving right now. ``conclude`` passes only inside
# ``approving``: a caller of the generic ``transition`` that names a drafted conclusion in ``data``
# would otherwise conclude the case and leave the conclusion unapproved and unnumbered for good.
_approving: ContextVar[int | None] = ContextVar("grading_approving_conclusion", default=None)


@contextmanager
def approving(conclusion_id: int) -> Iterator[None]:
    """Around the grading service's ``transition(..., "conclude", data={"conclusion_id": ...})``."""
    token = _approving.set(conclusion_id)
    try:
        yield
    finally:
        _approving.reset(token)


def conclusion_ready(case: Case, ctx: Context) -> None:
    """A case concludes only through an approved draft built from signed, current opinions."""
    conclusion_id = ctx.data.get("conclusion_id")
    conclusion = None
    if conclusion_id is not None and conclusion_id == _approving.get():
        conclusion = Conclusion.objects.filter(case=case, pk=conclusion_id, state=Conclusion.State.DRAFT).first()
    if conclusion is None:
        raise TransitionRefused(_("A conclusion needs the panel's signed opinions: approve it from the case's "
                                  "grading page once it is drafted."), code="conclusion_not_drafted")
    if conclusion.source == Conclusion.Source.PAPER:
        return  # a conclusion signed on paper before the committee used Laojian: its opinions are in the file
    opinions = list(conclusion.opinions.all())
    # A collective discussion decides on its minutes; the opinions it had before it (if any) must still
    # be signed and current. The panels' drafts rest on their opinions.
    if not opinions and conclusion.source != Conclusion.Source.DISCUSSION:
        raise TransitionRefused(_("A conclusion cannot rest on unsigned opinions."), code="unsigned_opinions")
    if any(not o.signed for o in opinions):
        raise TransitionRefused(_("A conclusion cannot rest on unsigned opinions."), code="unsigned_opinions")
    newer = Q()
    for opinion in opinions:
        newer |= Q(author_id=opinion.author_id, version__gt=opinion.version)
    if opinions and Opinion.objects.filter(newer, case=case).exists():
        raise TransitionRefused(_("An expert is correcting their opinion; wait for the signed correction."),
                                code="opinion_being_corrected")


def approver_wrote_no_opinion(case: Case, ctx: Context) -> None:
    """The leader who approves a conclusion wrote no opinion on the case."""
    if Opinion.objects.filter(case=case, author=ctx.actor).exists():
        raise TransitionRefused(_("You wrote an opinion on this case, so another leader must approve its "
                                  "conclusion."), code="approver_wrote_opinion")
