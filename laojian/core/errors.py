"""The error contract: services raise these; views and the API turn them into messages.

Each error carries a stable machine-readable ``code`` and a message in the user's language.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    """A business rule refused the request. Nothing was written."""

    code = "application_error"
    default_message = _("The request could not be carried out.")

    def __init__(self, message: str | None = None, *, code: str | None = None, extra: dict | None = None):
        self.message = str(message if message is not None else self.default_message)
        if code:
            self.code = code
        self.extra = extra or {}
        super().__init__(self.message)


class NotFoundError(ApplicationError):
    """The object does not exist, or the user may not see it: the two look the same."""

    code = "not_found"
    default_message = _("Not found.")


class PermissionDeniedError(ApplicationError):
    code = "permission_denied"
    default_message = _("You do not have permission to do this.")


class ConflictError(ApplicationError):
    """Someone else changed the object first (optimistic lock lost, or state moved on)."""

    code = "conflict"
    default_message = _("Someone else changed this case at the same time. Reload the page and try again.")


class ValidationFailed(ApplicationError):
    """Input failed validation; ``extra['fields']`` maps field names to messages."""

    code = "invalid"
    default_message = _("Some of the information is not valid.")
