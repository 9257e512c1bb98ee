"""Writes for monitoring rules and alerts, and the evaluation that opens and resolves alerts after every sync."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from apps.core.access import can
from apps.mlops import monitoring
from apps.mlops.choices import AlertStatus, Resolution, RuleKind, Severity
from apps.mlops.models import Alert, MonitoringRule
from apps.portfolio.models import Initiative

log = logging.getLogger(__name__)

DEFAULT_DRIFT_LIMIT = 0.25  # PSI >= 0.25: major shift
RULE_FIELDS = ("name", "kind", "metric_key", "model_name", "min_value", "max_value", "drop_tolerance",
               "higher_is_better", "window_days", "baseline_days", "drift_limit", "stale_days",
               "consecutive_breaches", "severity", "recipients", "active")


def _require_change(actor, initiative: Initiative, what: str) -> None:
    if not can(actor, initiative, "change"):
        raise PermissionDenied(f"Only the initiative's owner, a lead of its business unit or a portfolio admin can "
                               f"{what}.")


def _clean_rule(values: dict[str, Any]) -> dict[str, Any]:
    """Validate a rule's fields for its kind; fill the defaults (drift limit 0.25); raise per-field errors."""
    errors: dict[str, str] = {}
    kind = values.get("kind")
    if kind not in RuleKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(RuleKind.values)}."})
    values["name"] = (values.get("name") or "").strip()
    values["metric_key"] = (values.get("metric_key") or "").strip()
    values["model_name"] = (values.get("model_name") or "").strip()
    if not values["name"]:
        values["name"] = f"{RuleKind(kind).label}: {values['metric_key'] or 'runs and versions'}"[:200]
    if kind != RuleKind.STALENESS and not values["metric_key"]:
        errors["metric_key"] = "Name the MLflow metric to watch, e.g. auc or psi_income."
    if kind == RuleKind.THRESHOLD:
        low, high = values.get("min_value"), values.get("max_value")
        if low is None and high is None:
            errors["min_value"] = "Give a minimum, a maximum or both."
        elif low is not None and high is not None and low > high:
            errors["max_value"] = "The maximum must not be below the minimum."
    elif kind == RuleKind.RELATIVE_DROP:
        tolerance = values.get("drop_tolerance")
        if tolerance is None:
            errors["drop_tolerance"] = "Give the tolerated drop as a share, e.g. 0.05 for 5%."
        elif not 0 < tolerance < 1:
            errors["drop_tolerance"] = "The tolerated drop is a share between 0 and 1, e.g. 0.05 for 5%."
    elif kind == RuleKind.DRIFT:
        if values.get("drift_limit") is None:
            values["drift_limit"] = DEFAULT_DRIFT_LIMIT
        elif values["drift_limit"] <= 0:
            errors["drift_limit"] = "The drift limit must be above zero."
    elif kind == RuleKind.STALENESS:
        if not values.get("stale_days"):
            errors["stale_days"] = "Give the number of days after which retraining is overdue."
        values["metric_key"] = ""
    recipients = values.get("recipients") or []
    if isinstance(recipients, str):
        recipients = [item.strip() for item in recipients.replace(";", ",").replace("\n", ",").split(",")]
    recipients = [item for item in (r.strip() for r in recipients) if item]
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError:
            errors["recipients"] = f"“{address}” is not an email address."
            break
    values["recipients"] = sorted(set(recipients))
    if values.get("severity") and values["severity"] not in Severity.values:
        errors["severity"] = f"Choose one of: {', '.join(Severity.values)}."
    if values.get("consecutive_breaches") is not None and not 1 <= values["consecutive_breaches"] <= 100:
        errors["consecutive_breaches"] = "Between 1 and 100."
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def rule_create(*, actor, initiative: Initiative, kind: str, **fields: Any) -> MonitoringRule:
    """Add a monitoring rule to an initiative and evaluate it at once against the data already synced."""
    _require_change(actor, initiative, "add monitoring rules")
    unknown = set(fields) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown field."))
    values = _clean_rule({**fields, "kind": kind})
    rule = MonitoringRule.objects.create(initiative=initiative, created_by=actor, **values)
    monitoring_evaluate(rule_ids=[rule.pk])
    return rule


@transaction.atomic
def rule_update(*, actor, rule: MonitoringRule, **changes: Any) -> MonitoringRule:
    """Change a rule; re-evaluates it (pausing one resolves its active alert)."""
    _require_change(actor, rule.initiative, "change monitoring rules")
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This field cannot be changed."))
    values = {name: getattr(rule, name) for name in RULE_FIELDS}
    values.update(changes)
    values = _clean_rule(values)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save(update_fields=[*RULE_FIELDS, "updated_at"])
    if not rule.active:
        for alert in Alert.objects.select_for_update().filter(rule=rule).exclude(status=AlertStatus.RESOLVED):
            _resolve(alert, actor=actor, resolution=Resolution.MANUAL, note="Rule paused.")
    else:
        monitoring_evaluate(rule_ids=[rule.pk])
    return rule


@transaction.atomic
def rule_delete(*, actor, rule: MonitoringRule) -> None:
    """Delete a rule with its alerts."""
    _require_change(actor, rule.initiative, "delete monitoring rules")
    rule.delete()


@transaction.atomic
def alert_acknowledge(*, actor, alert: Alert) -> Alert:
    """Someone is on it: open → acknowledged."""
    _require_change(actor, alert.initiative, "acknowledge its alerts")
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != AlertStatus.OPEN:
        raise ValidationError({"status": f"Only open alerts can be acknowledged; this one is {alert.status}."})
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = actor
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "updated_at"])
    return alert


@transaction.atomic
def alert_resolve(*, actor, alert: Alert, note: str = "") -> Alert:
    """Close an alert by hand; the same breach does not reopen it, a new one does."""
    _require_change(actor, alert.initiative, "resolve its alerts")
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == AlertStatus.RESOLVED:
        raise ValidationError({"status": "This alert is already resolved."})
    _resolve(alert, actor=actor, resolution=Resolution.MANUAL, note=note)
    return alert


def _resolve(alert: Alert, *, actor, resolution: str, note: str = "") -> None:
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at = timezone.now()
    alert.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
    alert.resolution = resolution
    if note:
        alert.message = f"{alert.message}\n\nResolved: {note}".strip()
    alert.save(update_fields=["status", "resolved_at", "resolved_by", "resolution", "message", "updated_at"])


# --- evaluation -------------------------------------------------------------------------------------------------


@dataclass
class EvaluationOutcome:
    evaluated: int = 0
    opened: int = 0
    resolved: int = 0
    updated: int = 0


def rule_verdict(rule: MonitoringRule, *, now: datetime | None = None) -> monitoring.Verdict:
    """Evaluate one rule against the synced data (reads only)."""
    from apps.mlops.selectors import last_activity, metric_series

    now = now or timezone.now()
    if rule.kind == RuleKind.STALENESS:
        return monitoring.evaluate_staleness(last_activity(initiative_id=rule.initiative_id,
                                                          model_name=rule.model_name),
                                             stale_days=rule.stale_days or 30, now=now)
    days = rule.window_days + rule.baseline_days + 1 if rule.kind == RuleKind.RELATIVE_DROP else 400
    points = metric_series(initiative_id=rule.initiative_id, key=rule.metric_key, model_name=rule.model_name,
                           days=max(days, 30))
    if rule.kind == RuleKind.THRESHOLD:
        return monitoring.evaluate_threshold(points, min_value=rule.min_value, max_value=rule.max_value,
                                             consecutive=rule.consecutive_breaches)
    if rule.kind == RuleKind.DRIFT:
        return monitoring.evaluate_drift(points, limit=rule.drift_limit if rule.drift_limit is not None
                                         else DEFAULT_DRIFT_LIMIT, consecutive=rule.consecutive_breaches)
    return monitoring.evaluate_relative_drop(
        points, tolerance=rule.drop_tolerance or 0.05, window_days=rule.window_days,
        baseline_days=rule.baseline_days, consecutive=rule.consecutive_breaches,
        higher_is_better=rule.higher_is_better,
    )


def monitoring_evaluate(*, rule_ids: list[int] | None = None, now: datetime | None = None) -> EvaluationOutcome:
    """Evaluate active rules (all, or the given ones): open alerts on new breaches, auto-resolve those that hold
    again, and email the initiative owner and the rule's recipients about each new alert (after commit).

    Writes only when an alert changes, so re-evaluating unchanged data writes nothing."""
    now = now or timezone.now()
    outcome = EvaluationOutcome()
    rules = MonitoringRule.objects.filter(active=True).select_related("initiative", "initiative__owner")
    if rule_ids is not None:
        rules = rules.filter(pk__in=rule_ids)
    for rule in rules:
        verdict = rule_verdict(rule, now=now)
        outcome.evaluated += 1
        with transaction.atomic():
            change = _apply_verdict(rule, verdict, now=now)
        if change == "opened":
            outcome.opened += 1
        elif change == "resolved":
            outcome.resolved += 1
        elif change == "updated":
            outcome.updated += 1
    return outcome


def _apply_verdict(rule: MonitoringRule, verdict: monitoring.Verdict, *, now: datetime) -> str:
    active = Alert.objects.select_for_update().filter(rule=rule).exclude(status=AlertStatus.RESOLVED).first()
    if not verdict.breaching:
        if active is None:
            return ""
        _resolve(active, actor=None, resolution=Resolution.AUTO, note=verdict.summary)
        return "resolved"
    if active is not None:
        changes = {"observed_value": verdict.observed, "last_breach_at": verdict.last_breach_at,
                   "message": verdict.summary}
        changed = [name for name, value in changes.items() if getattr(active, name) != value]
        if not changed:
            return ""
        for name in changed:
            setattr(active, name, changes[name])
        active.save(update_fields=[*changed, "updated_at"])
        return "updated"
    # A breach that someone resolved by hand stays resolved; a new breach episode opens a new alert.
    if Alert.objects.filter(rule=rule, episode_start=verdict.episode_start, resolution=Resolution.MANUAL).exists():
        return ""
    alert = Alert.objects.create(
        rule=rule, initiative=rule.initiative, status=AlertStatus.OPEN, severity=rule.severity,
        title=f"{rule.initiative.key}: {rule.name}"[:300], message=verdict.summary, observed_value=verdict.observed,
        episode_start=verdict.episode_start or now, last_breach_at=verdict.last_breach_at, opened_at=now,
    )
    transaction.on_commit(lambda: _enqueue_notification(alert.pk))
    return "opened"


def _enqueue_notification(alert_id: int) -> None:
    from workers.tasks.mlops import MAIL_QUEUE, notify_alert

    notify_alert.apply_async((alert_id,), queue=MAIL_QUEUE)


def alert_recipients(alert: Alert) -> list[str]:
    """The initiative owner and the rule's recipients, without duplicates."""
    owner = alert.initiative.owner
    addresses = [owner.email] if owner is not None and owner.email else []
    addresses.extend(alert.rule.recipients or [])
    return list(dict.fromkeys(address for address in addresses if address))


def alert_notify(*, alert_id: int) -> bool:
    """Email a new alert to its recipients and stamp notified_at; a mail failure is logged, never raised."""
    alert = Alert.objects.select_related("rule", "initiative", "initiative__owner").filter(pk=alert_id).first()
    if alert is None or alert.notified_at is not None:
        return False
    recipients = alert_recipients(alert)
    if not recipients:
        return False
    base = getattr(settings, "PORTAL_BASE_URL", "").rstrip("/")
    link = f"{base}/mlops/initiatives/{alert.initiative.key}/models/" if base else \
        f"/mlops/initiatives/{alert.initiative.key}/models/"
    subject = f"[Pilotlight] {alert.get_severity_display()}: {alert.title}"
    body = (
        f"{alert.title}\n\n{alert.message}\n\n"
        f"Initiative: {alert.initiative.key} {alert.initiative.name}\n"
        f"Rule: {alert.rule.name} ({alert.rule.get_kind_display()})\n"
        f"Opened: {alert.opened_at:%Y-%m-%d %H:%M %Z}\n\n"
        f"Acknowledge or resolve it at {link}\n"
    )
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
    except Exception:  # noqa: BLE001 - an SMTP outage must not undo the alert
        log.exception("Could not email alert %s to %s", alert.pk, recipients)
        return False
    Alert.objects.filter(pk=alert.pk).update(notified_at=timezone.now())
    return True
