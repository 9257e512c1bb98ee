"""Writes for cloud costs: sources, imports and pulls (as Jobs), allocation rules, re-allocation and FX rates.

Only portfolio admins change cost configuration or start imports. Imports and re-allocations are audited as one
security event each (line items are too many to audit row by row); sources, rules and FX rates are audited by the
database triggers like every governed table.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from apps.accounts.choices import GlobalRole
from apps.accounts.models import User
from apps.accounts.selectors import user_access_scope
from apps.audit.choices import SecurityAction
from apps.audit.services import audit_security_event
from apps.core.choices import JobStatus
from apps.core.models import Job
from apps.core.services import job_create, job_fail, job_progress, job_start, job_succeed
from apps.costs import allocation, pipeline
from apps.costs.choices import ImportOrigin, ImportStatus, RuleKind, SourceKind
from apps.costs.models import AllocationRule, CostImport, CostImportError, CostSource, FxRate
from apps.integrations import aws_costs, azure_costs, focus

logger = logging.getLogger(__name__)

IMPORT_JOB = "costs.import"
REALLOCATE_JOB = "costs.reallocate"
_IMPORT_LOCK = 7_310_502  # advisory lock class: one runner per import
MAX_ATTEMPTS = 3
FOCUS_SUFFIXES = (".csv", ".csv.gz", ".gz", ".parquet")

SOURCE_FIELDS = frozenset({
    "name", "kind", "enabled", "folder", "tag_key", "aws_role_arn", "aws_external_id", "aws_region", "aws_metric",
    "azure_scope", "azure_cost_type", "lookback_days", "initial_days",
})
RULE_FIELDS = frozenset({
    "name", "kind", "tag_key", "tag_value", "sub_account_id", "resource_prefix", "initiative", "business_unit",
    "priority", "share", "enabled", "note",
})


def can_manage_costs(user: User) -> bool:
    """Portfolio admins (and superusers) configure sources, rules and FX rates and start imports."""
    return user_access_scope(user=user).write_all


def can_see_unallocated(user: User) -> bool:
    """Executives and portfolio admins see cost no rule allocates (and the sources and imports it comes from)."""
    scope = user_access_scope(user=user)
    return scope.write_all or scope.has_role(GlobalRole.EXECUTIVE)


def _require_manager(actor: User) -> None:
    if not can_manage_costs(actor):
        raise PermissionDenied("Only portfolio admins manage cost sources, imports, allocation rules and FX rates.")


# --- sources -----------------------------------------------------------------------------------------------------


def _clean_source(source: CostSource) -> None:
    source.full_clean()
    if source.kind == SourceKind.AWS and not source.tag_key:
        raise ValidationError({"tag_key": "AWS pulls group by a cost-allocation tag: name it."})
    if source.kind == SourceKind.AZURE and not source.azure_scope:
        raise ValidationError({"azure_scope": "Azure pulls need a scope, e.g. /subscriptions/<id>."})
    if source.folder:
        root = Path(settings.COST_IMPORT_DIR).resolve()
        if not (root / source.folder).resolve().is_relative_to(root):
            raise ValidationError({"folder": "The folder must be inside COST_IMPORT_DIR."})


@transaction.atomic
def cost_source_create(*, actor: User, **fields: Any) -> CostSource:
    """Register a cost source (FOCUS files, AWS Cost Explorer or Azure Cost Management)."""
    _require_manager(actor)
    unknown = set(fields) - SOURCE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown cost source field."))
    source = CostSource(**fields)
    _clean_source(source)
    source.save()
    return source


@transaction.atomic
def cost_source_update(*, actor: User, source: CostSource, **fields: Any) -> CostSource:
    """Change a cost source's settings (its kind cannot change once it has imports)."""
    _require_manager(actor)
    unknown = set(fields) - SOURCE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown cost source field."))
    if "kind" in fields and fields["kind"] != source.kind and source.imports.exists():
        raise ValidationError({"kind": "This source already has imports; create a new source instead."})
    for name, value in fields.items():
        setattr(source, name, value)
    _clean_source(source)
    source.save(update_fields=[*fields, "updated_at"])
    return source


# --- imports -----------------------------------------------------------------------------------------------------


def _import_dir(source: CostSource) -> Path:
    folder = Path(settings.COST_IMPORT_DIR) / "imports" / str(source.pk) / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _store(handle, target: Path, limit: int, name: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    size = 0
    with open(target, "wb") as out:
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise ValidationError({"file": f"{name} is larger than the limit of {limit:,} bytes per file "
                                               f"(COST_IMPORT_MAX_BYTES); nothing was imported."})
            digest.update(chunk)
            out.write(chunk)
    return {"name": name, "path": str(target), "size": size, "sha256": digest.hexdigest()}


def _safe_name(name: str) -> str:
    base = Path(name).name.replace("\x00", "") or "costs.csv"
    return base[:200]


def _enqueue_import(cost_import: CostImport) -> None:
    from workers.tasks.costs import run_import

    transaction.on_commit(lambda: run_import.delay(cost_import.pk))


def _create_import(*, actor: User | None, source: CostSource, origin: str, files: list[dict],
                   requested: tuple[date, date] | None = None) -> CostImport:
    params = {"source": source.pk, "origin": origin, "files": [entry["name"] for entry in files]}
    job = job_create(kind=IMPORT_JOB, params=params, requested_by=actor, total=100)
    cost_import = CostImport.objects.create(
        source=source, job=job, origin=origin, files=files, requested_by=actor,
        requested_start=requested[0] if requested else None, requested_end=requested[1] if requested else None,
    )
    Job.objects.filter(pk=job.pk).update(params={**job.params, "import": cost_import.pk})
    return cost_import


@transaction.atomic
def cost_import_create(*, actor: User, source: CostSource, uploads: Iterable[UploadedFile] = (),
                       paths: Iterable[Path] = (), origin: str = ImportOrigin.UPLOAD, enqueue: bool = True
                       ) -> CostImport:
    """Accept FOCUS files (uploads or server paths) into a source and queue their import as a Job.

    Files over COST_IMPORT_MAX_BYTES are refused before anything is stored. All the files form one import: a
    provider export split into parts must be imported together, since each import replaces the source's rows for
    the periods it covers.
    """
    _require_manager(actor)
    uploads, paths = list(uploads), [Path(path) for path in paths]
    if not uploads and not paths:
        raise ValidationError({"file": "Choose at least one FOCUS file (CSV, gzip CSV or Parquet)."})
    limit = settings.COST_IMPORT_MAX_BYTES
    for upload in uploads:
        if upload.size is not None and upload.size > limit:
            raise ValidationError({"file": f"{upload.name} is {upload.size:,} bytes, over the limit of {limit:,} "
                                           f"bytes per file (COST_IMPORT_MAX_BYTES); nothing was imported."})
        if upload.size == 0:
            raise ValidationError({"file": f"{upload.name} is empty; nothing was imported."})
    for path in paths:
        if not path.is_file():
            raise ValidationError({"file": f"{path} is not a readable file."})
        if path.stat().st_size > limit:
            raise ValidationError({"file": f"{path.name} is {path.stat().st_size:,} bytes, over the limit of "
                                           f"{limit:,} bytes per file (COST_IMPORT_MAX_BYTES); nothing was imported."})
    folder = _import_dir(source)
    files = []
    try:
        for index, upload in enumerate(uploads, start=1):
            name = _safe_name(upload.name or f"upload-{index}")
            upload.seek(0)
            files.append(_store(upload, folder / f"{index:03d}-{name}", limit, name))
        for path in paths:
            with open(path, "rb") as handle:
                files.append(_store(handle, folder / f"{len(files) + 1:03d}-{_safe_name(path.name)}", limit, path.name))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    cost_import = _create_import(actor=actor, source=source, origin=origin, files=files)
    if enqueue:
        _enqueue_import(cost_import)
    return cost_import


def cost_import_file(*, actor: User, source: CostSource, paths: Iterable[Path],
                     origin: str = ImportOrigin.COMMAND) -> CostImport:
    """Import FOCUS files now, in this process (management command, demo data); returns the finished import."""
    cost_import = cost_import_create(actor=actor, source=source, paths=paths, origin=origin, enqueue=False)
    cost_import_run(import_id=cost_import.pk)
    cost_import.refresh_from_db()
    return cost_import


def _report(import_id: int, job_id: int | None):
    def report(percent: int, message: str) -> None:
        CostImport.objects.filter(pk=import_id).update(heartbeat_at=timezone.now())
        if job_id is not None:
            job_progress(job_id=job_id, done=percent, message=message)

    return report


def _fetch_pull(cost_import: CostImport) -> tuple[datetime, datetime]:
    """Call the cloud API for the requested days and keep the answer as a FOCUS CSV next to uploaded files."""
    source = cost_import.source
    start, end = cost_import.requested_start, cost_import.requested_end
    if source.kind == SourceKind.AWS:
        pulled = aws_costs.fetch_daily_costs(
            start=start, end=end, tag_key=source.tag_key, effective_metric=source.aws_metric,
            region=source.aws_region, role_arn=source.aws_role_arn, external_id=source.aws_external_id,
        )
    else:
        pulled = azure_costs.fetch_daily_costs(scope=source.azure_scope, start=start, end=end,
                                               tag_key=source.tag_key, cost_type=source.azure_cost_type)
    folder = _import_dir(source)
    path = folder / f"{source.kind}-{start.isoformat()}-{end.isoformat()}.csv"
    count = focus.write_csv(pulled.rows, path)
    entry = {"name": path.name, "path": str(path), "size": path.stat().st_size, "rows": count, "pages": pulled.pages,
             "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    CostImport.objects.filter(pk=cost_import.pk).update(files=[entry])
    cost_import.files = [entry]
    return _day_range(start, end)


def _day_range(start: date, end: date) -> tuple[datetime, datetime]:
    return (datetime.combine(start, datetime.min.time(), tzinfo=UTC),
            datetime.combine(end, datetime.min.time(), tzinfo=UTC))


def _empty_pull(cost_import: CostImport) -> bool:
    return bool(cost_import.files) and all(entry.get("rows") == 0 for entry in cost_import.files)


def _clear_period(*, cost_import: CostImport, period: tuple[datetime, datetime]) -> pipeline.ImportOutcome:
    """A pull that found no cost for its days still replaces them: the provider restated them to nothing."""
    with transaction.atomic(), connection.cursor() as cursor:
        allocation.lock_cost_writes(cursor)
        cursor.execute(
            "DELETE FROM costs_costrecord WHERE source_id = %s AND charge_period_start >= %s "
            "AND charge_period_start < %s", [cost_import.source_id, *period],
        )
        replaced = cursor.rowcount
        allocation.rebuild_rollup(cursor, source_id=cost_import.source_id, day_from=period[0].date(),
                                  day_to=period[1].date())
    return pipeline.ImportOutcome(rows=0, replaced=replaced, period_start=period[0], period_end=period[1],
                                  totals={}, new_dimensions=0)


def cost_import_run(*, import_id: int) -> CostImport | None:
    """Run one import (idempotent): stage, validate and swap its files, or fetch and import an API pull.

    A second runner of the same import returns at once; a finished import is left alone; an interrupted one (worker
    killed) starts again from its stored files. Bad input fails the import with its row-level errors, nothing
    written. Database outages propagate so the task can retry.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_IMPORT_LOCK, import_id])
        if not cursor.fetchone()[0]:
            return None
    try:
        cost_import = CostImport.objects.select_related("source", "job").get(pk=import_id)
        if cost_import.is_finished:
            return cost_import
        job_id = cost_import.job_id
        now = timezone.now()
        CostImport.objects.filter(pk=import_id).update(status=ImportStatus.RUNNING, started_at=now, heartbeat_at=now,
                                                       attempts=cost_import.attempts + 1, error="")
        CostImportError.objects.filter(cost_import_id=import_id).delete()
        if job_id:
            job_start(job_id=job_id, total=100, message="Starting")
        try:
            period = None
            if cost_import.origin in (ImportOrigin.AWS, ImportOrigin.AZURE):
                period = _day_range(cost_import.requested_start, cost_import.requested_end)
                if not cost_import.files:
                    _fetch_pull(cost_import)
            if _empty_pull(cost_import):
                outcome = _clear_period(cost_import=cost_import, period=period)
            else:
                outcome = pipeline.run(import_id=import_id, source_id=cost_import.source_id, files=cost_import.files,
                                       period=period, report=_report(import_id, job_id))
        except pipeline.ImportRejected as exc:
            _import_failed(cost_import, exc.message, exc.errors, exc.total)
        except (aws_costs.AwsCostError, azure_costs.AzureCostError) as exc:
            _import_failed(cost_import, str(exc), [], 0)
            CostSource.objects.filter(pk=cost_import.source_id).update(last_error=str(exc)[:2000])
        except (OperationalError, InterfaceError):
            CostImport.objects.filter(pk=import_id).update(status=ImportStatus.QUEUED)
            raise
        except Exception as exc:
            logger.exception("Cost import %s failed", import_id)
            _import_failed(cost_import, f"Unexpected error: {exc}", [], 0)
        else:
            _import_succeeded(cost_import, outcome)
        cost_import.refresh_from_db()
        return cost_import
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_IMPORT_LOCK, import_id])


@transaction.atomic
def _import_succeeded(cost_import: CostImport, outcome: pipeline.ImportOutcome) -> None:
    now = timezone.now()
    CostImport.objects.filter(pk=cost_import.pk).update(
        status=ImportStatus.SUCCEEDED, finished_at=now, heartbeat_at=now, rows_imported=outcome.rows,
        rows_replaced=outcome.replaced, period_start=outcome.period_start, period_end=outcome.period_end,
        totals=outcome.totals, error_count=0, error="",
    )
    source_changes: dict[str, Any] = {"last_error": ""}
    if cost_import.origin in (ImportOrigin.AWS, ImportOrigin.AZURE):
        source = CostSource.objects.select_for_update().get(pk=cost_import.source_id)
        source_changes.update(last_pulled_at=now)
        if source.pulled_until is None or cost_import.requested_end > source.pulled_until:
            source_changes["pulled_until"] = cost_import.requested_end
    CostSource.objects.filter(pk=cost_import.source_id).update(**source_changes)
    result = {"import": cost_import.pk, "rows": outcome.rows, "replaced": outcome.replaced,
              "period_start": outcome.period_start.isoformat(), "period_end": outcome.period_end.isoformat(),
              "totals": outcome.totals, "timings": outcome.timings}
    if cost_import.job_id:
        job_succeed(job_id=cost_import.job_id, result=result,
                    message=f"Imported {outcome.rows:,} cost lines (replaced {outcome.replaced:,})")
    audit_security_event(action="cost_import", actor=cost_import.requested_by, detail={
        "source": cost_import.source_id, "import": cost_import.pk, "status": "succeeded",
        "files": [{k: entry.get(k) for k in ("name", "size", "sha256")} for entry in cost_import.files],
        "rows": outcome.rows, "replaced": outcome.replaced, "totals": outcome.totals,
        "period": [outcome.period_start.isoformat(), outcome.period_end.isoformat()],
    })


@transaction.atomic
def _import_failed(cost_import: CostImport, message: str, errors: list[pipeline.RowError], total: int) -> None:
    now = timezone.now()
    CostImportError.objects.filter(cost_import_id=cost_import.pk).delete()
    CostImportError.objects.bulk_create(
        [CostImportError(cost_import_id=cost_import.pk, file=error.file[:255], line=error.line,
                         column=error.column[:128], value=error.value, reason=error.reason) for error in errors],
        batch_size=2000,
    )
    CostImport.objects.filter(pk=cost_import.pk).update(status=ImportStatus.FAILED, finished_at=now, heartbeat_at=now,
                                                        error=message, error_count=total)
    if cost_import.job_id:
        job_fail(job_id=cost_import.job_id, error=message)
    audit_security_event(action="cost_import", actor=cost_import.requested_by, detail={
        "source": cost_import.source_id, "import": cost_import.pk, "status": "failed", "error": message[:500],
        "files": [{k: entry.get(k) for k in ("name", "size", "sha256")} for entry in cost_import.files],
        "errors": total,
    })


@transaction.atomic
def cost_import_retry(*, actor: User, cost_import: CostImport) -> CostImport:
    """Queue a failed import again from its stored files (after fixing the cause, e.g. an FX rate or a setting)."""
    _require_manager(actor)
    if cost_import.status != ImportStatus.FAILED:
        raise ValidationError({"status": "Only a failed import can be retried."})
    CostImport.objects.filter(pk=cost_import.pk).update(status=ImportStatus.QUEUED, finished_at=None, attempts=0)
    if cost_import.job_id:
        Job.objects.filter(pk=cost_import.job_id).update(status=JobStatus.QUEUED, finished_at=None, error="",
                                                         message="Queued again", progress_done=0)
    _enqueue_import(cost_import)
    cost_import.refresh_from_db()
    return cost_import


def cost_imports_recover_stalled(*, stalled_after: timedelta | None = None) -> list[int]:
    """Queue again imports whose worker died (running without a heartbeat) or whose message was lost (queued for
    too long); give up after MAX_ATTEMPTS. Returns the ids queued again."""
    from workers.tasks.costs import run_import

    if stalled_after is None:
        stalled_after = timedelta(seconds=settings.COST_IMPORT_STALL_SECONDS)
    cutoff = timezone.now() - stalled_after
    candidates = CostImport.objects.filter(
        status__in=[ImportStatus.RUNNING, ImportStatus.QUEUED], created_at__lte=cutoff,
    ).exclude(heartbeat_at__gt=cutoff)
    requeued = []
    for cost_import in candidates:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_IMPORT_LOCK, cost_import.pk])
            if not cursor.fetchone()[0]:
                continue  # a live worker holds it
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_IMPORT_LOCK, cost_import.pk])
        if cost_import.attempts >= MAX_ATTEMPTS:
            _import_failed(cost_import, f"Gave up after {cost_import.attempts} interrupted attempts.", [], 0)
            continue
        CostImport.objects.filter(pk=cost_import.pk).update(status=ImportStatus.QUEUED, heartbeat_at=timezone.now())
        run_import.delay(cost_import.pk)
        requeued.append(cost_import.pk)
    return requeued


# --- pulls -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullPlan:
    start: date
    end: date


def pull_window(*, source: CostSource, today: date | None = None) -> PullPlan:
    """The days the next API pull asks for: from the last pull minus the look-back (restated days), or the first
    `initial_days`, up to yesterday."""
    today = today or timezone.now().astimezone(UTC).date()
    if source.pulled_until:
        start = source.pulled_until - timedelta(days=source.lookback_days)
    else:
        start = today - timedelta(days=source.initial_days)
    return PullPlan(start=start, end=today)


def _folder_candidates(source: CostSource) -> list[list[Path]]:
    """New export deliveries in a FOCUS source's folder: each file, and each sub-folder's files together."""
    root = (Path(settings.COST_IMPORT_DIR) / source.folder).resolve()
    if not root.is_dir():
        raise ValidationError({"folder": f"The folder {root} does not exist."})
    seen = {
        (entry.get("source_path"), entry.get("size"), entry.get("mtime"))
        for files in CostImport.objects.filter(source=source).exclude(status=ImportStatus.FAILED)
        .values_list("files", flat=True) for entry in files
    }

    def is_focus(path: Path) -> bool:
        return path.is_file() and path.name.lower().endswith(FOCUS_SUFFIXES)

    def is_new(path: Path) -> bool:
        stat = path.stat()
        return (str(path), stat.st_size, stat.st_mtime_ns) not in seen

    groups = [[path] for path in sorted(root.iterdir()) if is_focus(path) and is_new(path)]
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        parts = sorted(path for path in folder.rglob("*") if is_focus(path))
        if parts and any(is_new(path) for path in parts):
            groups.append(parts)
    return groups


@transaction.atomic
def cost_source_pull(*, actor: User | None, source: CostSource, start: date | None = None, end: date | None = None,
                     enqueue: bool = True) -> list[CostImport]:
    """Pull a source now: an API pull of the pull window (or the given days) as one import, or one import per new
    delivery in a FOCUS folder. Returns the queued imports."""
    if actor is not None:
        _require_manager(actor)
    if source.kind == SourceKind.FOCUS:
        if not source.folder:
            raise ValidationError({"folder": "This FOCUS source has no folder to pull from; upload files instead."})
        imports = []
        for paths in _folder_candidates(source):
            folder = _import_dir(source)
            files = []
            for path in paths:
                target = folder / f"{len(files) + 1:03d}-{_safe_name(path.name)}"
                with open(path, "rb") as handle:
                    entry = _store(handle, target, settings.COST_IMPORT_MAX_BYTES, path.name)
                stat = path.stat()
                files.append({**entry, "source_path": str(path), "mtime": stat.st_mtime_ns})
            cost_import = _create_import(actor=actor, source=source, origin=ImportOrigin.FOLDER, files=files)
            imports.append(cost_import)
            if enqueue:
                _enqueue_import(cost_import)
        return imports
    plan = pull_window(source=source)
    start, end = start or plan.start, end or plan.end
    if start >= end:
        raise ValidationError({"start": "Nothing to pull: the first day must be before the end day."})
    origin = ImportOrigin.AWS if source.kind == SourceKind.AWS else ImportOrigin.AZURE
    cost_import = _create_import(actor=actor, source=source, origin=origin, files=[], requested=(start, end))
    if enqueue:
        _enqueue_import(cost_import)
    return [cost_import]


def cost_sources_pull_all() -> dict[int, list[int]]:
    """The daily pull: every enabled source with something to pull. Returns {source id: [import ids]}."""
    queued: dict[int, list[int]] = {}
    for source in CostSource.objects.filter(enabled=True):
        if source.kind == SourceKind.FOCUS and not source.folder:
            continue
        try:
            queued[source.pk] = [item.pk for item in cost_source_pull(actor=None, source=source)]
        except ValidationError as exc:
            CostSource.objects.filter(pk=source.pk).update(last_error="; ".join(exc.messages)[:2000])
    return queued


# --- allocation rules and re-allocation --------------------------------------------------------------------------


def _clean_rule(rule: AllocationRule) -> None:
    errors: dict[str, str] = {}
    if rule.kind == RuleKind.TAG:
        if not rule.tag_key.strip():
            errors["tag_key"] = "A tag rule needs the tag key."
        if not rule.tag_value and (rule.initiative_id or rule.business_unit_id):
            errors["tag_value"] = ("Give the tag value that maps to this target, or leave the target empty to read "
                                   "the value as an initiative key.")
        if rule.tag_value and not (rule.initiative_id or rule.business_unit_id):
            errors["initiative"] = "Choose the initiative or the business unit the tagged cost goes to."
    else:
        if rule.kind == RuleKind.SUB_ACCOUNT and not rule.sub_account_id.strip():
            errors["sub_account_id"] = "A sub-account rule needs the sub-account id."
        if rule.kind == RuleKind.RESOURCE_PREFIX and not rule.resource_prefix.strip():
            errors["resource_prefix"] = "A resource rule needs the resource-id prefix."
        if not (rule.initiative_id or rule.business_unit_id):
            errors["initiative"] = "Choose the initiative or the business unit the cost goes to."
    if rule.initiative_id and rule.business_unit_id:
        errors["business_unit"] = "Choose an initiative or a business unit, not both."
    if errors:
        raise ValidationError(errors)
    rule.full_clean()
    same_matcher = AllocationRule.objects.filter(
        enabled=True, kind=rule.kind, priority=rule.priority, tag_key=rule.tag_key, tag_value=rule.tag_value,
        sub_account_id=rule.sub_account_id, resource_prefix=rule.resource_prefix,
    ).exclude(pk=rule.pk)
    if rule.enabled and rule.tag_value + rule.sub_account_id + rule.resource_prefix:
        shares = sum((other.share for other in same_matcher), Decimal(0)) + rule.share
        if shares > 1:
            raise ValidationError({"share": f"Rules with this condition and priority would split {shares:.6f} of "
                                            f"the cost; the shares of one split must add up to at most 1."})


@transaction.atomic
def allocation_rule_create(*, actor: User, **fields: Any) -> AllocationRule:
    """Add an allocation rule and queue the re-allocation of all cost history."""
    _require_manager(actor)
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown allocation rule field."))
    rule = AllocationRule(**fields)
    rule.tag_key, rule.tag_value = rule.tag_key.strip(), rule.tag_value.strip()
    _clean_rule(rule)
    rule.save()
    cost_reallocate_schedule(actor=actor, reason=f"rule {rule.pk} added")
    return rule


@transaction.atomic
def allocation_rule_update(*, actor: User, rule: AllocationRule, **fields: Any) -> AllocationRule:
    """Change an allocation rule and queue the re-allocation of all cost history."""
    _require_manager(actor)
    unknown = set(fields) - RULE_FIELDS
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown allocation rule field."))
    for name, value in fields.items():
        setattr(rule, name, value.strip() if name in ("tag_key", "tag_value") else value)
    _clean_rule(rule)
    rule.save()
    cost_reallocate_schedule(actor=actor, reason=f"rule {rule.pk} changed")
    return rule


@transaction.atomic
def allocation_rule_delete(*, actor: User, rule: AllocationRule) -> Job:
    """Delete an allocation rule and queue the re-allocation of all cost history (returned)."""
    _require_manager(actor)
    rule_id = rule.pk
    rule.delete()
    return cost_reallocate_schedule(actor=actor, reason=f"rule {rule_id} deleted")


def cost_reallocate_schedule(*, actor: User | None, reason: str) -> Job:
    """Queue one re-allocation of all history (allocations and the daily rollup); reuses a still-queued one."""
    if actor is not None:
        _require_manager(actor)
    queued = Job.objects.filter(kind=REALLOCATE_JOB, status=JobStatus.QUEUED).order_by("-created_at").first()
    if queued is not None:
        return queued
    job = job_create(kind=REALLOCATE_JOB, params={"reason": reason}, requested_by=actor, total=100)

    def enqueue() -> None:
        from workers.tasks.costs import reallocate

        reallocate.delay(job.pk)

    transaction.on_commit(enqueue)
    return job


def cost_reallocate_run(*, job_id: int | None = None, actor: User | None = None) -> dict[str, int]:
    """Re-evaluate every dimension against the current rules and initiatives, then rebuild the daily rollup (with
    the current FX rates), in one transaction; audited as one event."""
    if job_id is not None:
        job = Job.objects.filter(pk=job_id).first()
        if job is None or job.is_finished:
            return {}
        actor = actor or job.requested_by
        job_start(job_id=job_id, total=100, message="Re-allocating")
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            allocation.lock_cost_writes(cursor)
            allocations = allocation.allocate(cursor)
            if job_id is not None:
                job_progress(job_id=job_id, done=50, message="Rebuilding the daily rollup")
            rollup = allocation.rebuild_rollup(cursor)
            result = {"allocations": allocations, "rollup_rows": rollup}
            audit_security_event(action="cost_reallocation", actor=actor, detail=result)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        if job_id is not None:
            job_fail(job_id=job_id, error=str(exc))
        raise
    if job_id is not None:
        job_succeed(job_id=job_id, result=result, message=f"Re-allocated {allocations:,} dimension shares")
    return result


# --- FX rates ----------------------------------------------------------------------------------------------------


def _clean_currency(currency: str) -> str:
    try:
        code = focus.parse_currency(currency or "")
    except focus.FocusValueError as exc:
        raise ValidationError({"currency": f"“{currency}” is {exc}."}) from exc
    if code == settings.REPORTING_CURRENCY:
        raise ValidationError({"currency": f"{code} is the reporting currency: its rate is always 1."})
    return code


@transaction.atomic
def fx_rate_set(*, actor: User, currency: str, valid_from: date, rate: Decimal, note: str = "",
                schedule: bool = True) -> FxRate:
    """Set the rate of a currency from a day on (replacing that day's rate) and queue the rollup's conversion."""
    _require_manager(actor)
    code = _clean_currency(currency)
    if rate is None or rate <= 0:
        raise ValidationError({"rate": "The rate must be a positive number."})
    fx_rate, created = FxRate.objects.get_or_create(currency=code, valid_from=valid_from,
                                                    defaults={"rate": rate, "note": note})
    if not created:
        fx_rate.rate, fx_rate.note = rate, note
        fx_rate.full_clean()
        fx_rate.save(update_fields=["rate", "note", "updated_at"])
    if schedule:
        cost_reallocate_schedule(actor=actor, reason=f"FX rate {code} from {valid_from}")
    return fx_rate


@transaction.atomic
def fx_rate_delete(*, actor: User, fx_rate: FxRate) -> Job:
    """Remove an FX rate and queue the rollup's conversion (returned)."""
    _require_manager(actor)
    currency = fx_rate.currency
    fx_rate.delete()
    return cost_reallocate_schedule(actor=actor, reason=f"FX rate {currency} removed")


@transaction.atomic
def fx_rates_import_csv(*, actor: User, text: str) -> int:
    """Set many FX rates from CSV lines `currency,valid_from,rate[,note]` (a header line is allowed), all or
    nothing; errors name the line and column."""
    _require_manager(actor)
    rows = list(csv.reader(io.StringIO(text)))
    errors: list[str] = []
    parsed: list[tuple[str, date, Decimal, str]] = []
    for number, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if number == 1 and row[0].strip().lower() == "currency":
            continue
        if len(row) < 3:
            errors.append(f"Line {number}: expected currency,valid_from,rate[,note]; got {len(row)} field(s).")
            continue
        currency, day, rate = (cell.strip() for cell in row[:3])
        try:
            code = _clean_currency(currency)
        except ValidationError as exc:
            errors.append(f"Line {number}, currency: {exc.message_dict['currency'][0]}")
            continue
        try:
            valid_from = date.fromisoformat(day)
        except ValueError:
            errors.append(f"Line {number}, valid_from: “{day}” is not a date (YYYY-MM-DD).")
            continue
        try:
            value = Decimal(rate)
            if not value.is_finite() or value <= 0:
                raise InvalidOperation
        except InvalidOperation:
            errors.append(f"Line {number}, rate: “{rate}” is not a positive number.")
            continue
        parsed.append((code, valid_from, value, row[3].strip() if len(row) > 3 else ""))
    if errors:
        raise ValidationError({"csv": errors})
    if not parsed:
        raise ValidationError({"csv": ["No rates found: paste lines like USD,2025-01-01,0.92."]})
    for code, valid_from, value, note in parsed:
        fx_rate_set(actor=actor, currency=code, valid_from=valid_from, rate=value, note=note, schedule=False)
    cost_reallocate_schedule(actor=actor, reason=f"{len(parsed)} FX rates imported")
    return len(parsed)


# --- exports -----------------------------------------------------------------------------------------------------


def cost_export_record(*, actor: User, request=None, what: str, filters: dict[str, Any], rows: int) -> None:
    """Record a cost export (CSV download) as an `export` security event."""
    audit_security_event(action=SecurityAction.EXPORT, actor=actor, request=request,
                         detail={"what": what, "filters": filters, "rows": rows})

