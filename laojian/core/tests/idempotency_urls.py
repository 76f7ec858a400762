"""Views for the idempotency tests: each POST that succeeds writes one audit entry, so the tests can
count how often the work was really done."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import path
from django.views.decorators.http import require_POST

from laojian.core import audit


@require_POST
@login_required
def create(request):
    event = audit.record("test.create", actor=request.user, after={"name": request.POST.get("name", "")})
    return HttpResponseRedirect(f"/made/{event.pk}/")


@require_POST
@login_required
def refuse(request):
    audit.record("test.refuse", actor=request.user)
    return HttpResponse("bad input", status=400)


@require_POST
@login_required
def with_cookie(request):
    audit.record("test.cookie", actor=request.user)
    response = HttpResponse("ok")
    response.set_cookie("flavour", "plain")
    return response


def page(request):
    return HttpResponse('<form method="post" action="/create/"><input name="name"></form>'
                        '<form method="post" hx-post="/create/"></form><form method="get"></form>'
                        '<form method="post" action="/create/"></form>', content_type="text/html; charset=utf-8")


urlpatterns = [
    path("create/", create),
    path("refuse/", refuse),
    path("cookie/", with_cookie),
    path("page/", page),
]
