"""Statistics keep nothing of their own: every figure is an aggregate query over the cases (the
working-day calendar they subtract is ``core.WorkdayOrdinal``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Statistics(models.Model):
    """No table: carries the permissions of the statistics pages."""

    class Meta:
        managed = False
        default_permissions = ()
        verbose_name = _("statistics")
        verbose_name_plural = _("statistics")
        permissions = [
            ("view_statistics", "Can see the committee's statistics and reports"),
            ("view_calibration", "Can see how experts' opinions compare with the conclusions"),
        ]

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
