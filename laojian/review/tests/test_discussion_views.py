"""The collective discussion pages through the Django test client: who may see and do what, the
convening form, the meeting page (opinions side by side, votes with HTMX), the minutes and closing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.documents.models import Document
from laojian.review import services
from laojian.review.models import AgendaItem, Discussion, Motion, Vote
from laojian.review.services import MotionInput
from laojian.review.tests.factories import PASSWORD, diverged_case, leader, meeting, member

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_passwords")]


@pytest.fixture(autouse=True)
def _english(client):
    """Messages are asserted in English: the Chinese catalogue is filled in later."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def auditor(committee):
    return UserFactory(committee=committee, roles=["auditor"])


def propose(discussion, chair) -> Motion:
    item = AgendaItem.objects.get(discussion=discussion)
    return services.motion_propose(discussion.pk, item.pk, MotionInput(decision="second_opinion"), actor=chair)


# WHO SEES WHAT ------------------------------------------------------------------------------------

def test_the_list_is_closed_to_experts(client):
    committee = CommitteeFactory()
    _case, (expert, *_rest) = diverged_case(committee)
    client.force_login(expert)

    assert client.get(reverse("review:discussions")).status_code == 403


def test_the_list_shows_the_committees_meetings_only(client):
    committee = CommitteeFactory()
    mine, chair, _people, _cases = meeting(committee)
    meeting(CommitteeFactory())
    client.force_login(chair)

    response = client.get(reverse("review:discussions"))

    assert [d.pk for d in response.context["discussions"]] == [mine.pk]


def test_another_committees_discussion_is_404(client):
    discussion, _chair, _people, _cases = meeting(CommitteeFactory())
    client.force_login(leader(CommitteeFactory()))

    for name in ("review:discussion", "review:discussion_minutes"):
        assert client.get(reverse(name, args=[discussion.pk])).status_code == 404
    assert client.post(reverse("review:discussion_open", args=[discussion.pk])).status_code == 404


def test_a_reviewer_not_invited_does_not_see_the_meeting(client):
    committee = CommitteeFactory()
    discussion, _chair, _people, _cases = meeting(committee)
    client.force_login(member(committee))

    assert client.get(reverse("review:discussion", args=[discussion.pk])).status_code == 404


def test_an_auditor_reads_the_meeting_without_any_form(client):
    committee = CommitteeFactory()
    discussion, chair, _people, _cases = meeting(committee, open_=True)
    propose(discussion, chair)
    client.force_login(auditor(committee))

    response = client.get(reverse("review:discussion", args=[discussion.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "<form" not in body.split('id="main"')[1]
    assert response.context["items"][0]["motions"][0]["can_vote"] is False


def test_an_auditor_cannot_vote(client):
    committee = CommitteeFactory()
    discussion, chair, _people, _cases = meeting(committee, open_=True)
    motion = propose(discussion, chair)
    client.force_login(auditor(committee))

    response = client.post(reverse("review:discussion_vote", args=[discussion.pk, motion.pk]), {"choice": "for"},
                           follow=True)

    assert "Your role cannot vote in a collective discussion." in messages_of(response)
    assert not Vote.objects.exists()


# CONVENING ----------------------------------------------------------------------------------------

def test_the_convene_form_preselects_the_cases_from_the_difficult_queue(client):
    committee = CommitteeFactory()
    chair = leader(committee)
    first, _panel = diverged_case(committee)
    second, _panel = diverged_case(committee)
    client.force_login(chair)

    response = client.get(reverse("review:discussion_new"), {"cases": [second.pk]})

    form = response.context["form"]
    assert {pk for pk, _label in form.fields["cases"].choices} == {first.pk, second.pk}
    assert form.initial["cases"] == [second.pk]


def test_a_leader_convenes_through_the_form(client):
    committee = CommitteeFactory()
    chair, people = leader(committee), [member(committee), member(committee)]
    case, _panel = diverged_case(committee)
    client.force_login(chair)

    response = client.post(reverse("review:discussion_new"), {
        "held_on": "2026-12-01", "place": "第一会议室", "members": [p.pk for p in people], "cases": [case.pk]})

    discussion = Discussion.objects.get()
    assert response.status_code == 303
    assert response.headers["Location"] == reverse("review:discussion", args=[discussion.pk])
    assert discussion.members.count() == 3


def test_the_convene_form_shows_the_quorum_refusal(client):
    committee = CommitteeFactory(discussion_quorum=3)
    chair, other = leader(committee), member(committee)
    case, _panel = diverged_case(committee)
    client.force_login(chair)

    response = client.post(reverse("review:discussion_new"), {
        "held_on": "2026-12-01", "members": [other.pk], "cases": [case.pk]})

    assert response.status_code == 200
    assert "2 members are invited; the quorum is 3" in response.content.decode()
    assert not Discussion.objects.exists()


def test_a_reviewer_cannot_open_the_convene_form(client):
    client.force_login(member(CommitteeFactory()))

    assert client.get(reverse("review:discussion_new")).status_code == 403


# THE MEETING PAGE ---------------------------------------------------------------------------------

def test_the_meeting_page_marks_the_values_on_which_the_opinions_differ(client):
    committee = CommitteeFactory()
    discussion, chair, _people, _cases = meeting(committee, open_=True)
    client.force_login(chair)

    response = client.get(reverse("review:discussion", args=[discussion.pk]))

    rows = {r["key"]: r for r in response.context["items"][0]["comparison"].rows}
    assert rows["grade"]["cells"] == ["9级", "10级", "10级"]
    assert rows["grade"]["differs"] is True
    assert rows["care_level"]["differs"] is False
    assert response.content.decode().count('class="differs"') == 2  # grade and clauses


def test_a_member_votes_with_htmx_and_gets_the_motion_back(client):
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    motion = propose(discussion, chair)
    client.force_login(people[0])

    response = client.post(reverse("review:discussion_vote", args=[discussion.pk, motion.pk]), {"choice": "against"},
                           HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "review/discussion_motion.html"
    assert Vote.objects.get(motion=motion).choice == Vote.Choice.AGAINST
    assert response.context["tally"].against == 1


def test_the_chair_proposes_records_votes_and_closes_the_vote(client):
    discussion, chair, people, (case,) = meeting(CommitteeFactory(), open_=True)
    item = AgendaItem.objects.get(discussion=discussion)
    client.force_login(chair)

    client.post(reverse("review:discussion_propose", args=[discussion.pk, item.pk]), {
        f"m{item.pk}-decision": "examinations", f"m{item.pk}-examinations": "肌电图",
        f"m{item.pk}-examinations_where": "聊城市人民医院", f"m{item.pk}-examinations_by": "2026-12-20",
        f"m{item.pk}-care_level": "none", f"m{item.pk}-medical_dependency": "none"})
    motion = Motion.objects.get(item=item)
    for user in [chair, *people]:
        client.post(reverse("review:discussion_vote", args=[discussion.pk, motion.pk]),
                    {"choice": "for", "member": user.pk})
    response = client.post(reverse("review:discussion_motion_close", args=[discussion.pk, motion.pk]), follow=True)

    item.refresh_from_db()
    assert item.decision == AgendaItem.Decision.EXAMINATIONS
    assert "The motion passed: it is the decision on this case." in messages_of(response)
    assert [v.recorded_by_id for v in Vote.objects.filter(motion=motion)] == [chair.pk] * 3


def test_a_member_cannot_close_the_vote(client):
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    motion = propose(discussion, chair)
    client.force_login(people[0])

    response = client.post(reverse("review:discussion_motion_close", args=[discussion.pk, motion.pk]), follow=True)

    assert "Only the leader who convened this discussion chairs it." in messages_of(response)
    motion.refresh_from_db()
    assert motion.result == Motion.Result.OPEN


# THE MINUTES --------------------------------------------------------------------------------------

def test_members_sign_the_minutes_and_the_chair_closes_the_discussion(client):
    discussion, chair, people, (case,) = meeting(CommitteeFactory(), open_=True)
    motion = propose(discussion, chair)
    for user in [chair, *people]:
        services.vote_cast(discussion.pk, motion.pk, "for", actor=user)
    services.motion_close(discussion.pk, motion.pk, actor=chair)
    for user in [*people, chair]:
        client.force_login(user)
        client.post(reverse("review:discussion_sign", args=[discussion.pk]), {"password": PASSWORD})

    page = client.get(reverse("review:discussion_minutes", args=[discussion.pk]))
    response = client.post(reverse("review:discussion_close", args=[discussion.pk]))

    assert page.context["can_close"] is True
    assert response.status_code == 303
    discussion.refresh_from_db()
    assert discussion.state == Discussion.State.CLOSED
    assert Document.objects.filter(case=case, kind="discussion_minutes").count() == 1
    assert AuditEvent.objects.filter(action="discussion.minutes_sign").count() == 3


def test_a_wrong_password_does_not_sign(client):
    discussion, chair, people, _cases = meeting(CommitteeFactory(), open_=True)
    client.force_login(people[0])

    response = client.post(reverse("review:discussion_sign", args=[discussion.pk]), {"password": "nope"},
                           follow=True)

    assert "The password is not correct; the minutes were not signed." in messages_of(response)
    assert not discussion.members.exclude(signed_at=None).exists()
