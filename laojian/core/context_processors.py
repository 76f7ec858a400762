from __future__ import annotations

from django.http import HttpRequest

from laojian.core.roles import ROLES, user_role_codes


def roles(request: HttpRequest) -> dict:
    codes = user_role_codes(getattr(request, "user", None))
    return {"user_roles": [ROLES[c] for c in ROLES if c in codes], "role_codes": codes}
