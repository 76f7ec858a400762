"""The roles of domain.md as groups with named permissions.

This module is the one declaration; ``sync_groups`` makes the database match it after every
migrate. A user may hold several roles (a small committee may have one person as clerk and
archivist), but the workflow's separation-of-duties guards still apply per case.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    permissions: tuple[str, ...]
    staff: bool = True  # committee staff see their committee's cases; others only what they are assigned
    sign_in: bool = True  # False: held only by the committee's own account for automatic steps


CASE = "cases."
# Sensitivity labels (cases.Sensitivity): who sees a labelled case without being assigned to it. Clerks
# see a labelled case only when they work on it; the system administrator never.
LABELLED = (CASE + "view_sensitive_cases", CASE + "view_restricted_cases")
# The expert pool and the panel draw (laojian/experts).
EXPERTS_DRAW = ("experts.draw_panel", "experts.view_draw", "experts.view_fairness")
GRADING_READ = ("grading.view_panel_opinions",)
# The statistics pages and periodic reports (laojian/reports).
STATISTICS = ("reports.view_statistics",)
DOCUMENTS = ("documents.issue_document", "documents.reprint_document")
# Scheduling the four appraisal modes and running the day (laojian/sittings).
SITTINGS = ("sittings.plan_sitting", "sittings.run_sign_in_desk", "sittings.view_sitting")
EXPERTS_POOL = (
    "experts.manage_pool",
    *(f"experts.{verb}_{model}" for model in ("hospital", "expert", "trainingrecord", "unavailableperiod",
                                               "conflictdeclaration")
      for verb in ("view", "add", "change")),
    "experts.delete_unavailableperiod",
)

ROLES: dict[str, Role] = {
    role.code: role
    for role in (
        Role("applicant", _("Applicant"), (CASE + "submit_case", CASE + "withdraw_case",
                                            "crosscheck.enter_claimed_care"), staff=False),
        # The committee's own account for steps the rules take by themselves (see cases.services.system_actor).
        Role("system", _("Automatic rules"), (CASE + "view_committee_cases", *LABELLED, CASE + "mark_difficult",
                                               CASE + "reject_case"), sign_in=False),
        Role(
            "clerk",
            _("Clerk"),
            tuple(
                CASE + p
                for p in (
                    "view_committee_cases", "view_medical", "register_case", "submit_case",
                    "request_correction", "accept_case", "reject_case", "schedule_case",
                    "record_examination", "deliver_case", "withdraw_case", "terminate_case", "answer_return",
                    "handle_rights_request",
                )
            )
            + EXPERTS_DRAW
            + ("review.record_reappraisal", "crosscheck.enter_claimed_care", "crosscheck.view_flag")
            + EXPERTS_POOL
            + GRADING_READ
            + ("grading.request_extension", "documents.record_delivery")
            + DOCUMENTS
            + SITTINGS
            + STATISTICS,
        ),
        Role(
            "reviewer",
            _("Reviewer"),
            tuple(CASE + p for p in ("view_committee_cases", "view_sensitive_cases", "view_medical", "review_case",
                                     "mark_difficult"))
            + GRADING_READ
            + ("review.take_part_in_discussion", "crosscheck.view_flag")
            + STATISTICS,
        ),
        Role("expert", _("Expert"), (CASE + "view_medical", CASE + "record_examination", "grading.write_opinion",
                                     "grading.request_extension"), staff=False),
        Role(
            "leader",
            _("Committee leader"),
            tuple(
                CASE + p
                for p in (
                    "view_committee_cases", "view_sensitive_cases", "view_restricted_cases", "label_case",
                    "view_medical", "mark_difficult", "conclude_case", "approve_extension", "terminate_case",
                    "handle_rights_request",
                )
            )
            + EXPERTS_DRAW
            + GRADING_READ
            + ("grading.request_extension", "documents.manage_templates", "sittings.view_sitting")
            + DOCUMENTS
            + ("review.convene_discussion", "review.take_part_in_discussion", "review.record_reappraisal",
               "crosscheck.view_flag", "crosscheck.override_flags")
            + STATISTICS
            + ("reports.view_calibration",),
        ),
        Role("archivist", _("Archivist"), (CASE + "view_committee_cases", *LABELLED, CASE + "archive_case",
                                            "documents.reprint_document", "documents.view_archive")),
        Role("liaison", _("Cross-check liaison"), (CASE + "view_committee_cases", CASE + "view_sensitive_cases",
                                                    "crosscheck.view_flag",
                                                    "crosscheck.work_flags", "crosscheck.manage_sources",
                                                    "crosscheck.enter_claimed_care", "documents.issue_document")),
        Role("auditor", _("Auditor"), ("core.view_auditevent", "cases.view_breakglassgrant", CASE + "view_committee_cases", *LABELLED,
                                        "review.view_discussion",
                                        "experts.view_draw", "experts.view_fairness", *GRADING_READ,
                                        "documents.view_archive", *STATISTICS)),
        Role(
            "admin",
            _("System administrator"),
            ("core.view_committee", "core.change_committee", "core.view_user", "core.add_user", "core.change_user",
             "core.view_calendarday", "core.add_calendarday", "core.change_calendarday", "core.delete_calendarday",
             "core.view_calendaryear", "core.add_calendaryear", "core.change_calendaryear",
             *(f"experts.{verb}_{model}" for model in ("hospital", "specialty", "expert")
               for verb in ("view", "add", "change")),
             *EXPERTS_POOL, "experts.view_categoryspecialty", "experts.add_categoryspecialty",
             "experts.change_categoryspecialty", "experts.delete_categoryspecialty", "experts.view_drawrules",
             "experts.add_drawrules", "experts.change_drawrules", "experts.view_fairness",
             *(f"cases.{verb}_materialtype" for verb in ("view", "add", "change")),
             CASE + "view_committee_cases", "notify.view_notification", "notify.change_notification",
             "grading.view_edition", "grading.view_clause", "grading.view_gradeprinciple",
             *(f"grading.{verb}_{model}" for model in ("gradingrules", "leaveperiod")
               for verb in ("view", "add", "change")), "grading.delete_leaveperiod", "documents.manage_templates",
             *(f"sittings.{verb}_schedulingrules" for verb in ("view", "add", "change")),
             # No medical content by role; one case for LAOJIAN_BREAK_GLASS_MINUTES with a logged reason.
             "cases.break_glass"),
        ),
        # The three administrators are separate people (MLPS 三权分立): the system administrator runs
        # the system, the security administrator gives roles, the auditor reads the trail.
        Role("security", _("Security administrator"), ("core.view_user", "core.change_user", "core.assign_roles",
                                                        "core.reset_second_factor", "cases.view_breakglassgrant")),
    )
}

# No one account holds two of these (``check_separation``): whoever gives roles must not read the
# audit trail that records it, nor run the system it protects.
ADMINISTRATORS = ("admin", "security", "auditor")


def check_separation(role_codes: set[str] | list[str]) -> None:
    """Refuse a set of roles that joins two of the administrators in one account."""
    from laojian.core.errors import ValidationFailed

    held = [code for code in ADMINISTRATORS if code in set(role_codes)]
    if len(held) > 1:
        raise ValidationFailed(_("One account cannot be both %(first)s and %(second)s: the system, security and "
                                 "audit administrators are separate people.")
                               % {"first": ROLES[held[0]].label, "second": ROLES[held[1]].label},
                               code="roles_not_separated")


def role_choices() -> list[tuple[str, str]]:
    return [(r.code, r.label) for r in ROLES.values() if r.sign_in]


def user_role_codes(user) -> set[str]:
    """The role codes a user holds (cached on the user object for the request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_laojian_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES.keys()).values_list("name", flat=True))
        user._laojian_roles = cached
    return cached


def sync_groups() -> None:
    """Create or update one group per role with exactly the declared permissions."""
    from django.contrib.auth.models import Group, Permission

    for role in ROLES.values():
        group, _created = Group.objects.get_or_create(name=role.code)
        wanted = []
        for dotted in role.permissions:
            app_label, codename = dotted.split(".", 1)
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is None:
                raise LookupError(f"Role {role.code!r} names unknown permission {dotted!r}")
            wanted.append(perm)
        group.permissions.set(wanted)


def sync_groups_after_migrate(sender, **kwargs) -> None:
    # Permissions of every app exist only after all post_migrate handlers of auth have run;
    # create them explicitly so the order of apps does not matter.
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=kwargs.get("using", "default"))
    sync_groups()
