"""Pool management for clerks: experts, training, unavailability, conflicts, hospitals; scoped and audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from laojian.cases.tests.factories import EmployerFactory, WorkerFactory
from laojian.core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from laojian.core.models import AuditEvent
from laojian.core.tests.factories import CommitteeFactory, UserFactory
from laojian.experts import services
from laojian.experts.models import ConflictDeclaration, Expert, Hospital, TrainingRecord, UnavailablePeriod
from laojian.experts.tests.factories import ExpertFactory, HospitalFactory, SpecialtyFactory

pytestmark = pytest.mark.django_db


def pool():
    committee = CommitteeFactory()
    clerk = UserFactory(committee=committee, roles=["clerk"])
    hospital = HospitalFactory(committee=committee, code="H1", name="市人民医院")
    ortho = SpecialtyFactory(code="ortho", name="骨科", category=2)
    return committee, clerk, hospital, ortho


def expert_data(hospital, specialties, **over):
    data = {"name": "张医生", "code": "E001", "hospital": hospital.pk, "specialties": [s.pk for s in specialties],
            "title": "主任医师", "senior_title": True, "term_start": dt.date(2026, 1, 1),
            "term_end": dt.date(2028, 12, 31), "status": "active", "phone": "13900000001"}
    data.update(over)
    return data


# SERVICES ------------------------------------------------------------------------------------------

def test_a_clerk_adds_and_changes_an_expert_and_both_are_audited():
    committee, clerk, hospital, ortho = pool()
    expert = services.expert_save(expert_data(hospital, [ortho]), actor=clerk)
    assert expert.committee == committee
    assert list(expert.specialties.values_list("code", flat=True)) == ["ortho"]
    create = AuditEvent.objects.get(action="experts.expert_create")
    assert create.after["specialties"] == ["ortho"]
    assert create.object_id == str(expert.pk)
    services.expert_save(expert_data(hospital, [ortho], status="suspended"), actor=clerk, expert_id=expert.pk)
    change = AuditEvent.objects.get(action="experts.expert_change")
    assert change.before == {"status": "active"}
    assert change.after == {"status": "suspended"}
    services.expert_save(expert_data(hospital, [ortho], status="suspended"), actor=clerk, expert_id=expert.pk)
    assert AuditEvent.objects.filter(action="experts.expert_change").count() == 1


def test_expert_validation_term_order_specialty_hospital_of_the_committee_and_number():
    committee, clerk, hospital, ortho = pool()
    foreign_hospital = HospitalFactory()
    ExpertFactory(committee=committee, hospital=hospital, code="E001")
    with pytest.raises(ValidationFailed) as exc:
        services.expert_save(expert_data(foreign_hospital, [], term_end=dt.date(2026, 1, 1), code="E001"),
                             actor=clerk)
    assert exc.value.extra["fields"] == {
        "hospital": ["Choose a hospital of this committee."],
        "specialties": ["Choose at least one specialty."],
        "term_end": ["The term must end after it starts."],
        "code": ["This expert number is already in use."],
    }
    assert Expert.objects.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="experts.").exists()


def test_training_unavailability_and_conflicts_are_added_removed_and_audited():
    committee, clerk, hospital, ortho = pool()
    expert = ExpertFactory(committee=committee, hospital=hospital, specialties=[ortho], trained=False)
    t = services.training_add(expert.pk, date=dt.date(2026, 3, 1), topic="标准培训", hours=4, actor=clerk)
    p = services.unavailable_add(expert.pk, start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 10), reason="休假",
                                 actor=clerk)
    worker, employer = WorkerFactory(), EmployerFactory()
    c = services.conflict_add(expert.pk, reason="近亲属", worker_id_number=worker.id_number.lower(),
                              employer_credit_code=employer.credit_code, actor=clerk)
    assert (c.worker, c.employer) == (worker, employer)
    services.training_remove(t.pk, actor=clerk)
    services.unavailable_remove(p.pk, actor=clerk)
    services.conflict_remove(c.pk, actor=clerk)
    assert TrainingRecord.objects.count() == UnavailablePeriod.objects.count() == ConflictDeclaration.objects.count() == 0
    actions = list(AuditEvent.objects.filter(action__startswith="experts.").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["experts.training_add", "experts.unavailable_add", "experts.conflict_add",
                       "experts.training_remove", "experts.unavailable_remove", "experts.conflict_remove"]
    conflict_event = AuditEvent.objects.get(action="experts.conflict_add")
    assert conflict_event.after == {"conflict_id": c.pk, "worker_id": worker.pk, "employer_id": employer.pk,
                                    "reason": "近亲属"}


def test_bad_periods_and_conflicts_are_refused():
    committee, clerk, hospital, ortho = pool()
    expert = ExpertFactory(committee=committee, hospital=hospital, specialties=[ortho])
    with pytest.raises(ValidationFailed) as exc:
        services.unavailable_add(expert.pk, start=dt.date(2026, 12, 10), end=dt.date(2026, 12, 1), actor=clerk)
    assert exc.value.message == "The period cannot end before it starts."
    with pytest.raises(ValidationFailed) as exc:
        services.conflict_add(expert.pk, reason="亲属", actor=clerk)
    assert exc.value.message == "Name the worker or the employer the conflict is with."
    with pytest.raises(ValidationFailed) as exc:
        services.conflict_add(expert.pk, reason="亲属", worker_id_number=WorkerFactory.build().id_number, actor=clerk)
    assert exc.value.message == "No worker with this ID number is registered."
    assert ConflictDeclaration.objects.count() == 0


def test_another_committees_expert_is_not_found_and_a_reviewer_may_not_manage():
    committee, clerk, hospital, ortho = pool()
    other = ExpertFactory(specialties=[ortho])
    with pytest.raises(NotFoundError):
        services.training_add(other.pk, date=dt.date(2026, 3, 1), topic="x", hours=1, actor=clerk)
    with pytest.raises(NotFoundError):
        services.expert_save(expert_data(hospital, [ortho]), actor=clerk, expert_id=other.pk)
    reviewer = UserFactory(committee=committee, roles=["reviewer"])
    with pytest.raises(PermissionDeniedError):
        services.hospital_save({"code": "H9", "name": "九院"}, actor=reviewer)


def test_hospitals_are_added_and_changed_with_unique_codes():
    committee, clerk, hospital, _ortho = pool()
    h = services.hospital_save({"code": "H2", "name": "二院", "level": "三级甲等"}, actor=clerk)
    with pytest.raises(ValidationFailed) as exc:
        services.hospital_save({"code": "H1", "name": "重复"}, actor=clerk)
    assert exc.value.extra["fields"] == {"code": ["Another hospital of this committee has this code."]}
    services.hospital_save({"code": "H2", "name": "第二人民医院", "level": "三级甲等"}, actor=clerk, hospital_id=h.pk)
    assert Hospital.objects.get(pk=h.pk).name == "第二人民医院"
    change = AuditEvent.objects.get(action="experts.hospital_change")
    assert change.before["name"] == "二院" and change.after["name"] == "第二人民医院"


# PAGES ---------------------------------------------------------------------------------------------

def test_the_pool_list_searches_by_name_hospital_specialty_status_and_term_end(client):
    committee, clerk, hospital, ortho = pool()
    eye = SpecialtyFactory(code="eye", name="眼科", category=3)
    h2 = HospitalFactory(committee=committee, code="H2")
    a = ExpertFactory(committee=committee, hospital=hospital, specialties=[ortho], name="王甲")
    b = ExpertFactory(committee=committee, hospital=h2, specialties=[eye], name="李乙", status="retired",
                      term_end=dt.date(2026, 6, 30))
    foreign = ExpertFactory(specialties=[ortho], name="外委丙")
    client.force_login(clerk)
    url = reverse("experts:pool_list")
    page = client.get(url).content.decode()
    assert a.name in page and b.name in page and foreign.name not in page
    for query, shown, hidden in [({"q": "王"}, a, b), ({"hospital": h2.pk}, b, a), ({"specialty": ortho.pk}, a, b),
                                 ({"status": "retired"}, b, a), ({"term_end_before": "2026-12-31"}, b, a)]:
        page = client.get(url, query).content.decode()
        assert shown.name in page and hidden.name not in page, query


def test_the_expert_form_adds_an_expert_and_shows_errors_next_to_fields(client):
    committee, clerk, hospital, ortho = pool()
    client.force_login(clerk)
    url = reverse("experts:expert_new")
    response = client.post(url, {"name": "赵医生", "hospital": hospital.pk, "title": "主任医师",
                                 "term_start": "2026-01-01", "term_end": "2025-12-31", "status": "active"})
    assert response.status_code == 200
    page = response.content.decode()
    assert Expert.objects.count() == 0
    assert "field-error" in page
    response = client.post(url, {"name": "赵医生", "hospital": hospital.pk, "title": "主任医师",
                                 "specialties": [ortho.pk], "term_start": "2026-01-01", "term_end": "2028-12-31",
                                 "status": "active"})
    expert = Expert.objects.get()
    assert response.status_code == 303
    assert response["Location"] == reverse("experts:expert_detail", args=[expert.pk])
    assert client.get(response["Location"]).status_code == 200


def test_the_expert_page_adds_and_removes_training_periods_and_conflicts(client):
    committee, clerk, hospital, ortho = pool()
    expert = ExpertFactory(committee=committee, hospital=hospital, specialties=[ortho], trained=False)
    worker = WorkerFactory()
    client.force_login(clerk)
    back = reverse("experts:expert_detail", args=[expert.pk])
    r = client.post(reverse("experts:training_add", args=[expert.pk]),
                    {"training-date": "2026-03-01", "training-topic": "政策培训", "training-hours": "4"})
    assert r.status_code == 303 and r["Location"] == back
    client.post(reverse("experts:unavailable_add", args=[expert.pk]),
                {"period-start": "2026-12-01", "period-end": "2026-12-03", "period-reason": "出差"})
    client.post(reverse("experts:conflict_add", args=[expert.pk]),
                {"conflict-worker_id_number": worker.id_number, "conflict-reason": "曾为其主治医生"})
    page = client.get(back).content.decode()
    assert "政策培训" in page and "出差" in page and "曾为其主治医生" in page
    assert worker.id_number not in page  # masked
    t = TrainingRecord.objects.get()
    assert client.post(reverse("experts:training_remove", args=[t.pk])).status_code == 303
    assert TrainingRecord.objects.count() == 0
    assert UnavailablePeriod.objects.count() == 1 and ConflictDeclaration.objects.count() == 1


def test_pool_pages_are_404_for_another_committees_expert_and_for_a_leader(client):
    committee, clerk, hospital, ortho = pool()
    foreign = ExpertFactory(specialties=[ortho])
    foreign_training = TrainingRecord.objects.get(expert=foreign)
    client.force_login(clerk)
    assert client.get(reverse("experts:expert_detail", args=[foreign.pk])).status_code == 404
    assert client.post(reverse("experts:training_add", args=[foreign.pk]),
                       {"training-date": "2026-03-01", "training-topic": "x", "training-hours": "1"}).status_code == 404
    assert client.post(reverse("experts:training_remove", args=[foreign_training.pk])).status_code == 404
    assert client.get(reverse("experts:hospital_edit", args=[foreign.hospital_id])).status_code == 404
    assert TrainingRecord.objects.filter(expert=foreign).count() == 1
    leader = UserFactory(committee=committee, roles=["leader"])
    client.force_login(leader)
    assert client.get(reverse("experts:pool_list")).status_code == 404
    assert client.get(reverse("experts:batch_draw")).status_code == 200


def test_the_hospital_pages_add_and_edit(client):
    committee, clerk, hospital, _ortho = pool()
    client.force_login(clerk)
    r = client.post(reverse("experts:hospitals"), {"code": "H2", "name": "二院", "level": ""})
    assert r.status_code == 303
    h = Hospital.objects.get(code="H2")
    r = client.post(reverse("experts:hospital_edit", args=[h.pk]), {"code": "H1", "name": "二院", "level": ""})
    assert r.status_code == 200
    assert "field-error" in r.content.decode()
    r = client.post(reverse("experts:hospital_edit", args=[h.pk]), {"code": "H2", "name": "第二医院", "level": ""})
    assert r.status_code == 303
    assert Hospital.objects.get(pk=h.pk).name == "第二医院"
    page = client.get(reverse("experts:hospitals")).content.decode()
    assert "第二医院" in page and hospital.name in page


# OPTIMISTIC LOCKING ---------------------------------------------------------------------------------

def test_a_stale_expert_form_is_refused_and_the_other_change_survives():
    committee, clerk, hospital, ortho = pool()
    expert = services.expert_save(expert_data(hospital, [ortho]), actor=clerk)
    other = UserFactory(committee=committee, roles=["clerk"], username="li")
    services.expert_save(expert_data(hospital, [ortho], phone="13900000002", version=1), actor=other,
                         expert_id=expert.pk)
    with pytest.raises(ConflictError) as refused:
        services.expert_save(expert_data(hospital, [ortho], title="副主任医师", version=1), actor=clerk,
                             expert_id=expert.pk)
    assert refused.value.code == "stale_version"
    expert.refresh_from_db()
    assert (expert.phone, expert.title, expert.version) == ("13900000002", "主任医师", 2)


def test_a_form_filled_in_against_the_current_version_saves_and_moves_the_version_on():
    _committee, clerk, hospital, ortho = pool()
    expert = services.expert_save(expert_data(hospital, [ortho]), actor=clerk)
    services.expert_save(expert_data(hospital, [ortho], title="副主任医师", version=1), actor=clerk, expert_id=expert.pk)
    expert.refresh_from_db()
    assert (expert.title, expert.version) == ("副主任医师", 2)


def test_the_stale_expert_page_names_who_changed_it_and_keeps_what_was_typed(client):
    committee, clerk, hospital, ortho = pool()
    expert = services.expert_save(expert_data(hospital, [ortho]), actor=clerk)
    other = UserFactory(committee=committee, roles=["clerk"], username="li", display_name="李科员")
    services.expert_save(expert_data(hospital, [ortho], phone="13900000002", version=1), actor=other,
                         expert_id=expert.pk)
    client.force_login(clerk)
    data = expert_data(hospital, [ortho], title="副主任医师", version=1)
    data.update(term_start="2026-01-01", term_end="2028-12-31")
    response = client.post(reverse("experts:expert_detail", args=[expert.pk]), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "while you were editing" in page and str(other) in page
    assert 'value="副主任医师"' in page
    assert Expert.objects.get(pk=expert.pk).title == "主任医师"


def test_a_stale_hospital_form_is_refused_on_the_page(client):
    committee, clerk, hospital, _ortho = pool()
    client.force_login(clerk)
    services.hospital_save({"code": "H1", "name": "市人民医院（新址）", "level": ""}, actor=clerk, hospital_id=hospital.pk)
    response = client.post(reverse("experts:hospital_edit", args=[hospital.pk]),
                           {"code": "H1", "name": "市一院", "level": "", "version": 1})
    assert response.status_code == 200
    assert Hospital.objects.get(pk=hospital.pk).name == "市人民医院（新址）"


def test_the_edit_forms_carry_the_version_they_were_filled_in_against(client):
    committee, clerk, hospital, ortho = pool()
    expert = services.expert_save(expert_data(hospital, [ortho]), actor=clerk)
    client.force_login(clerk)
    page = client.get(reverse("experts:expert_detail", args=[expert.pk])).content.decode()
    assert 'name="version" value="1"' in page
    assert 'name="version" value="1"' in client.get(reverse("experts:hospital_edit", args=[hospital.pk])).content.decode()
