"""Pages of the collective discussion (集体讨论): the list of meetings, the convening form, the
meeting page (attendance, agenda, the opinions side by side, recusals, notes, motions and votes,
the decision) and the minutes with their signatures.

Thin: selectors read, services write; an ``ApplicationError`` becomes a message and a
``NotFoundError`` (another committee's meeting) a 404. Auditors read and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError
from laojian.core.http import HttpResponseSeeOther
from laojian.review import forms, selectors, services
from laojian.review.models import AgendaItem, Discussion, Motion, Vote


def _404() -> Http404:
    return Http404(_("No such discussion, or it is not yours to see."))


def _is_partial(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"))


def _discussion_or_404(request: HttpRequest, pk: int) -> Discussion:
    if not selectors.reads_discussions(request.user):
        raise _404()
    try:
        return selectors.discussion_get_for(request.user, pk)
    except NotFoundError:
        raise _404() from None


def _meeting_page(pk: int, anchor: str = "") -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("review:discussion", args=[pk]) + (f"#{anchor}" if anchor else ""))


def _case_label(case: Any) -> str:
    return f"{case.number or '#' + str(case.pk)} · {case.worker.name}"


def _run(request: HttpRequest, pk: int, action: Callable[[], Any], success: str = "", anchor: str = "") -> HttpResponse:
    """Call a service for the meeting page: a refusal becomes a message, a 404 stays a 404."""
    try:
        action()
    except NotFoundError:
        raise _404() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if success:
            messages.success(request, success)
    return _meeting_page(pk, anchor)


# THE LIST AND CONVENING ---------------------------------------------------------------------------

@require_GET
@login_required
def discussions(request: HttpRequest) -> HttpResponse:
    if not selectors.reads_discussions(request.user):
        raise PermissionDenied
    return render(request, "review/discussions.html", {
        "discussions": selectors.discussion_list(request.user),
        "can_convene": request.user.has_perm(selectors.CONVENE),
    })


@require_http_methods(["GET", "POST"])
@login_required
def discussion_new(request: HttpRequest) -> HttpResponse:
    """Convene a meeting; ``?cases=<id>&cases=<id>`` preselects cases from the difficult queue."""
    user = request.user
    if not user.has_perm(selectors.CONVENE) or not user.committee_id:
        raise PermissionDenied
    eligible = list(selectors.eligible_members(user.committee))
    member_choices = [(u.pk, str(u)) for u in eligible if u.pk != user.pk]
    queue = selectors.discussable_cases(user)
    case_choices = [(row.case.pk, _case_label(row.case)) for row in queue]
    if request.method == "POST":
        form = forms.ConveneForm(request.POST, members=member_choices, cases=case_choices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                discussion = services.discussion_convene(actor=user, held_on=data["held_on"], place=data["place"],
                                                         member_ids=data["members"], case_ids=data["cases"])
            except NotFoundError:
                form.add_error("cases", _("No such case, or it is not yours to see."))
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("The collective discussion is convened."))
                return HttpResponseSeeOther(reverse("review:discussion", args=[discussion.pk]))
    else:
        wanted = {int(v) for v in request.GET.getlist("cases") if v.isdigit()}
        form = forms.ConveneForm(initial={"held_on": timezone.localdate(),
                                          "cases": [pk for pk, _label in case_choices if pk in wanted]},
                                 members=member_choices, cases=case_choices)
    return render(request, "review/discussion_new.html", {
        "form": form, "quorum": user.committee.discussion_quorum, "queue": queue,
        "has_cases": bool(case_choices),
    })


# THE MEETING PAGE ---------------------------------------------------------------------------------

def _is_chair(request: HttpRequest, discussion: Discussion) -> bool:
    return request.user.has_perm(selectors.CONVENE) and discussion.convened_by_id == request.user.pk


def _motion_context(request: HttpRequest, discussion: Discussion, item: AgendaItem, motion: Motion,
                    members: list[Any], recused: set[int], chair: bool) -> dict[str, Any]:
    eligible = [m for m in members if m.present and m.pk not in recused]
    votes = {v.member_id: v for v in motion.votes.all()}
    me = next((m for m in eligible if m.user_id == request.user.pk), None)
    writable = (motion.result == Motion.Result.OPEN and discussion.state == Discussion.State.OPEN
                and not selectors.signed(discussion))
    return {
        "discussion": discussion, "item": item, "motion": motion,
        "text": selectors.motion_text(motion),
        "tally": selectors.tally(motion, eligible),
        "rows": [{"member": m, "vote": votes.get(m.pk), "mine": m.user_id == request.user.pk} for m in eligible],
        "can_vote": writable and me is not None and request.user.has_perm(selectors.TAKE_PART),
        "my_vote": votes.get(me.pk) if me else None,
        "chair": chair and writable,
        "choices": Vote.Choice.choices,
    }


@require_GET
@login_required
def discussion(request: HttpRequest, pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    user = request.user
    members = selectors.members(discussion)
    chair = _is_chair(request, discussion)
    me = next((m for m in members if m.user_id == user.pk), None)
    frozen = selectors.signed(discussion)
    is_open = discussion.state == Discussion.State.OPEN
    planned = discussion.state == Discussion.State.PLANNED
    items = []
    for item in selectors.agenda(discussion):
        recusals = list(item.recusals.all())
        recused = {r.member_id for r in recusals}
        eligible = [m for m in members if m.present and m.pk not in recused]
        motions = list(item.motions.all())
        undecided = not item.decision
        open_motion = next((m for m in motions if m.result == Motion.Result.OPEN), None)
        row: dict[str, Any] = {
            "item": item, "case": item.case, "recusals": recusals,
            "comparison": selectors.opinions_side_by_side(item.case),
            "motions": [_motion_context(request, discussion, item, m, members, recused, chair) for m in motions],
            "voters": len(eligible), "quorate": len(eligible) >= discussion.quorum,
            "decision": selectors.decision_text(item) if item.decision else "",
        }
        can_recuse = (planned or is_open) and not frozen and undecided and open_motion is None
        row.update(recusal_form=None, recusal_self=False, notes_form=None, motion_form=None,
                   can_remove=chair and planned)
        if chair and can_recuse:
            row["recusal_form"] = forms.RecusalForm(
                members=[(m.user_id, str(m.user)) for m in members if m.pk not in recused], prefix=f"r{item.pk}")
        elif me is not None and can_recuse and me.pk not in recused:
            row["recusal_self"] = True
            row["recusal_form"] = forms.RecusalForm(members=[(me.user_id, str(me.user))],
                                                    initial={"member": me.user_id}, prefix=f"r{item.pk}")
        if chair and is_open and not frozen:
            row["notes_form"] = forms.NotesForm(initial={"notes": item.notes}, prefix=f"n{item.pk}")
            if undecided and open_motion is None and item.case.status == "difficult":
                row["motion_form"] = forms.MotionForm(prefix=f"m{item.pk}")
        items.append(row)
    context: dict[str, Any] = {
        "discussion": discussion, "members": members, "items": items, "chair": chair, "me": me,
        "frozen": frozen, "present_count": sum(1 for m in members if m.present),
        "signed_count": sum(1 for m in members if m.signed_at),
    }
    if chair and planned:
        invited = [(m.user_id, str(m.user)) for m in members]
        context["open_form"] = forms.OpenForm(members=invited, initial={"present": [pk for pk, _n in invited]})
        on_agenda = {row["case"].pk for row in items}
        candidates = [(r.case.pk, _case_label(r.case)) for r in selectors.discussable_cases(user)
                      if r.case.pk not in on_agenda]
        if candidates:
            context["agenda_form"] = forms.AgendaAddForm(cases=candidates)
    return render(request, "review/discussion.html", context)


def _render_motion(request: HttpRequest, discussion: Discussion, motion_pk: int, error: str = "") -> HttpResponse:
    try:
        motion = selectors.motion_get(discussion, motion_pk)
    except NotFoundError:
        raise _404() from None
    item = motion.item
    item.discussion = discussion
    context = _motion_context(request, discussion, item, motion, selectors.members(discussion),
                              selectors.recused_member_ids(item), _is_chair(request, discussion))
    response = render(request, "review/discussion_motion.html", {**context, "error": error})
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def discussion_motion(request: HttpRequest, pk: int, motion_pk: int) -> HttpResponse:
    """One motion with its votes (HTMX: the chair's page refreshes it while members vote on their devices)."""
    return _render_motion(request, _discussion_or_404(request, pk), motion_pk)


@require_POST
@login_required
def discussion_agenda_add(request: HttpRequest, pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    form = forms.AgendaAddForm(request.POST, cases=[(r.case.pk, _case_label(r.case))
                                                    for r in selectors.discussable_cases(request.user)])
    if not form.is_valid():
        messages.error(request, _("Choose a case."))
        return _meeting_page(discussion.pk)
    return _run(request, discussion.pk,
                lambda: services.agenda_add(discussion.pk, form.cleaned_data["case"], actor=request.user),
                _("The case is on the agenda."), "agenda")


@require_POST
@login_required
def discussion_agenda_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    return _run(request, discussion.pk, lambda: services.agenda_remove(discussion.pk, item_pk, actor=request.user),
                _("The case is off the agenda."), "agenda")


@require_POST
@login_required
def discussion_open(request: HttpRequest, pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    members = [(m.user_id, str(m.user)) for m in selectors.members(discussion)]
    form = forms.OpenForm(request.POST, members=members)
    if not form.is_valid():
        messages.error(request, _("Mark the members present."))
        return _meeting_page(discussion.pk)
    return _run(request, discussion.pk,
                lambda: services.discussion_open(discussion.pk, actor=request.user,
                                                 present_ids=form.cleaned_data["present"]),
                _("The discussion is in session."))


@require_POST
@login_required
def discussion_recuse(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    members = [(m.user_id, str(m.user)) for m in selectors.members(discussion)]
    form = forms.RecusalForm(request.POST, members=members, prefix=f"r{item_pk}")
    if not form.is_valid():
        messages.error(request, _("Choose the member and give the reason for the recusal."))
        return _meeting_page(discussion.pk, f"item-{item_pk}")
    return _run(request, discussion.pk,
                lambda: services.recusal_add(discussion.pk, item_pk, form.cleaned_data["member"], actor=request.user,
                                             reason=form.cleaned_data["reason"]),
                _("The recusal is recorded."), f"item-{item_pk}")


@require_POST
@login_required
def discussion_notes(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    form = forms.NotesForm(request.POST, prefix=f"n{item_pk}")
    if not form.is_valid():
        messages.error(request, _("The notes are too long."))
        return _meeting_page(discussion.pk, f"item-{item_pk}")
    return _run(request, discussion.pk,
                lambda: services.notes_save(discussion.pk, item_pk, actor=request.user,
                                            notes=form.cleaned_data["notes"]),
                _("The notes are saved."), f"item-{item_pk}")


@require_POST
@login_required
def discussion_propose(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    form = forms.MotionForm(request.POST, prefix=f"m{item_pk}")
    if not form.is_valid():
        messages.error(request, _("Some of the information is not valid: %(errors)s")
                       % {"errors": "; ".join(str(e) for errors in form.errors.values() for e in errors)})
        return _meeting_page(discussion.pk, f"item-{item_pk}")
    data = form.cleaned_data
    motion = services.MotionInput(
        decision=data["decision"], clauses=data["clauses"], grade=data["grade"],
        care_level=data["care_level"] or "none", medical_dependency=data["medical_dependency"] or "none",
        months=data["months"], basis=data["basis"], examinations=data["examinations"],
        examinations_where=data["examinations_where"], examinations_by=data["examinations_by"])
    return _run(request, discussion.pk,
                lambda: services.motion_propose(discussion.pk, item_pk, motion, actor=request.user),
                _("The motion is put to the vote."), f"item-{item_pk}")


@require_POST
@login_required
def discussion_vote(request: HttpRequest, pk: int, motion_pk: int) -> HttpResponse:
    """A vote; an HTMX request gets the motion back (the member's device or the chair's page)."""
    discussion = _discussion_or_404(request, pk)
    form = forms.VoteForm(request.POST)
    error = ""
    if not form.is_valid():
        error = _("Vote for, against, or abstain.")
    else:
        try:
            services.vote_cast(discussion.pk, motion_pk, form.cleaned_data["choice"], actor=request.user,
                               member_user_id=form.cleaned_data["member"])
        except NotFoundError:
            raise _404() from None
        except ApplicationError as exc:
            error = exc.message
    if _is_partial(request):
        return _render_motion(request, discussion, motion_pk, error)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("The vote is recorded."))
    return _meeting_page(discussion.pk, f"motion-{motion_pk}")


@require_POST
@login_required
def discussion_motion_close(request: HttpRequest, pk: int, motion_pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    try:
        motion = services.motion_close(discussion.pk, motion_pk, actor=request.user)
    except NotFoundError:
        raise _404() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        if motion.result == Motion.Result.PASSED:
            messages.success(request, _("The motion passed: it is the decision on this case."))
        else:
            messages.warning(request, _("The motion did not pass; another motion may be put."))
    return _meeting_page(discussion.pk, f"motion-{motion_pk}")


# THE MINUTES --------------------------------------------------------------------------------------

@require_GET
@login_required
def discussion_minutes(request: HttpRequest, pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    members = selectors.members(discussion)
    me = next((m for m in members if m.user_id == request.user.pk), None)
    minutes_text = discussion.minutes_text or selectors.minutes_of(discussion).text
    present = [m for m in members if m.present]
    chair = _is_chair(request, discussion)
    is_open = discussion.state == Discussion.State.OPEN
    items = selectors.agenda(discussion)
    return render(request, "review/discussion_minutes.html", {
        "discussion": discussion, "minutes_text": minutes_text, "present": present,
        "draft": not discussion.minutes_sha256,
        "sign_form": forms.SignForm() if is_open and me and me.present and not me.signed_at else None,
        "can_close": chair and is_open and present and all(m.signed_at for m in present),
        "items": items,
    })


@require_POST
@login_required
def discussion_sign(request: HttpRequest, pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    form = forms.SignForm(request.POST)
    minutes = HttpResponseSeeOther(reverse("review:discussion_minutes", args=[discussion.pk]))
    if not form.is_valid():
        messages.error(request, _("Enter your password to sign."))
        return minutes
    try:
        services.minutes_sign(discussion.pk, actor=request.user, password=form.cleaned_data["password"],
                              ip_address=audit.client_ip(request))
    except NotFoundError:
        raise _404() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You have signed the minutes."))
    return minutes


@require_POST
@login_required
def discussion_close(request: HttpRequest, pk: int) -> HttpResponse:
    discussion = _discussion_or_404(request, pk)
    try:
        services.discussion_close(discussion.pk, actor=request.user)
    except NotFoundError:
        raise _404() from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return HttpResponseSeeOther(reverse("review:discussion_minutes", args=[discussion.pk]))
    messages.success(request, _("The discussion is closed; each case's minutes are in its file."))
    return _meeting_page(discussion.pk)


urlpatterns = [
    path("discussions/", discussions, name="discussions"),
    path("discussions/new/", discussion_new, name="discussion_new"),
    path("discussions/<int:pk>/", discussion, name="discussion"),
    path("discussions/<int:pk>/agenda/", discussion_agenda_add, name="discussion_agenda_add"),
    path("discussions/<int:pk>/agenda/<int:item_pk>/remove/", discussion_agenda_remove,
         name="discussion_agenda_remove"),
    path("discussions/<int:pk>/open/", discussion_open, name="discussion_open"),
    path("discussions/<int:pk>/items/<int:item_pk>/recuse/", discussion_recuse, name="discussion_recuse"),
    path("discussions/<int:pk>/items/<int:item_pk>/notes/", discussion_notes, name="discussion_notes"),
    path("discussions/<int:pk>/items/<int:item_pk>/motions/", discussion_propose, name="discussion_propose"),
    path("discussions/<int:pk>/motions/<int:motion_pk>/", discussion_motion, name="discussion_motion"),
    path("discussions/<int:pk>/motions/<int:motion_pk>/vote/", discussion_vote, name="discussion_vote"),
    path("discussions/<int:pk>/motions/<int:motion_pk>/close/", discussion_motion_close,
         name="discussion_motion_close"),
    path("discussions/<int:pk>/minutes/", discussion_minutes, name="discussion_minutes"),
    path("discussions/<int:pk>/minutes/sign/", discussion_sign, name="discussion_sign"),
    path("discussions/<int:pk>/close/", discussion_close, name="discussion_close"),
]
