"""Placeholder views, replaced by the UI shell."""
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def worklist(request: HttpRequest) -> HttpResponse:
    return HttpResponse("worklist")


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse("case")
