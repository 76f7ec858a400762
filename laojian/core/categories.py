"""The five categories (门类) of GB/T 16180-2014, shared by the expert pool and the grading catalogue."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.IntegerChoices):
    """The five categories (门类) of GB/T 16180-2014 (section 4.4, Appendix C tables C.1–C.5)."""

    NEURO = 1, _("neurology, neurosurgery, psychiatry")
    ORTHO = 2, _("orthopaedics, plastic surgery, burns")
    SENSE = 3, _("eye, ENT, stomatology")
    SURGERY = 4, _("general and thoracic surgery, urology")
    OCCUPATIONAL = 5, _("occupational diseases")
