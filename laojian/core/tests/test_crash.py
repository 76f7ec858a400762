"""Kill -9 in the middle of work (scenario 4 of the reference's §2.7): the server dies halfway through
receiving an upload, and a worker dies inside a workflow transition. Afterwards no half-made record
exists, no file is left that the cleanup does not remove, the database is intact, and a retry with
the same idempotency key succeeds once."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject

from laojian.cases import selectors as case_selectors
from laojian.cases.models import Case, Material, MaterialType, Status, TimelineEntry
from laojian.cases.tests.factories import CaseFactory
from laojian.core import cleanup
from laojian.core.models import AuditEvent, IdempotencyKey
from laojian.core.tests.factories import CommitteeFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True)]
CSRF = "k" * 32  # an unmasked CSRF secret: the cookie and the header carry the same value


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def child_env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "LAOJIAN_DATA_DIR": str(data_dir),
            "LAOJIAN_UPLOAD_TEMP_DIR": str(data_dir / "tmp" / "uploads"), "PYTHONUNBUFFERED": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "-m", "laojian", "runserver", "--noreload", "--nothreading",
                               f"127.0.0.1:{port}"], env=child_env(data_dir),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError("the server did not start")


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def big_pdf() -> bytes:
    """A valid PDF of about 7 MB: big enough that Django spools it to a file while receiving it."""
    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    rnd = random.Random(4)
    stream.set_data(b"".join(b"%d %d m\n" % (rnd.randrange(595), rnd.randrange(842)) for _ in range(700_000)))
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def session_cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = django_settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def upload_request(port: int, case: Case, material_type_id: int, key: str, sessionid: str,
                   content: bytes) -> tuple[bytes, bytes]:
    """The request head and body of a material upload, as a browser sends it."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in (("material_type", str(material_type_id)), ("idempotency_key", key)):
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="病历.pdf"\r\n'
                 f"Content-Type: application/pdf\r\n\r\n".encode() + content + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    head = (f"POST /cases/{case.pk}/materials/upload/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
            f"Cookie: sessionid={sessionid}; csrftoken={CSRF}\r\nX-CSRFToken: {CSRF}\r\n"
            f"Referer: http://127.0.0.1:{port}/cases/{case.pk}/\r\nConnection: close\r\n\r\n").encode()
    return head, body


def send_whole(port: int, head: bytes, body: bytes) -> tuple[int, dict[str, str]]:
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.sendall(head + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    headers = dict(line.split(": ", 1) for line in rest.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
                   if ": " in line)
    return int(status_line.split()[1]), headers


def wait_for(predicate, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_a_server_killed_mid_upload_leaves_nothing_and_the_retry_succeeds_once(tmp_path, settings):
    data_dir = tmp_path / "data"
    spool = data_dir / "tmp" / "uploads"
    committee = CommitteeFactory()
    clerk = UserFactory(committee=committee, roles=["clerk"])
    case = CaseFactory(committee=committee, status=Status.SUBMITTED)
    # The default checklist is data a migration loads; a transactional test may run after a flush.
    material_type = case_selectors.checklist_for(case)[0] if case_selectors.checklist_for(case) else \
        MaterialType.objects.create(case_type=case.case_type, code="medical_record", name="病历")
    sessionid = session_cookie(clerk)
    key = "crash-test-key-" + uuid.uuid4().hex
    head, body = upload_request(0, case, material_type.pk, key, sessionid, big_pdf())

    port = free_port()
    server = start_server(data_dir, port)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(head.replace(b"127.0.0.1:0", f"127.0.0.1:{port}".encode()) + body[: len(body) // 2])
            wait_for(lambda: spool.exists() and any(p.stat().st_size > 1_000_000 for p in spool.iterdir()))
            kill(server)  # halfway through receiving the file
    finally:
        if server.poll() is None:
            kill(server)

    assert not Material.objects.filter(case=case).exists()
    assert not IdempotencyKey.objects.filter(key=key).exists()
    assert not (data_dir / "materials").exists() or not any(p.is_file() for p in (data_dir / "materials").rglob("*"))
    half_received = list(spool.iterdir())
    assert half_received, "the half-received upload should be on disk for the cleanup to find"
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            assert cursor.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # The cleanup as the server's machine runs it: that data directory only.
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    settings.DATA_DIR = data_dir
    settings.STORAGES = {**settings.STORAGES, "materials": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                            "OPTIONS": {"location": str(data_dir / "materials")}}}
    report = cleanup.cleanup(grace=dt.timedelta(0), delete=True, now=time.time() + 1)
    assert set(half_received) <= set(report.temp)
    assert list(spool.iterdir()) == []

    server = start_server(data_dir, port)
    try:
        head, body = upload_request(port, case, material_type.pk, key, sessionid, big_pdf())
        first_status, _first = send_whole(port, head, body)
        again_status, again = send_whole(port, head, body)
    finally:
        kill(server)
    assert first_status == again_status == 303
    assert again.get("Idempotent-Replay") == "true"
    assert Material.objects.filter(case=case).count() == 1


SCRIPT = """
import sys, time, django
django.setup()
from laojian.cases import services
from laojian.core import audit
from laojian.core.models import User

real = audit.record
def record_then_hang(*args, **kwargs):
    real(*args, **kwargs)
    print("inside", flush=True)  # the case row, its timeline entry and the audit event are written, uncommitted
    time.sleep(120)
audit.record = record_then_hang
services.transition(int(sys.argv[1]), "accept", actor=User.objects.get(pk=int(sys.argv[2])))
"""


def test_a_worker_killed_inside_a_transition_leaves_the_case_as_it_was(tmp_path):
    committee = CommitteeFactory()
    clerk = UserFactory(committee=committee, roles=["clerk"])
    case = CaseFactory(committee=committee, status=Status.SUBMITTED)
    events_before = AuditEvent.objects.count()
    worker = subprocess.Popen([sys.executable, "-c", SCRIPT, str(case.pk), str(clerk.pk)],
                              env={**child_env(tmp_path / "data"), "DJANGO_SETTINGS_MODULE": "laojian.settings"},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = worker.stdout.readline()
        assert line.strip() == "inside", worker.stderr.read() if worker.poll() is not None else line
    finally:
        kill(worker)

    case.refresh_from_db()
    assert (case.status, case.version, case.accepted_on) == (Status.SUBMITTED, 1, None)
    assert not TimelineEntry.objects.filter(case=case).exists()
    assert AuditEvent.objects.count() == events_before
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            assert cursor.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
