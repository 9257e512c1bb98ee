"""Fixtures for the MLOps tests: a real `mlflow server` (sqlite backend) on a free loopback port, seeded through
MlflowClient, and a small HTTP proxy in front of it that injects faults (HTTP 500, slow answers, auth checks).

The server is started once per session: tests namespace what they create (experiment and model names carry a
unique suffix) and assert on their own objects, or compare the whole server with the database.
"""

from __future__ import annotations

import base64
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.mlops.models import MLflowConnection
from apps.mlops.services import connection_create

MLFLOW_BIN = Path(sys.executable).with_name("mlflow")
_counter = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 90.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f}s")


@dataclass
class MlflowServer:
    url: str
    process: subprocess.Popen
    root: Path

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(self.url)


def start_mlflow_server(root: Path) -> MlflowServer:
    """`mlflow server` with a sqlite backend under `root` on a free loopback port; waits for /health."""
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = open(root / "server.log", "ab")  # noqa: SIM115 - kept open for the server's lifetime
    env = {**os.environ, "MLFLOW_ENABLE_ASYNC_LOGGING": "false"}
    process = subprocess.Popen(
        [str(MLFLOW_BIN), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--default-artifact-root", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", timeout=120, process=process)
    except RuntimeError:
        stop_process(process)
        raise RuntimeError((root / "server.log").read_text()[-3000:]) from None
    return MlflowServer(url, process, root)


def stop_process(process: subprocess.Popen) -> None:
    """Stop a process we started (and its process group: the server's worker) by its own id."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture(scope="session")
def mlflow_server():
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    root = Path(tempfile.mkdtemp(prefix="pilotlight-mlflow-test-"))
    server = start_mlflow_server(root)
    yield server
    stop_process(server.process)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def mlflow_client(mlflow_server):
    return mlflow_server.client()


@pytest.fixture
def suffix() -> str:
    """A unique suffix for names created on the shared server by one test."""
    return f"{next(_counter)}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def connection(db, admin_user, mlflow_server) -> MLflowConnection:
    return connection_create(actor=admin_user, name="Test MLflow", tracking_uri=mlflow_server.url,
                             timeout_seconds=10)


@pytest.fixture(autouse=True)
def _fast_client_retries(settings):
    """The client's own quick retries stay on, but short, so fault tests finish in seconds."""
    settings.MLFLOW_REQUEST_BACKOFF_SECONDS = 0.05


@pytest.fixture
def eager_celery():
    """Run tasks inline (for tests of what views and services enqueue)."""
    from portal.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


# --- fault-injecting proxy --------------------------------------------------------------------------------------


@dataclass
class FaultProxy:
    """An HTTP proxy to the MLflow server whose behaviour tests change on the fly.

    fail_paths: {path fragment: number of requests to let through before answering 500 for every later one}
    delay: seconds to sleep before answering each request (slow server)
    require_auth: the exact Authorization header required (401 otherwise)
    down: refuse everything with 503 (a gateway without its backend)"""

    upstream: str
    port: int = 0
    fail_paths: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    delay_paths: tuple[str, ...] = ()
    require_auth: str = ""
    down: bool = False
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                proxy.requests.append(self.path)
                if proxy.delay and (not proxy.delay_paths or any(p in self.path for p in proxy.delay_paths)):
                    time.sleep(proxy.delay)
                if proxy.require_auth and self.headers.get("Authorization") != proxy.require_auth:
                    return self._send(401, b'{"error_code": "UNAUTHENTICATED", "message": "Bad credentials"}')
                if proxy.down:
                    return self._send(503, b"<html>Service Unavailable</html>", "text/html")
                for fragment, allowed in proxy.fail_paths.items():
                    if fragment in self.path:
                        if allowed <= 0:
                            return self._send(500, b'{"error_code": "INTERNAL_ERROR", "message": "boom"}')
                        proxy.fail_paths[fragment] = allowed - 1
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command)
                for name in ("Content-Type", "Accept"):
                    if self.headers.get(name):
                        request.add_header(name, self.headers[name])
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        return self._send(response.status, response.read(),
                                          response.headers.get("Content-Type", "application/json"))
                except urllib.error.HTTPError as exc:
                    return self._send(exc.code, exc.read(), exc.headers.get("Content-Type", "application/json"))

            def _send(self, status: int, payload: bytes, content_type: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@pytest.fixture
def proxy(mlflow_server):
    fault_proxy = FaultProxy(upstream=mlflow_server.url).start()
    yield fault_proxy
    fault_proxy.stop()


def basic_header(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def auditor_user(db):
    from apps.accounts.choices import GlobalRole
    from tests.factories import make_user

    return make_user(role=GlobalRole.AUDITOR, username="auditor")
