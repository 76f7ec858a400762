"""The personal-information processing notice (个人信息处理告知) shown at intake (SEC-61, PIPL Arts. 13, 17, 35).

The committee processes an application's data under its statutory duty (PIPL Art. 13(1)(3)), so no
consent is asked; the applicant must still be told what is processed, why, who receives it, how long
it is kept and how to exercise their rights. The online application requires ticking that the notice
was read; at the counter the clerk confirms that the printed notice was shown. The version shown is
stored on the case (``Case.notice_version``) with the time it was acknowledged.

Versions are declared here, oldest first, and never edited once released: a changed text is a new
version with a new id (``"YYYY-MM"``), appended to ``NOTICES``. Earlier versions stay, so the case page
and a copy of the worker's data can say exactly what an applicant saw. The last one is the current one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Section:
    heading: Promise
    body: Promise


@dataclass(frozen=True)
class Notice:
    """One released version of the notice."""

    version: str
    effective: dt.date
    title: Promise
    intro: Promise
    sections: tuple[Section, ...]


NOTICES: tuple[Notice, ...] = (
    Notice(
        version="2026-12",
        effective=dt.date(2026, 12, 1),
        title=_("Notice on the processing of personal information"),
        intro=_(
            "The labour-capacity appraisal committee processes the personal information in this application "
            "to carry out its statutory duty of appraisal (Personal Information Protection Law, Art. 13(1)(3)). "
            "No consent is needed for this, but you have the right to know how the information is used."
        ),
        sections=(
            Section(
                _("What is processed"),
                _(
                    "The worker's name, ID number, sex, date of birth, phone number and address; the employer "
                    "and the work-injury determination; the diagnosis, medical records and other materials "
                    "supplied; the applicant's name and phone number; the examination findings and the "
                    "appraisal conclusion. Medical information and the ID number are sensitive personal "
                    "information: they are encrypted when stored and shown only to the people who work on "
                    "the case."
                ),
            ),
            Section(
                _("Why"),
                _(
                    "Only to appraise the worker's labour capacity (and to confirm paid-leave or "
                    "rehabilitation periods) as the Regulations on Work-Related Injury Insurance and the "
                    "Measures for the Administration of Labour-Capacity Appraisal of Injured Workers require, "
                    "to tell the parties about the case, and to keep the appraisal file. The information is "
                    "not used for any other purpose."
                ),
            ),
            Section(
                _("Who receives it"),
                _(
                    "The committee's staff; the medical experts drawn to examine the worker; the "
                    "social-insurance agency, which receives the conclusion to pay the benefits; the "
                    "medical-insurance and health departments and hospitals the committee asks to cross-check "
                    "the medical records; the provincial committee if a re-appraisal is requested. Each "
                    "receives only what its part requires."
                ),
            ),
            Section(
                _("How long it is kept"),
                _(
                    "The appraisal file, with this information, is kept for 50 years as the archive rules "
                    "require, and then destroyed or anonymised. Records of who read or changed it are kept "
                    "for at least three years."
                ),
            ),
            Section(
                _("Your rights"),
                _(
                    "You may ask to see or receive a copy of the worker's personal information, to have "
                    "wrong or incomplete information corrected, and to have its processing explained. Ask "
                    "at the committee's counter or write to the committee: the staff record the request "
                    "and tell you the outcome. You may also complain to the committee's leadership or to "
                    "the cyberspace administration."
                ),
            ),
        ),
    ),
)

_BY_VERSION = {notice.version: notice for notice in NOTICES}


def current() -> Notice:
    """The version shown to applicants now."""
    return NOTICES[-1]


def get(version: str) -> Notice | None:
    """A released version by its id, or None."""
    return _BY_VERSION.get(version)
