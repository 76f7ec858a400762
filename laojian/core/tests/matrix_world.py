"""The world the permission-matrix test walks the URLs in (issue 10).

Committee A is the demo city (built through the real services, a small one), so every case state,
its documents, sittings, sources, flags and notifications exist the way real use makes them. On top
of it: the objects the demo does not make (a draw, an opinion, a delivery, an archive package, a
letter, ...) on the one *main case*, whose owner is the demo applicant and whose panel holds the
demo expert; committee B with one user who is its clerk and leader; and an expert of committee A who
sits on none of the cases used; and an applicant who owns another case of committee A.

``build()`` returns a :class:`World`: the principals (user per name) and, per object kind of the
matrix, the URL keyword arguments that name the object.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from laojian.cases.models import Case, CaseAssignment, Material, MaterialType, Mode, Sensitivity, Status
from laojian.core.models import User
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.crosscheck import partners
from laojian.crosscheck.models import ClaimedCare, Flag, ImportRun, Letter, Source
from laojian.demo import city
from laojian.documents import values as document_values
from laojian.documents.models import ArchivePackage, Delivery, Document, Kind, Template
from laojian.experts.models import (
    ConflictDeclaration,
    Draw,
    Expert,
    Panel,
    PanelMember,
    TrainingRecord,
    UnavailablePeriod,
)
from laojian.grading import services as grading_services
from laojian.grading.models import Conclusion
from laojian.grading.tests.factories import opinion_input
from laojian.notify.models import Notification
from laojian.review.models import AgendaItem, Discussion, Member, Motion, Reappraisal
from laojian.sittings.models import (
    Appointment,
    CalendarFeed,
    ExaminationRecord,
    ExtraExamination,
    RosterEntry,
    Sitting,
    SittingGroup,
)

TODAY = dt.date(2026, 11, 27)
DEMO_CASES = 20
# The roles that sign in, each a principal of the matrix (``system`` cannot sign in).
ROLE_PRINCIPALS = ("applicant", "clerk", "reviewer", "expert", "leader", "archivist", "liaison", "auditor",
                   "admin", "security")
PRINCIPALS = ("anonymous", *ROLE_PRINCIPALS, "other_committee", "unassigned_expert", "other_applicant")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    users: dict[str, User | None]
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    case: Case | None = None
    values: dict[str, Any] = field(default_factory=dict)  # what the matrix's POST data names as {name}
    sessions: dict[str, str] = field(default_factory=dict)  # principal -> session key (set by the test)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build() -> World:
    report = city.build(today=TODAY, count=DEMO_CASES)
    committee = report.committee
    users: dict[str, User | None] = {"anonymous": None}
    for code in ROLE_PRINCIPALS:
        users[code] = User.objects.get(username=code)
    clerk, leader = users["clerk"], users["leader"]
    expert_user = users["expert"]
    expert = Expert.objects.get(user=expert_user)

    other = CommitteeFactory()
    users["other_committee"] = UserFactory(committee=other, roles=["clerk", "leader"], password=None)

    # THE MAIN CASE: examined, normal label, owned by the demo applicant, the demo expert on its panel.
    case = (Case.objects.filter(committee=committee, status=Status.EXAMINED).order_by("pk").first()
            or Case.objects.filter(committee=committee).order_by("pk").first())
    Case.objects.filter(pk=case.pk).update(applicant_user=users["applicant"], sensitivity=Sensitivity.NORMAL)
    case.refresh_from_db()
    CaseAssignment.objects.get_or_create(case=case, user=expert_user, role=CaseAssignment.Role.EXPERT,
                                         defaults={"active": True})
    CaseAssignment.objects.filter(case=case, user=expert_user).update(active=True)
    # A second case on the expert's panel, for a draft opinion (the main case gets a signed one).
    second = (Case.objects.filter(committee=committee, status=Status.EXAMINED).exclude(pk=case.pk).order_by("pk")
              .first())
    Case.objects.filter(pk=second.pk).update(sensitivity=Sensitivity.NORMAL)
    CaseAssignment.objects.get_or_create(case=second, user=expert_user, role=CaseAssignment.Role.EXPERT,
                                         defaults={"active": True})
    CaseAssignment.objects.filter(case=second, user=expert_user).update(active=True)

    # An applicant of another case of the same committee.
    users["other_applicant"] = UserFactory(committee=committee, roles=["applicant"], password=None)
    theirs = (Case.objects.filter(committee=committee).exclude(pk__in=[case.pk, second.pk]).order_by("pk")
              .values_list("pk", flat=True).first())
    Case.objects.filter(pk=theirs).update(applicant_user=users["other_applicant"])

    # An expert of the same committee on no panel of the cases used here.
    assigned = set(CaseAssignment.objects.filter(active=True).values_list("user_id", flat=True))
    lone = (Expert.objects.filter(committee=committee).exclude(user=expert_user).exclude(user_id__in=assigned)
            .select_related("user").order_by("pk").first())
    users["unassigned_expert"] = lone.user

    now = timezone.now()
    objects: dict[str, dict[str, Any]] = {}
    objects["case"] = {"pk": case.pk, "case_id": case.pk, "case_pk": case.pk}

    # Materials.
    material = Material.objects.filter(case=case).first()
    if material is None:
        material_type = MaterialType.objects.filter(case_type=case.case_type).order_by("pk").first()
        material = Material(case=case, material_type=material_type, original_name="scan.pdf",
                            content_type="application/pdf", size=len(PDF), sha256=_sha(PDF),
                            uploaded_by=clerk, uploaded_at=now)
        material.file.save("scan.pdf", ContentFile(PDF), save=False)
        material.save()
    objects["material"] = {"pk": case.pk, "material_pk": material.pk}

    # Expert pool.
    panel = Panel.objects.create(case=case, committee=committee, size=3, sitting_date=TODAY, created_by=clerk)
    draw = Draw.objects.create(panel=panel, committee=committee, algorithm="matrix-test", record_hash="0" * 64,
                               seed_hash="0" * 64, drawn_at=now, drawn_by=clerk,
                               spec={"candidates": [[expert.pk, expert.hospital_id, ["ortho"], 0, 1]],
                                     "excluded": [], "ineligible": []},
                               result=[{"expert": expert.pk, "slot": 1}], warnings=[])
    member = PanelMember.objects.create(panel=panel, expert=expert, draw=draw, drawn_at=now)
    objects["draw"] = {"pk": draw.pk}
    objects["member"] = {"member_id": member.pk}
    objects["expert"] = {"pk": expert.pk}
    objects["hospital"] = {"pk": expert.hospital_id}
    objects["training"] = {"pk": TrainingRecord.objects.filter(expert=expert).first().pk}
    objects["unavailable"] = {"pk": UnavailablePeriod.objects.create(
        expert=expert, start=TODAY + dt.timedelta(days=60), end=TODAY + dt.timedelta(days=61)).pk}
    objects["conflict"] = {"pk": ConflictDeclaration.objects.create(expert=expert, worker=case.worker,
                                                                     reason="亲属").pk}

    # Grading.
    opinion = grading_services.opinion_start(case.pk, actor=expert_user)
    grading_services.opinion_save(opinion.pk, opinion_input(), actor=expert_user)
    opinion = grading_services.opinion_sign(opinion.pk, actor=expert_user, password=settings.LAOJIAN_DEMO_PASSWORD)
    objects["opinion"] = {"pk": opinion.pk}
    # A drafted conclusion waiting for the leader's approval (as when the panel's opinions agree).
    Conclusion.objects.create(case=case, committee=committee, edition=opinion.edition, grade=10,
                              clauses=["5.10.2(12)"], basis="依据查体及影像资料")
    draft = grading_services.opinion_start(second.pk, actor=expert_user)
    grading_services.opinion_save(draft.pk, opinion_input(), actor=expert_user)
    objects["draft_opinion"] = {"pk": draft.pk}

    # Collective discussion: the demo's meeting, with the main case put on its agenda.
    discussion = Discussion.objects.filter(committee=committee).order_by("pk").first()
    item = AgendaItem.objects.create(discussion=discussion, case=case, position=9)
    motion = Motion.objects.create(item=item, decision=AgendaItem.Decision.CONCLUDE, proposed_by=leader, grade=10)
    objects["discussion"] = {"pk": discussion.pk}
    objects["agenda_item"] = {"pk": discussion.pk, "item_pk": item.pk}
    objects["motion"] = {"pk": discussion.pk, "motion_pk": motion.pk}
    # A meeting under way (open, the leader in the chair, the reviewer present), with a vote open on
    # the second case: where voting and signing the minutes are decided by who may, not by the state.
    meeting = Discussion.objects.create(committee=committee, held_on=TODAY, place="第二会议室",
                                        state=Discussion.State.OPEN, quorum=2, convened_by=leader, opened_at=now)
    for present in (leader, users["reviewer"]):
        Member.objects.create(discussion=meeting, user=present, present=True)
    meeting_item = AgendaItem.objects.create(discussion=meeting, case=second, position=1)
    vote = Motion.objects.create(item=meeting_item, decision=AgendaItem.Decision.CONCLUDE, proposed_by=leader,
                                 grade=10)
    objects["open_discussion"] = {"pk": meeting.pk}
    objects["open_motion"] = {"pk": meeting.pk, "motion_pk": vote.pk}
    Reappraisal.objects.create(case=case, committee=committee, requested_on=TODAY, party="worker",
                               requester_name=case.worker.name, grounds="不服", recorded_by=clerk)

    # Appraisal modes: the main case's worker signed in at a sitting today, in a room of its panel
    # group (the live appointment every appointment action works on).
    sitting = Sitting.objects.filter(committee=committee, groups__isnull=False).order_by("pk").first()
    group = SittingGroup.objects.filter(sitting=sitting).order_by("pk").first()
    Appointment.objects.filter(case=case, state__in=Appointment.LIVE).update(state=Appointment.State.CANCELLED)
    appointment = Appointment.objects.create(
        case=case, committee=committee, mode=Mode.SITTING, state=Appointment.State.CHECKED_IN,
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=1), place="鉴定中心",
        sitting=sitting, group=group, queue_number=99, checked_in_at=now, checked_in_by=clerk, created_by=clerk)
    objects["appointment"] = {"pk": appointment.pk}
    remote = Appointment.objects.create(
        case=case, committee=committee, mode=Mode.REMOTE, state=Appointment.State.CANCELLED,
        starts_at=now + dt.timedelta(days=4), ends_at=now + dt.timedelta(days=4, hours=1), place="远程",
        video_room="https://meet.laojian.invalid/matrix", created_by=clerk)
    objects["remote_appointment"] = {"pk": remote.pk}
    objects["sitting"] = {"pk": sitting.pk}
    objects["desk_appointment"] = {"pk": sitting.pk, "appointment_pk": appointment.pk}
    objects["group"] = {"group_pk": group.pk}
    objects["group_appointment"] = {"group_pk": group.pk, "pk": appointment.pk}
    objects["screen"] = {"token": sitting.screen_token}
    objects["roster"] = {"pk": RosterEntry.objects.filter(committee=committee).order_by("pk").first().pk}
    objects["examination"] = {"pk": ExtraExamination.objects.create(
        case=case, appointment=appointment, what="肌电图", where="市人民医院", due=TODAY + dt.timedelta(days=10),
        ordered_by=clerk).pk}
    record = ExaminationRecord(case=case, appointment=appointment, original_name="photo.pdf",
                               content_type="application/pdf", size=len(PDF), sha256=_sha(PDF),
                               uploaded_by=clerk, uploaded_at=now)
    record.file.save("photo.pdf", ContentFile(PDF), save=False)
    record.save()
    objects["record"] = {"pk": record.pk}
    objects["feed"] = {"token": CalendarFeed.objects.create(user=expert_user).token}

    # Cross-checks.
    care = ClaimedCare.objects.filter(case=case).first() or ClaimedCare.objects.create(
        case=case, hospital_name="市人民医院", started_on=dt.date(2026, 3, 2), entered_by=clerk)
    objects["care"] = {"pk": case.pk, "care_pk": care.pk}
    flag = Flag.objects.filter(committee=committee).order_by("pk").first()
    Flag.objects.filter(pk=flag.pk).update(case=case)
    objects["flag"] = {"pk": flag.pk}
    letter = Letter.objects.create(case=case, department="医保局", sent_on=TODAY, sent_by=users["liaison"])
    letter.flags.add(flag)
    objects["letter"] = {"pk": letter.pk}
    source = Source.objects.filter(committee=committee).order_by("pk").first()
    objects["source"] = {"pk": source.pk, "source_id": source.pk}
    run = ImportRun.objects.filter(source__committee=committee).order_by("pk").first()
    if not run.stored_file:
        ImportRun.objects.filter(pk=run.pk).update(stored_file=f"matrix/run-{run.pk}.csv")
        run.refresh_from_db()
    report = partners.report_path(run)
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("line,reason\n2,bad\n", encoding="utf-8")
    objects["import"] = {"pk": run.pk}

    # Documents: a conclusion letter of the main case, its delivery, an archive package.
    template = Template.objects.filter(kind=Kind.CONCLUSION).order_by("pk").first()
    document = Document(case=case, committee=committee, kind=Kind.CONCLUSION, number="测〔2026〕1号",
                        title="鉴定结论书", template=template, sha256=_sha(PDF), signer="none",
                        verify_code="MATRIXTEST01", issued_on=TODAY, issued_by=leader,
                        values=document_values.case_values(case))  # what a reprint renders from
    document.file.save("letter.pdf", ContentFile(PDF), save=False)
    document.save()
    objects["document"] = {"case_pk": case.pk, "pk": document.pk}
    objects["verify"] = {"code": document.verify_code}
    delivery = Delivery(document=document, case=case, recipient=case.worker.name, method="post",
                        sent_on=TODAY, recorded_by=clerk)
    delivery.receipt.save("receipt.pdf", ContentFile(PDF), save=False)
    delivery.receipt_sha256 = _sha(PDF)
    delivery.save()
    objects["delivery"] = {"case_pk": case.pk, "delivery_pk": delivery.pk}
    package = ArchivePackage(case=case, committee=committee, archived_on=TODAY,
                             retain_until=TODAY + dt.timedelta(days=365 * 50), sha256=_sha(PDF),
                             created_by=users["archivist"])
    package.file.save("package.zip", ContentFile(PDF), save=False)
    package.save()
    objects["archive"] = {"pk": package.pk}

    notification = Notification.objects.filter(committee=committee).order_by("pk").first() or Notification.objects.create(
        committee=committee, case=case, channel="sms", recipient="13800000000", template="matrix", text="测试",
        key="matrix-test")
    objects["notification"] = {"pk": notification.pk}
    # Values the matrix's POST data refers to as {name}.
    discussion_member = Member.objects.filter(discussion=discussion).order_by("pk").values_list("user_id", flat=True).first()
    values = {"material_type": material.material_type_id, "case_version": case.version,
              "care_version": care.version, "discussion_member": discussion_member, "second_case": second.pk,
              "item": item.pk}
    return World(users=users, objects=objects, case=case, values=values)
