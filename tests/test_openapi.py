"""The OpenAPI 3 schema validates, documents every response including errors, and the docs work offline."""

from __future__ import annotations

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db

WRITE_METHODS = {"post", "put", "patch"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory, django_db_blocker) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    with django_db_blocker.unblock():
        # --fail-on-warn turns any warning (unresolvable field, enum clash, unknown auth) into an error
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_schema_validates_without_warnings_and_lists_the_resources(schema):
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= {
        "/api/v1/business-units/", "/api/v1/business-units/{slug}/",
        "/api/v1/objectives/", "/api/v1/objectives/{id}/",
        "/api/v1/initiatives/", "/api/v1/initiatives/{key}/", "/api/v1/initiatives/{key}/transition/",
        "/api/v1/initiatives/{key}/transitions/",
        "/api/v1/kpis/", "/api/v1/kpis/{id}/",
        "/api/v1/measurements/", "/api/v1/measurements/{id}/", "/api/v1/measurements/bulk/",
        "/api/v1/jobs/", "/api/v1/jobs/{id}/",
    }
    assert "delete" not in schema["paths"]["/api/v1/initiatives/{key}/"]


def test_every_operation_documents_its_error_responses(schema):
    missing = []
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        expected = {"401"}
        if "{" in path:
            expected.add("404")
        if method in WRITE_METHODS:
            expected |= {"400", "403"}
        if not expected <= codes:
            missing.append((method, path, sorted(expected - codes)))
        for code in codes - {"200", "201"}:
            assert operation["responses"][code]["description"], (method, path, code)
            if code != "204":  # "No Content" has, by definition, no body to describe
                assert operation["responses"][code]["content"]["application/json"]["schema"], (method, path, code)
    assert missing == []


def test_error_bodies_are_named_components(schema):
    components = schema["components"]["schemas"]
    assert components["Error"]["properties"]["detail"]["type"] == "string"
    assert components["ValidationError"]["additionalProperties"] == {
        "type": "array", "items": {"type": "string"}, "description": "Messages for the field of that name."}
    assert set(components["RowError"]["properties"]) == {"row", "field", "message"}
    post = schema["paths"]["/api/v1/initiatives/"]["post"]
    assert post["responses"]["403"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_transition_and_bulk_document_request_and_response_bodies(schema):
    transition = schema["paths"]["/api/v1/initiatives/{key}/transition/"]["post"]
    assert transition["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TransitionInputRequest"}
    assert transition["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TransitionOutput"}
    assert schema["components"]["schemas"]["TransitionInputRequest"]["required"] == ["rationale", "to_stage"]

    bulk = schema["paths"]["/api/v1/measurements/bulk/"]["post"]
    assert bulk["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MeasurementBulkInputRequest"}
    rows = schema["components"]["schemas"]["MeasurementBulkInputRequest"]["properties"]["measurements"]
    assert rows["items"] == {"$ref": "#/components/schemas/MeasurementRowRequest"}
    assert bulk["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BulkCreated"}
    assert set(bulk["responses"]) == {"201", "400", "401", "403", "413"}
    assert schema["components"]["schemas"]["MeasurementBulkError"]["oneOf"] == [
        {"$ref": "#/components/schemas/BulkError"}, {"$ref": "#/components/schemas/ValidationError"}]


def test_initiative_list_documents_the_filters_and_pagination(schema):
    operation = schema["paths"]["/api/v1/initiatives/"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {"q", "business_unit", "stage", "ai_type", "priority", "risk_tier", "owner", "purgatory",
                     "ordering", "page", "page_size"}
    key = schema["paths"]["/api/v1/initiatives/{key}/"]["get"]["parameters"][0]
    assert key["name"] == "key"
    assert key["schema"]["pattern"] == "^[A-Za-z][A-Za-z0-9]{0,9}-[0-9]{1,6}$"


def test_token_auth_is_declared(schema):
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": schema["components"]["securitySchemes"]["tokenAuth"]["description"],
    }
    assert "Token <key>" in schema["components"]["securitySchemes"]["tokenAuth"]["description"]


def test_schema_endpoint_serves_openapi(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Pilotlight API"


def test_docs_page_uses_only_local_static_assets(client):
    # when the Swagger UI page is opened
    response = client.get("/api/docs/")
    html = response.content.decode()

    # then every stylesheet, script and icon is served by us, and nothing points at a CDN or another host
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 3
    assert all(asset.startswith("/static/drf_spectacular_sidecar/") for asset in assets), assets
    assert not re.search(r"https?://", html)
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    # and Swagger UI does not call the online validator
    assert '"validatorUrl": null' in html
