from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "laojian.portal"
    label = "portal"
    verbose_name = _("Public portal")

    def ready(self) -> None:
        from laojian.notify import services as notify
        from laojian.portal.services import OTP_SMS, OTP_TEMPLATE

        notify.register_template(OTP_TEMPLATE, OTP_SMS)
