"""The expert pool: hospitals, specialties and experts. The draw itself comes with its own issue."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from laojian.core.models import Committee, TimeStampedModel


class Category(models.IntegerChoices):
    """The five categories (门类) of GB/T 16180-2014."""

    NEURO = 1, _("neurology, neurosurgery, psychiatry")
    ORTHO = 2, _("orthopaedics, plastic surgery, burns")
    SENSE = 3, _("eye, ENT, stomatology")
    SURGERY = 4, _("general and thoracic surgery, urology")
    OCCUPATIONAL = 5, _("occupational diseases")


class Hospital(TimeStampedModel):
    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="hospitals")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(_("level"), max_length=20, blank=True, help_text=_("e.g. 三级甲等"))

    class Meta:
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        constraints = [models.UniqueConstraint(fields=["committee", "code"], name="hospital_code_unique")]

    def __str__(self) -> str:
        return self.name


class Specialty(models.Model):
    """A clinical specialty (科别) and the GB/T 16180 category it judges by default."""

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50)
    category = models.PositiveSmallIntegerField(_("category"), choices=Category.choices)

    class Meta:
        verbose_name = _("specialty")
        verbose_name_plural = _("specialties")
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return self.name


class Expert(TimeStampedModel):
    """A medical expert of the pool. Each has a user account to sign in and sign opinions."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        RETIRED = "retired", _("retired")

    committee = models.ForeignKey(Committee, verbose_name=_("committee"), on_delete=models.PROTECT,
                                  related_name="experts")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("user account"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="expert")
    name = models.CharField(_("name"), max_length=50)
    hospital = models.ForeignKey(Hospital, verbose_name=_("hospital"), on_delete=models.PROTECT,
                                 related_name="experts")
    specialties = models.ManyToManyField(Specialty, verbose_name=_("specialties"), related_name="experts")
    title = models.CharField(_("title"), max_length=30, help_text=_("e.g. 主任医师"))
    senior_title = models.BooleanField(_("senior title checked"), default=False)
    term_start = models.DateField(_("term starts"))
    term_end = models.DateField(_("term ends"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("expert")
        verbose_name_plural = _("experts")
        constraints = [
            models.CheckConstraint(condition=models.Q(term_end__gte=models.F("term_start")),
                                   name="expert_term_order",
                                   violation_error_message=_("The term cannot end before it starts.")),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hospital})"
