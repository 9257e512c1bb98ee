"""Frameworks as data: read the YAML files in fixtures/frameworks/ and load them into Framework and Requirement.

Used by the data migration (with historical models) and by `manage.py load_frameworks` (with the current ones), so
the loader takes the two model classes as arguments and only uses plain ORM calls. Loading is idempotent: missing
frameworks and requirements are created; existing ones are left as people edited them unless `overwrite` is set,
which resets the shipped fields to the file's content (custom requirements added in the UI are never touched).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from apps.compliance.choices import CheckCode, FrameworkKind
from apps.portfolio.choices import AIType, OperatorRole, RiskTier, Stage

FIXTURE_DIR = Path(__file__).resolve().parent / "fixtures" / "frameworks"
FRAMEWORK_KEYS = {"slug", "name", "short_name", "kind", "version", "source_url", "description", "milestones",
                  "requirements", "defaults"}
REQUIREMENT_KEYS = {"code", "title", "summary", "reference", "section", "applies_from", "risk_tiers",
                    "operator_roles", "ai_types", "stages", "personal_data_only", "checks"}
LIST_CHOICES = {
    "risk_tiers": set(RiskTier.values),
    "operator_roles": set(OperatorRole.values),
    "ai_types": set(AIType.values),
    "stages": set(Stage.values),
    "checks": set(CheckCode.values),
}


class FrameworkFileError(ValueError):
    """A framework file that does not follow the format; the message names the file and the entry."""


@dataclass
class LoadResult:
    frameworks_created: list[str] = field(default_factory=list)
    frameworks_updated: list[str] = field(default_factory=list)
    requirements_created: int = 0
    requirements_updated: int = 0


def framework_files(directory: Path = FIXTURE_DIR) -> list[Path]:
    """The shipped framework files, in a stable order."""
    return sorted(directory.glob("*.yaml"))


def _requirement(raw: dict[str, Any], defaults: dict[str, Any], where: str, position: int) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise FrameworkFileError(f"{where}: each requirement must be a mapping.")
    merged = {**defaults, **raw}
    unknown = set(merged) - REQUIREMENT_KEYS
    if unknown:
        raise FrameworkFileError(f"{where}: unknown keys {sorted(unknown)}.")
    for required in ("code", "title", "summary"):
        if not str(merged.get(required, "")).strip():
            raise FrameworkFileError(f"{where}: '{required}' is required.")
    code = str(merged["code"]).strip()
    values: dict[str, Any] = {
        "code": code,
        "title": str(merged["title"]).strip(),
        "summary": " ".join(str(merged["summary"]).split()),
        "reference": str(merged.get("reference") or code.replace("-", " ")).strip(),
        "section": str(merged.get("section", "")).strip(),
        "position": position,
        "personal_data_only": bool(merged.get("personal_data_only", False)),
        "applies_from": merged.get("applies_from"),
    }
    if values["applies_from"] is not None and not isinstance(values["applies_from"], date):
        raise FrameworkFileError(f"{where} ({code}): applies_from must be a date like 2026-08-02.")
    for key, allowed in LIST_CHOICES.items():
        items = [str(item) for item in (merged.get(key) or [])]
        bad = sorted(set(items) - allowed)
        if bad:
            raise FrameworkFileError(f"{where} ({code}): {key} has unknown values {bad}; allowed: {sorted(allowed)}.")
        values[key] = items
    return values


def parse_framework_file(path: Path) -> dict[str, Any]:
    """Read and validate one framework file: {"framework": {...fields}, "requirements": [{...}, ...]}."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FrameworkFileError(f"{path.name}: not valid YAML ({exc}).") from exc
    if not isinstance(data, dict):
        raise FrameworkFileError(f"{path.name}: the file must be a mapping.")
    data = {key: value for key, value in data.items() if not key.startswith("_")}  # _anchors are YAML helpers
    unknown = set(data) - FRAMEWORK_KEYS
    if unknown:
        raise FrameworkFileError(f"{path.name}: unknown keys {sorted(unknown)}.")
    for required in ("slug", "name", "short_name", "requirements"):
        if not data.get(required):
            raise FrameworkFileError(f"{path.name}: '{required}' is required.")
    kind = data.get("kind", FrameworkKind.INTERNAL)
    if kind not in FrameworkKind.values:
        raise FrameworkFileError(f"{path.name}: kind must be one of {FrameworkKind.values}.")
    milestones = [
        {"date": item["date"].isoformat() if isinstance(item["date"], date) else str(item["date"]),
         "label": str(item["label"])}
        for item in data.get("milestones") or []
    ]
    defaults = data.get("defaults") or {}
    requirements = [
        _requirement(raw, defaults, f"{path.name} requirement #{index + 1}", (index + 1) * 10)
        for index, raw in enumerate(data["requirements"])
    ]
    codes = [item["code"] for item in requirements]
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise FrameworkFileError(f"{path.name}: duplicate requirement codes {duplicates}.")
    framework = {
        "slug": str(data["slug"]), "name": str(data["name"]), "short_name": str(data["short_name"]), "kind": kind,
        "version": str(data.get("version", "")), "source_url": str(data.get("source_url", "")),
        "description": " ".join(str(data.get("description", "")).split()), "milestones": milestones,
    }
    return {"framework": framework, "requirements": requirements}


def load_frameworks(*, framework_model, requirement_model, paths: list[Path] | None = None,
                    overwrite: bool = False) -> LoadResult:
    """Create (or with `overwrite`, reset) the frameworks and requirements described by the files."""
    result = LoadResult()
    for path in paths if paths is not None else framework_files():
        parsed = parse_framework_file(path)
        values = parsed["framework"]
        framework = framework_model.objects.filter(slug=values["slug"]).first()
        if framework is None:
            framework = framework_model.objects.create(builtin=True, active=True, **values)
            result.frameworks_created.append(framework.slug)
        elif overwrite:
            for name, value in values.items():
                setattr(framework, name, value)
            framework.builtin = True
            framework.save()
            result.frameworks_updated.append(framework.slug)
        existing = {req.code: req for req in requirement_model.objects.filter(framework=framework)}
        new = []
        for item in parsed["requirements"]:
            current = existing.get(item["code"])
            if current is None:
                new.append(requirement_model(framework=framework, active=True, **item))
            elif overwrite:
                changed = [name for name, value in item.items() if getattr(current, name) != value]
                if changed:
                    for name in changed:
                        setattr(current, name, item[name])
                    current.save(update_fields=[*changed, "updated_at"])
                    result.requirements_updated += 1
        requirement_model.objects.bulk_create(new)
        result.requirements_created += len(new)
    return result
