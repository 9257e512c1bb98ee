"""MLflow tracking server client over the REST API (/api/2.0/mlflow/): the only code that talks to MLflow.

Raw REST through one `requests` session rather than MlflowClient: about 1.5x faster for bulk reads, explicit
short timeouts instead of the client's 120 s x 7 retries, and no heavy imports in the workers. Every method
returns plain dataclasses. Errors are classified so callers can tell "retry later" (MlflowUnreachable,
MlflowServerError) from "fix the configuration" (MlflowAuthError, MlflowRequestError).

Works with MLflow >= 2.9 and 3.x servers, self-hosted (no auth, basic auth, bearer token behind a proxy) and
Databricks (a workspace URL and a personal access token). Aliases and tags are the source of truth; the
deprecated stages are read only when present.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

log = logging.getLogger(__name__)

API_PREFIX = "/api/2.0/mlflow"
AUTH_NONE, AUTH_BASIC, AUTH_BEARER, AUTH_DATABRICKS = "none", "basic", "bearer", "databricks"
AUTH_TYPES = (AUTH_NONE, AUTH_BASIC, AUTH_BEARER, AUTH_DATABRICKS)

# Server-side page limits (MLflow 2.9 - 3.x): runs/search and experiments/search 50,000, registered models 1,000,
# model versions 200,000 (10,000 on Databricks), metric history 25,000.
RUNS_PAGE = 1_000
EXPERIMENTS_PAGE = 1_000
MODELS_PAGE = 1_000
VERSIONS_PAGE = 10_000
HISTORY_PAGE = 25_000
LOGGED_MODELS_PAGE = 100
EXPERIMENT_BATCH = 100  # experiment ids per runs/search request

VIEW_ACTIVE, VIEW_DELETED, VIEW_ALL = "ACTIVE_ONLY", "DELETED_ONLY", "ALL"


# --- errors -----------------------------------------------------------------------------------------------------


class MlflowError(Exception):
    """Something went wrong talking to MLflow."""

    kind = "error"
    transient = False

    def __init__(self, message: str, *, status: int | None = None, error_code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code


class MlflowUnreachable(MlflowError):
    """No answer: connection refused, DNS failure, TLS failure or a reset connection. Worth retrying."""

    kind = "unreachable"
    transient = True


class MlflowTimeout(MlflowUnreachable):
    """The server did not answer within the configured timeout. Worth retrying."""

    kind = "timeout"


class MlflowServerError(MlflowError):
    """HTTP 5xx or 429 from the server or a proxy in front of it. Worth retrying."""

    kind = "server_error"
    transient = True


class MlflowAuthError(MlflowError):
    """HTTP 401/403: the credentials are missing, wrong or lack permission. Retrying will not help."""

    kind = "auth"


class MlflowRequestError(MlflowError):
    """HTTP 4xx other than auth: the request or the server's API version does not fit. Retrying will not help."""

    kind = "bad_request"


class MlflowNotFound(MlflowRequestError):
    """HTTP 404: the endpoint or the object does not exist (e.g. LoggedModels on an MLflow 2 server)."""

    kind = "not_found"


class MlflowTLSError(MlflowError):
    """The server's certificate could not be verified. Fix the certificate or turn verification off."""

    kind = "tls"


# --- wire dataclasses -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MlflowConfig:
    """How to reach one tracking server."""

    tracking_uri: str
    auth_type: str = AUTH_NONE
    username: str = ""
    secret: str = field(default="", repr=False)
    verify_tls: bool = True
    timeout: float = 10.0
    retries: int = 2  # quick retries of one request on transient errors; the Celery task retries the whole sync
    backoff: float = 0.5


@dataclass(frozen=True, slots=True)
class Metric:
    """The latest value of one metric of a run."""

    value: float
    timestamp: int
    step: int


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One logged value of a metric (history)."""

    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset logged as a run input (data lineage)."""

    name: str
    digest: str
    source_type: str
    context: str = ""


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class Run:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    lifecycle_stage: str
    artifact_uri: str
    metrics: dict[str, Metric]
    params: dict[str, str]
    tags: dict[str, str]
    datasets: tuple[DatasetInput, ...] = ()


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    description: str
    creation_time: int | None
    last_updated_time: int | None
    tags: dict[str, str]
    aliases: dict[str, int]  # alias -> version


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    creation_time: int | None
    last_updated_time: int | None
    current_stage: str  # deprecated since MLflow 2.9; "" when absent or "None"
    description: str
    source: str
    run_id: str
    status: str
    tags: dict[str, str]


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """An MLflow 3 LoggedModel (id like m-<32 hex>)."""

    model_id: str
    experiment_id: str
    name: str
    source_run_id: str
    status: str
    model_type: str
    creation_time: int | None
    last_updated_time: int | None
    tags: dict[str, str]
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class ArtifactFile:
    """One entry of a run's artifact listing."""

    path: str
    is_dir: bool
    size: int | None = None


@dataclass(frozen=True, slots=True)
class ServerCheck:
    """The outcome of a connection test."""

    ok: bool
    message: str
    version: str = ""
    experiments_visible: int = 0
    latency_ms: int = 0


# --- parsing ----------------------------------------------------------------------------------------------------


def _kv(items: Sequence[dict] | None) -> dict[str, str]:
    return {item["key"]: item.get("value", "") for item in items or ()}


def _int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(value)


def _float(value: Any) -> float:
    # MLflow returns NaN / Infinity as JSON strings or bare tokens depending on the version.
    if isinstance(value, str):
        return float(value)
    return float(value) if value is not None else math.nan


def parse_experiment(data: dict) -> Experiment:
    return Experiment(
        experiment_id=str(data["experiment_id"]), name=data.get("name", ""),
        artifact_location=data.get("artifact_location", ""), lifecycle_stage=data.get("lifecycle_stage", "active"),
        creation_time=_int(data.get("creation_time")), last_update_time=_int(data.get("last_update_time")),
        tags=_kv(data.get("tags")),
    )


def parse_run(data: dict) -> Run:
    info = data.get("info", {})
    payload = data.get("data", {})
    datasets = []
    for item in (data.get("inputs") or {}).get("dataset_inputs") or ():
        dataset = item.get("dataset", {})
        context = _kv(item.get("tags")).get("mlflow.data.context", "")
        datasets.append(DatasetInput(dataset.get("name", ""), dataset.get("digest", ""),
                                     dataset.get("source_type", ""), context))
    return Run(
        run_id=info.get("run_id") or info["run_uuid"], experiment_id=str(info.get("experiment_id", "")),
        run_name=info.get("run_name", ""), user_id=info.get("user_id", ""), status=info.get("status", ""),
        start_time=_int(info.get("start_time")), end_time=_int(info.get("end_time")),
        lifecycle_stage=info.get("lifecycle_stage", "active"), artifact_uri=info.get("artifact_uri", ""),
        metrics={m["key"]: Metric(_float(m.get("value")), int(m.get("timestamp", 0)), int(m.get("step", 0)))
                 for m in payload.get("metrics") or ()},
        params=_kv(payload.get("params")), tags=_kv(payload.get("tags")), datasets=tuple(datasets),
    )


def parse_registered_model(data: dict) -> RegisteredModel:
    return RegisteredModel(
        name=data["name"], description=data.get("description", "") or "",
        creation_time=_int(data.get("creation_timestamp")), last_updated_time=_int(data.get("last_updated_timestamp")),
        tags=_kv(data.get("tags")),
        aliases={item["alias"]: int(item["version"]) for item in data.get("aliases") or ()},
    )


def parse_model_version(data: dict) -> ModelVersion:
    stage = data.get("current_stage") or ""
    return ModelVersion(
        name=data["name"], version=int(data["version"]), creation_time=_int(data.get("creation_timestamp")),
        last_updated_time=_int(data.get("last_updated_timestamp")), current_stage="" if stage == "None" else stage,
        description=data.get("description", "") or "", source=data.get("source", "") or "",
        run_id=data.get("run_id", "") or "", status=data.get("status", "") or "", tags=_kv(data.get("tags")),
    )


def parse_logged_model(data: dict) -> LoggedModel:
    info = data.get("info", {})
    return LoggedModel(
        model_id=info["model_id"], experiment_id=str(info.get("experiment_id", "")), name=info.get("name", ""),
        source_run_id=info.get("source_run_id", "") or "", status=info.get("status", "") or "",
        model_type=info.get("model_type", "") or "", creation_time=_int(info.get("creation_timestamp_ms")),
        last_updated_time=_int(info.get("last_updated_timestamp_ms")), tags=_kv(info.get("tags")),
        params=_kv((data.get("data") or {}).get("params")),
    )


# --- client -----------------------------------------------------------------------------------------------------


def base_url(tracking_uri: str) -> str:
    """The HTTP(S) root of a tracking URI; refuses anything that is not an http(s) server."""
    uri = tracking_uri.strip().rstrip("/")
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MlflowRequestError(
            f"{tracking_uri!r} is not an HTTP(S) tracking server URL; use e.g. https://mlflow.example.com "
            "(for Databricks, the workspace URL)."
        )
    return uri


class MlflowRestClient:
    """A small, explicit client for the parts of the MLflow REST API the portal reads."""

    def __init__(self, config: MlflowConfig, *, session: requests.Session | None = None) -> None:
        self.config = config
        self.root = base_url(config.tracking_uri)
        self.session = session or requests.Session()
        self.session.verify = config.verify_tls
        self.session.headers.update({"Accept": "application/json", "User-Agent": "pilotlight-mlflow-sync/1"})
        if config.auth_type == AUTH_BASIC:
            self.session.auth = (config.username, config.secret)
        elif config.auth_type in (AUTH_BEARER, AUTH_DATABRICKS):
            self.session.headers["Authorization"] = f"Bearer {config.secret}"
        elif config.auth_type != AUTH_NONE:
            raise MlflowRequestError(f"Unknown authentication type {config.auth_type!r}.")
        self.requests_made = 0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MlflowRestClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport --

    def _timeout(self) -> tuple[float, float]:
        return (min(self.config.timeout, 5.0), self.config.timeout)

    def _request(self, method: str, path: str, *, params: dict | None = None, body: dict | None = None) -> dict:
        """One API call with the client's quick retries on transient errors (exponential backoff, full jitter)."""
        attempt = 0
        while True:
            try:
                return self._request_once(method, path, params=params, body=body)
            except MlflowError as exc:
                if not exc.transient or attempt >= self.config.retries:
                    raise
                delay = random.uniform(0, self.config.backoff * (2**attempt))
                log.info("MLflow %s %s failed (%s); retry %d in %.2fs", method, path, exc.message, attempt + 1, delay)
                time.sleep(delay)
                attempt += 1

    def _request_once(self, method: str, path: str, *, params: dict | None, body: dict | None) -> dict:
        url = f"{self.root}{API_PREFIX}/{path}"
        self.requests_made += 1
        try:
            response = self.session.request(method, url, params=params, json=body, timeout=self._timeout())
        except requests.exceptions.SSLError as exc:
            raise MlflowTLSError(f"TLS certificate of {self.root} could not be verified: {exc}") from exc
        except requests.exceptions.Timeout as exc:
            raise MlflowTimeout(f"MLflow did not answer within {self.config.timeout:g} s ({path}).") from exc
        except requests.exceptions.ConnectionError as exc:
            raise MlflowUnreachable(f"MLflow is unreachable at {self.root}: {_reason(exc)}") from exc
        except requests.exceptions.RequestException as exc:
            raise MlflowUnreachable(f"MLflow request failed: {exc}") from exc
        status = response.status_code
        if status < 400:
            try:
                return response.json() if response.content else {}
            except ValueError as exc:
                raise MlflowServerError(f"MLflow answered {path} with something that is not JSON.",
                                        status=status) from exc
        message, code = _error_of(response)
        if status in (401, 403):
            raise MlflowAuthError(f"MLflow refused the credentials (HTTP {status}): {message}", status=status,
                                  error_code=code)
        if status == 429 or status >= 500:
            raise MlflowServerError(f"MLflow answered HTTP {status}: {message}", status=status, error_code=code)
        if status == 404:
            raise MlflowNotFound(f"MLflow answered HTTP 404 for {path}: {message}", status=status, error_code=code)
        raise MlflowRequestError(f"MLflow refused the request (HTTP {status}): {message}", status=status,
                                 error_code=code)

    def _get(self, endpoint: str, /, **params: Any) -> dict:
        return self._request("GET", endpoint, params={k: v for k, v in params.items() if v is not None})

    def _post(self, path: str, body: dict) -> dict:
        return self._request("POST", path, body=body)

    # -- checks --

    def check(self) -> ServerCheck:
        """Test the connection: authenticate and list one experiment; report the server version when it tells."""
        started = time.monotonic()
        data = self._get("experiments/search", max_results=1)
        latency = int((time.monotonic() - started) * 1000)
        version = ""
        try:
            response = self.session.get(f"{self.root}/version", timeout=self._timeout())
            if response.ok and len(response.text) < 40:
                version = response.text.strip()
        except requests.exceptions.RequestException:
            pass
        visible = len(data.get("experiments") or ())
        label = f"MLflow {version}" if version else "MLflow"
        return ServerCheck(ok=True, message=f"Connected to {label} in {latency} ms.", version=version,
                           experiments_visible=visible, latency_ms=latency)

    # -- experiments --

    def iter_experiments(self, *, view_type: str = VIEW_ALL, page_size: int | None = None
                         ) -> Iterator[list[Experiment]]:
        """Every experiment, a page at a time."""
        page_size = page_size or EXPERIMENTS_PAGE
        token = None
        while True:
            data = self._get("experiments/search", max_results=page_size, view_type=view_type, page_token=token)
            yield [parse_experiment(item) for item in data.get("experiments") or ()]
            token = data.get("next_page_token")
            if not token:
                return

    # -- runs --

    def iter_runs(self, experiment_ids: Sequence[str], *, filter_string: str = "", view_type: str = VIEW_ACTIVE,
                  page_size: int | None = None) -> Iterator[list[Run]]:
        """Runs of the given experiments matching `filter_string`, a page at a time, oldest first.

        The page token is an offset, so the order must be stable: start time, then run id (the server's own
        tie-breaker)."""
        page_size = page_size or RUNS_PAGE
        for start in range(0, len(experiment_ids), EXPERIMENT_BATCH):
            batch = [str(eid) for eid in experiment_ids[start:start + EXPERIMENT_BATCH]]
            token = None
            while True:
                body: dict[str, Any] = {"experiment_ids": batch, "max_results": page_size, "run_view_type": view_type,
                                        "order_by": ["attributes.start_time ASC"]}
                if filter_string:
                    body["filter"] = filter_string
                if token:
                    body["page_token"] = token
                data = self._post("runs/search", body)
                yield [parse_run(item) for item in data.get("runs") or ()]
                token = data.get("next_page_token")
                if not token:
                    break

    def iter_raw_runs(self, experiment_ids: Sequence[str], *, page_size: int | None = None) -> Iterator[int]:
        """Page through runs/search without parsing: the raw read throughput a sync is compared with."""
        page_size = page_size or RUNS_PAGE
        for start in range(0, len(experiment_ids), EXPERIMENT_BATCH):
            batch = [str(eid) for eid in experiment_ids[start:start + EXPERIMENT_BATCH]]
            token = None
            while True:
                body: dict[str, Any] = {"experiment_ids": batch, "max_results": page_size,
                                        "order_by": ["attributes.start_time ASC"]}
                if token:
                    body["page_token"] = token
                data = self._post("runs/search", body)
                yield len(data.get("runs") or ())
                token = data.get("next_page_token")
                if not token:
                    break

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every logged value of one metric of one run."""
        points: list[MetricPoint] = []
        token = None
        while True:
            data = self._get("metrics/get-history", run_id=run_id, metric_key=key, max_results=HISTORY_PAGE,
                             page_token=token)
            points.extend(MetricPoint(key, _float(m.get("value")), int(m.get("timestamp", 0)), int(m.get("step", 0)))
                          for m in data.get("metrics") or ())
            token = data.get("next_page_token")
            if not token:
                return points

    # -- model registry --

    def iter_registered_models(self, *, page_size: int | None = None) -> Iterator[list[RegisteredModel]]:
        """Every registered model with its tags and aliases (aliases come from the model, never version search)."""
        page_size = page_size or MODELS_PAGE
        token = None
        while True:
            data = self._get("registered-models/search", max_results=page_size, page_token=token)
            yield [parse_registered_model(item) for item in data.get("registered_models") or ()]
            token = data.get("next_page_token")
            if not token:
                return

    def get_registered_model(self, name: str) -> RegisteredModel:
        return parse_registered_model(self._get("registered-models/get", name=name)["registered_model"])

    def iter_model_versions(self, *, page_size: int | None = None) -> Iterator[list[ModelVersion]]:
        """Every model version (its `aliases` field is unreliable in search results, so it is not read here)."""
        page_size = page_size or VERSIONS_PAGE
        token = None
        while True:
            data = self._get("model-versions/search", max_results=page_size, page_token=token,
                             order_by="name ASC")
            yield [parse_model_version(item) for item in data.get("model_versions") or ()]
            token = data.get("next_page_token")
            if not token:
                return

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactFile]:
        """The files and folders directly under `path` in a run's artifacts (one level, no recursion)."""
        data = self._get("artifacts/list", run_id=run_id, path=path or None)
        return [ArtifactFile(item.get("path", ""), bool(item.get("is_dir")), _int(item.get("file_size")))
                for item in data.get("files") or ()]

    def iter_logged_models(self, experiment_ids: Sequence[str], *, page_size: int | None = None
                           ) -> Iterator[list[LoggedModel]]:
        """MLflow 3 LoggedModels of the given experiments; raises MlflowNotFound on MLflow 2 servers."""
        page_size = page_size or LOGGED_MODELS_PAGE
        for start in range(0, len(experiment_ids), EXPERIMENT_BATCH):
            batch = [str(eid) for eid in experiment_ids[start:start + EXPERIMENT_BATCH]]
            token = None
            while True:
                body: dict[str, Any] = {"experiment_ids": batch, "max_results": page_size,
                                        "order_by": [{"field_name": "creation_timestamp", "ascending": True}]}
                if token:
                    body["page_token"] = token
                data = self._post("logged-models/search", body)
                yield [parse_logged_model(item) for item in data.get("models") or ()]
                token = data.get("next_page_token")
                if not token:
                    break


def _error_of(response: requests.Response) -> tuple[str, str]:
    """MLflow's own error message and code, or a short excerpt of whatever a proxy sent."""
    try:
        data = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:200]
        return (text or response.reason or "no details"), ""
    if isinstance(data, dict):
        return str(data.get("message") or data.get("error") or data)[:500], str(data.get("error_code", ""))
    return str(data)[:500], ""


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host", "Connection reset",
                   "timed out", "Temporary failure in name resolution"):
        if marker in text:
            return marker.lower()
    return text[:200]
