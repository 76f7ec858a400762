"""Pages of partner data import (the liaison): the sources, mapping a source's columns once, uploading
a file, the import's progress (polled with HTMX) and its report, resuming or discarding a failed
import, the push API token.

Thin: forms parse, ``partners`` reads and writes; an ``ApplicationError`` becomes a message and a
``NotFoundError`` a 404 (another committee's source looks missing). Every page needs
``crosscheck.manage_sources`` (403 without it).

Uploads are written to ``DATA_DIR/crosscheck/uploads/incoming/`` as they arrive and hashed on the
way (``PartnerUploadHandler``), so a 2 GB file is never held in memory nor read twice to be hashed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from laojian.core import audit
from laojian.core.errors import ApplicationError, NotFoundError, ValidationFailed
from laojian.core.http import HttpResponseSeeOther
from laojian.crosscheck import partners
from laojian.crosscheck.forms import MappingForm, SourceForm, UploadForm
from laojian.crosscheck.models import ImportRun, Source

RUNS_SHOWN = 50
PROGRESS_POLL = "2s"


# UPLOADS ---------------------------------------------------------------------------------------------

class StoredUpload(UploadedFile):
    """A file the handler has written to the uploads folder, with its SHA-256."""

    def __init__(self, file: IO[bytes], *, path: Path, name: str, content_type: str | None, size: int,
                 sha256: str) -> None:
        super().__init__(file, name=name, content_type=content_type, size=size)
        self.path = path
        self.sha256 = sha256


class PartnerUploadHandler(FileUploadHandler):
    """Writes the ``file`` field straight to disk as it arrives and hashes it on the way; other file
    fields, and a second ``file``, are dropped."""

    chunk_size = 1024 * 1024

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self._out: IO[bytes] | None = None
        self._path: Path | None = None
        self._received = False
        self._hash = hashlib.sha256()

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        if field_name == "file" and not self._received:
            self._path = partners.incoming_path()
            self._out = open(self._path, "wb")  # noqa: SIM115 - closed in file_complete or upload_interrupted
            self._hash = hashlib.sha256()
            self._received = True
        else:
            self._out = None
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if self._out is not None:
            self._out.write(raw_data)
            self._hash.update(raw_data)

    def file_complete(self, file_size: int) -> StoredUpload | None:
        if self._out is None or self._path is None:
            return None
        self._out.close()
        self._out = None
        return StoredUpload(open(self._path, "rb"), path=self._path, name=self.file_name,  # noqa: SIM115
                            content_type=self.content_type, size=file_size, sha256=self._hash.hexdigest())

    def upload_interrupted(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)


def _drop(upload: Any) -> None:
    if isinstance(upload, StoredUpload):
        upload.close()
        upload.path.unlink(missing_ok=True)


# HELPERS ---------------------------------------------------------------------------------------------

def _require_manager(request: HttpRequest) -> None:
    if not request.user.has_perm("crosscheck.manage_sources") or not request.user.committee_id:
        raise PermissionDenied


def _source(request: HttpRequest, pk: int) -> Source:
    _require_manager(request)
    try:
        return partners.source_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such source.")) from None


def _run(request: HttpRequest, pk: int) -> ImportRun:
    _require_manager(request)
    try:
        return partners.run_get_for(request.user, pk)
    except NotFoundError:
        raise Http404(_("No such import.")) from None


def _source_page(source: Source) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("crosscheck:source", args=[source.pk]))


def _run_page(pk: int) -> HttpResponseSeeOther:
    return HttpResponseSeeOther(reverse("crosscheck:import", args=[pk]))


def _mapping_rows(source: Source) -> list[dict[str, Any]]:
    required = {name for group in partners.required_for(source.kind) for name in group}
    return [{"label": f.label, "column": source.mapping.get(f.name, ""), "required": f.name in required}
            for f in partners.fields_for(source.kind)]


def _progress_context(run: ImportRun) -> dict[str, Any]:
    active = run.state in (ImportRun.State.QUEUED, ImportRun.State.RUNNING)
    waiting_for_mapping = run.state == ImportRun.State.QUEUED and bool(partners.mapping_gaps(run.source.kind,
                                                                                            run.source.mapping))
    report = partners.report_path(run) if run.stored_file else None
    return {
        "run": run,
        "active": active and not waiting_for_mapping,
        "waiting_for_mapping": waiting_for_mapping,
        "percent": (min(100, int(run.rows_done * 100 / run.rows_total)) if run.rows_total else None),
        "rejects": [{"line": r.get("line"), "reason": partners.reason_label(str(r.get("reason", "")))}
                    for r in run.rejects or []],
        "has_report": bool(report and report.exists()),
        "can_resume": (run.state == ImportRun.State.FAILED or partners.run_is_stale(run)) and bool(run.stored_file),
        "can_discard": run.state == ImportRun.State.FAILED and run.chunks_done > 0 or partners.run_is_stale(run),
        "poll": PROGRESS_POLL,
    }


# SOURCES ---------------------------------------------------------------------------------------------

@require_http_methods(["GET", "POST"])
@login_required
def sources(request: HttpRequest) -> HttpResponse:
    """The committee's partner sources, and a form for a new one."""
    _require_manager(request)
    form = SourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = partners.source_create(request.user.committee, actor=request.user, **form.cleaned_data)
        except ValidationFailed as exc:
            for name, errors in (exc.extra.get("fields") or {}).items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
            if not exc.extra.get("fields"):
                form.add_error(None, exc.message)
        else:
            messages.success(request, _("Source %(name)s created: upload its first file to map the columns.")
                             % {"name": source.name})
            return _source_page(source)
    rows = [{"source": s, "last": s.runs.order_by("-created_at", "-id").first(),
             "mapped": not partners.mapping_gaps(s.kind, s.mapping)}
            for s in partners.sources_for(request.user).order_by("kind", "name")]
    return render(request, "crosscheck/source_list.html", {"rows": rows, "form": form},
                  status=400 if form.errors else 200)


@require_GET
@login_required
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    source = _source(request, pk)
    return render(request, "crosscheck/source_detail.html", {
        "source": source, "mapping": _mapping_rows(source),
        "mapped": not partners.mapping_gaps(source.kind, source.mapping),
        "runs": list(partners.runs_of(source)[:RUNS_SHOWN]), "upload_form": UploadForm(),
        "push_url": request.build_absolute_uri(reverse("crosscheck_api:push_records", args=[source.pk])),
        "max_push": partners.MAX_PUSH_RECORDS,
    })


@csrf_exempt  # the token is checked by _upload (csrf_protect) once the upload handler is in place
@require_POST
@login_required
def source_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Receive a file: written to disk as it arrives, then logged as an import (refused with a reason)."""
    source = _source(request, pk)  # permission and committee are checked before the body is read
    request.upload_handlers = [PartnerUploadHandler(request)]
    return _upload(request, source)


@csrf_protect
def _upload(request: HttpRequest, source: Source) -> HttpResponse:
    form = UploadForm(request.POST, request.FILES)
    upload = request.FILES.get("file")
    if not form.is_valid() or not isinstance(upload, StoredUpload):
        _drop(upload)
        messages.error(request, _("Choose a CSV or Excel file."))
        return _source_page(source)
    upload.close()
    try:
        run = partners.run_create(source, path=upload.path, file_name=upload.name or "upload", sha256=upload.sha256,
                                  size=upload.size or 0, actor=request.user, remap=form.cleaned_data["remap"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        run_id = exc.extra.get("run_id")
        return _run_page(run_id) if run_id else _source_page(source)
    if form.cleaned_data["remap"] or partners.mapping_gaps(source.kind, source.mapping):
        messages.info(request, _("Map the columns of the file to ours; the import starts once they are saved."))
        return HttpResponseSeeOther(reverse("crosscheck:source_mapping", args=[source.pk]) + f"?run={run.pk}")
    partners.run_start(run, actor=request.user)
    messages.success(request, _("The file is received; the import runs in the background."))
    return _run_page(run.pk)


@require_http_methods(["GET", "POST"])
@login_required
def source_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Map our fields to the columns of an uploaded file (its headers and first rows shown)."""
    source = _source(request, pk)
    run_id = request.POST.get("run") or request.GET.get("run")
    run = (ImportRun.objects.filter(source=source, pk=run_id).first() if str(run_id or "").isdigit()
           else ImportRun.objects.filter(source=source).exclude(stored_file="").order_by("-created_at", "-id").first())
    if run is None:
        messages.error(request, _("Upload a file of this source first: its columns are mapped from it."))
        return _source_page(source)
    try:
        info = partners.run_inspect(run)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _source_page(source)
    form = MappingForm(request.POST or None, kind=source.kind, headers=info.headers,
                       mapping=source.mapping or partners.suggest_mapping(source.kind, info.headers))
    if request.method == "POST" and form.is_valid():
        try:
            partners.source_map_columns(source, form.mapping(), actor=request.user, headers=info.headers)
        except ApplicationError as exc:
            for name, errors in (exc.extra.get("fields") or {}).items():
                for error in errors:
                    form.add_error(name if name in form.fields else None, error)
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Columns saved: later files of this source are read the same way."))
            if run.state == ImportRun.State.QUEUED:
                partners.run_start(run, actor=request.user)
                return _run_page(run.pk)
            return _source_page(source)
    return render(request, "crosscheck/source_mapping.html", {
        "source": source, "run": run, "info": info, "form": form,
        "sample": info.sample,
    }, status=400 if form.errors else 200)


@require_POST
@login_required
def source_token(request: HttpRequest, pk: int) -> HttpResponse:
    """A new push API token, shown once on the page this answers with (never stored, never redirected
    through a URL or the session); or the token revoked."""
    source = _source(request, pk)
    if request.POST.get("action") == "revoke":
        partners.source_token_revoke(source, actor=request.user)
        messages.success(request, _("The push API token is revoked: pushes are refused until a new one is made."))
        return _source_page(source)
    token = partners.source_token_new(source, actor=request.user)
    response = render(request, "crosscheck/source_token.html", {
        "source": source, "token": token, "max_push": partners.MAX_PUSH_RECORDS,
        "push_url": request.build_absolute_uri(reverse("crosscheck_api:push_records", args=[source.pk])),
        "fields": partners.fields_for(source.kind),
    })
    response["Cache-Control"] = "no-store"
    return response


# IMPORTS ---------------------------------------------------------------------------------------------

@require_GET
@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    return render(request, "crosscheck/import_run.html", {
        "source": run.source, "encoding": partners.ENCODING_LABELS.get(run.encoding, run.encoding) if run.stored_file
        else "", **_progress_context(run)})


@require_GET
@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar and, once finished, the report: the fragment the run page polls."""
    run = _run(request, pk)
    return render(request, "crosscheck/import_progress.html", _progress_context(run))


@require_GET
@login_required
def import_rejects(request: HttpRequest, pk: int) -> HttpResponse:
    """Every rejected row of the import, with its line and reason (CSV, UTF-8 with a BOM)."""
    run = _run(request, pk)
    report = partners.report_path(run) if run.stored_file else None
    if report is None or not report.exists():
        raise Http404(_("This import has no report of rejected rows."))
    audit.record("crosscheck.rejects_download", actor=request.user, obj=run, committee=run.source.committee,
                 ip_address=audit.client_ip(request))
    response = FileResponse(open(report, "rb"), content_type="text/csv; charset=utf-8")  # noqa: SIM115
    name = f"{Path(run.file_name).stem}-rejects.csv"
    response["Content-Disposition"] = (f"attachment; filename=\"import-{run.pk}-rejects.csv\"; "
                                       f"filename*=UTF-8''{quote(name, safe='')}")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        run = partners.run_resume(run, actor=request.user)
        partners.run_start(run, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The import goes on from its last checkpoint."))
    return _run_page(run.pk)


@require_POST
@login_required
def import_discard(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        partners.run_discard(run, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The rows this import had written are removed; nothing of it is used."))
    return _run_page(run.pk)


urlpatterns = [
    path("sources/", sources, name="sources"),
    path("sources/<int:pk>/", source_detail, name="source"),
    path("sources/<int:pk>/upload/", source_upload, name="source_upload"),
    path("sources/<int:pk>/mapping/", source_mapping, name="source_mapping"),
    path("sources/<int:pk>/token/", source_token, name="source_token"),
    path("imports/<int:pk>/", import_detail, name="import"),
    path("imports/<int:pk>/progress/", import_progress, name="import_progress"),
    path("imports/<int:pk>/rejects.csv", import_rejects, name="import_rejects"),
    path("imports/<int:pk>/resume/", import_resume, name="import_resume"),
    path("imports/<int:pk>/discard/", import_discard, name="import_discard"),
]
