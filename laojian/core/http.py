"""HTTP helpers shared by the apps' views."""

from __future__ import annotations

from django.http import HttpResponseRedirect


class HttpResponseSeeOther(HttpResponseRedirect):
    """POST/redirect/GET: the browser fetches the target with GET."""

    status_code = 303
