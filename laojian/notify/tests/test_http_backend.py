"""The HTTP SMS gateway adapter, against a small server on 127.0.0.1 started by the test."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from laojian.notify import services
from laojian.notify.backends import HttpSmsBackend, TransientDeliveryError
from laojian.notify.models import Notification

pytestmark = pytest.mark.django_db

services.register_template("test.http", "您的验证码是{{ code }}，5分钟内有效。")


class Gateway(HTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.answer = 200
        self.requests: list[dict] = []


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        self.server.requests.append({
            "path": self.path,
            "headers": dict(self.headers),
            "body": json.loads(self.rfile.read(length).decode("utf-8")),
        })
        self.send_response(self.server.answer)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.LAOJIAN_SMS_BACKEND = "http"
    settings.LAOJIAN_SMS_URL = f"http://127.0.0.1:{server.server_port}/sms/send"
    settings.LAOJIAN_SMS_TOKEN = "s3cret"
    settings.LAOJIAN_SMS_SIGN = "聊城市劳动能力鉴定委员会"
    settings.LAOJIAN_SMS_TIMEOUT = 5
    yield server
    server.shutdown()
    server.server_close()


def test_success_posts_json_with_token_and_marks_sent(gateway):
    (row,) = services.send("test.http", phone="13812345678", context={"code": "042719"})
    services.deliver(row.pk)
    row.refresh_from_db()
    assert (row.status, row.backend, row.attempts) == (Notification.Status.SENT, "http", 1)
    (request,) = gateway.requests
    assert request["path"] == "/sms/send"
    assert request["body"] == {"phone": "13812345678", "text": "您的验证码是042719，5分钟内有效。",
                               "sign": "聊城市劳动能力鉴定委员会"}
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Idempotency-Key"] == f"laojian-notification-{row.pk}"


def test_a_500_is_a_transient_failure_with_a_retry(gateway):
    gateway.answer = 500
    (row,) = services.send("test.http", phone="13812345678", context={"code": "1"})
    services.deliver(row.pk)
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Notification.Status.QUEUED, 1)
    assert "HTTP 500" in row.last_error and row.next_attempt_at is not None
    gateway.answer = 200
    services.deliver(row.pk, now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.status == Notification.Status.SENT and len(gateway.requests) == 2


def test_a_closed_port_is_transient(settings, gateway):
    port = gateway.server_port
    gateway.shutdown()
    gateway.server_close()
    settings.LAOJIAN_SMS_URL = f"http://127.0.0.1:{port}/sms/send"
    with pytest.raises(TransientDeliveryError):
        HttpSmsBackend().send(Notification(pk=1, recipient="13812345678", text="x"))
