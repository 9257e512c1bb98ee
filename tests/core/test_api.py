"""API plumbing: token and session authentication, the JSON error handler, and the jobs endpoint."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, User
from apps.accounts.services import api_token_create, api_token_revoke, user_deactivate
from apps.core.api import exception_handler
from apps.core.services import job_create, job_progress, job_start
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db

URL = "/api/v1/initiatives/"


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


# --- authentication --------------------------------------------------------------------------------------------


def test_a_valid_token_authenticates_and_stamps_its_last_use(unit_a, lead_a):
    # given a fresh token
    make_initiative(actor=lead_a, unit=unit_a)
    token, key = api_token_create(user=lead_a, name="BI export")
    assert token.last_used_at is None

    # when it is used
    response = token_client(key).get(URL)

    # then the request is the token's user, and the token records its use
    assert response.status_code == 200
    assert response.json()["count"] == 1
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_no_credentials_is_401_with_a_token_challenge(unit_a):
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


def test_an_expired_token_is_401(lead_a):
    # given a token whose lifetime is over
    token, key = api_token_create(user=lead_a, name="old", ttl_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = token_client(key).get(URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "Token has expired."}


def test_a_revoked_token_is_401(lead_a):
    # given a token its owner revoked
    token, key = api_token_create(user=lead_a, name="leaked")
    assert token_client(key).get(URL).status_code == 200
    api_token_revoke(actor=lead_a, token=token)

    response = token_client(key).get(URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "Token has been revoked."}


def test_a_deactivated_users_token_is_401(lead_a, admin_user):
    # given a user deactivated through the service (which also revokes their tokens)
    _, key = api_token_create(user=lead_a, name="integration")
    user_deactivate(actor=admin_user, user=lead_a)

    assert token_client(key).get(URL).status_code == 401


def test_an_inactive_users_unrevoked_token_is_401(lead_a):
    # given a user switched off directly (e.g. in the admin) while their token is still live
    _, key = api_token_create(user=lead_a, name="integration")
    User.objects.filter(pk=lead_a.pk).update(is_active=False)

    response = token_client(key).get(URL)

    assert response.status_code == 401
    assert response.json() == {"detail": "User is inactive."}


@pytest.mark.parametrize(("header", "message"), [
    ("Token not-a-real-key", "Invalid token."),
    ("Token", "Invalid token header: expected 'Token <key>'."),
    ("Token two parts", "Invalid token header: expected 'Token <key>'."),
])
def test_a_malformed_or_unknown_token_is_401(lead_a, header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json() == {"detail": message}


def test_http_basic_is_not_accepted_even_with_the_right_password(lead_a):
    # given the user's correct username and password sent as HTTP Basic
    credentials = base64.b64encode(b"lead_a:correct horse battery staple").decode()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {credentials}")

    response = client.get(URL)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_browser_session_is_accepted(unit_a, lead_a):
    make_initiative(actor=lead_a, unit=unit_a)
    client = APIClient()
    client.force_login(lead_a)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == 1


# --- the exception handler -------------------------------------------------------------------------------------


def test_service_validation_error_becomes_400_per_field():
    response = exception_handler(ValidationError({"name": "Too short.", "__all__": ["Clash."]}), {})
    assert response.status_code == 400
    assert response.data == {"name": ["Too short."], "non_field_errors": ["Clash."]}


def test_service_validation_error_without_a_field_becomes_non_field_errors():
    response = exception_handler(ValidationError("Something is off."), {})
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Something is off."]}


def test_permission_denied_keeps_the_services_message():
    response = exception_handler(PermissionDenied("Only leads may."), {})
    assert response.status_code == 403
    assert response.data == {"detail": "Only leads may."}


def test_http404_does_not_echo_what_was_looked_up():
    response = exception_handler(Http404("No initiative matches AI-007 in Claims."), {})
    assert response.status_code == 404
    assert response.data == {"detail": "Not found."}


def test_a_bare_list_of_messages_is_keyed():
    response = exception_handler(exceptions.ValidationError("Nope."), {})
    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["Nope."]}


def test_a_body_over_the_upload_limit_is_413_as_json(admin_user, settings):
    # given a small upload limit
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    _, key = api_token_create(user=admin_user, name="t")

    response = token_client(key).post(URL, {"name": "x" * 2000}, format="json")

    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is larger than 1,000 bytes."}


def test_unexpected_errors_are_left_to_django():
    assert exception_handler(RuntimeError("boom"), {}) is None


def test_malformed_json_is_400_with_detail(admin_user):
    _, key = api_token_create(user=admin_user, name="t")
    response = token_client(key).post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


# --- jobs ------------------------------------------------------------------------------------------------------


def test_jobs_show_progress_and_are_scoped_to_who_started_them(lead_a, lead_b, admin_user):
    # given a running job of lead A (40 of 200 done) and a job of lead B
    mine = job_create(kind="measurements.import", requested_by=lead_a, params={"file": "q3.csv"})
    job_start(job_id=mine.pk, total=200)
    job_progress(job_id=mine.pk, done=40, message="Reading rows")
    theirs = job_create(kind="costs.import", requested_by=lead_b)
    _, key_a = api_token_create(user=lead_a, name="t")
    _, key_admin = api_token_create(user=admin_user, name="t")

    # when lead A polls
    listed = token_client(key_a).get("/api/v1/jobs/").json()
    detail = token_client(key_a).get(f"/api/v1/jobs/{mine.pk}/").json()
    foreign = token_client(key_a).get(f"/api/v1/jobs/{theirs.pk}/")

    # then they see their own job with its percentage, and not lead B's
    assert [row["id"] for row in listed["results"]] == [mine.pk]
    assert (detail["status"], detail["progress_done"], detail["progress_total"], detail["percent"]) == (
        "running", 40, 200, 20)
    assert (detail["kind"], detail["message"], detail["requested_by"], detail["is_finished"]) == (
        "measurements.import", "Reading rows", "lead_a", False)
    assert detail["params"] == {"file": "q3.csv"}
    assert foreign.status_code == 404
    # and a portfolio admin sees both, newest first
    assert [row["id"] for row in token_client(key_admin).get("/api/v1/jobs/").json()["results"]] == [
        theirs.pk, mine.pk]


def test_jobs_are_read_only(lead_a):
    job = job_create(kind="x", requested_by=lead_a)
    _, key = api_token_create(user=lead_a, name="t")
    client = token_client(key)
    assert client.post("/api/v1/jobs/", {"kind": "y"}, format="json").status_code == 405
    assert client.delete(f"/api/v1/jobs/{job.pk}/").status_code == 405


def _count(client: APIClient, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["lead_a", "admin_user"])
def test_query_counts_of_job_endpoints_do_not_grow(who, unit_a, lead_a, admin_user):
    # given 5 jobs (and 5 initiatives)
    user = lead_a if who == "lead_a" else admin_user
    _, key = api_token_create(user=user, name="t")
    client = token_client(key)
    first = None
    for _ in range(5):
        make_initiative(actor=lead_a, unit=unit_a)
        job = job_create(kind="k", requested_by=lead_a, total=10)
        first = first or job
    urls = ["/api/v1/jobs/", f"/api/v1/jobs/{first.pk}/"]
    at_5 = [_count(client, url) for url in urls]

    # when there are 50
    for i in range(45):
        make_initiative(actor=lead_a, unit=unit_a)
        job_create(kind="k", requested_by=lead_a if i % 2 else admin_user, total=10)
    at_50 = [_count(client, url) for url in urls]

    # then the counts are the same
    assert at_5 == at_50


def test_a_job_without_a_total_succeeds_at_full_progress(db):
    from apps.core.models import Job
    from apps.core.services import job_create, job_progress, job_start, job_succeed

    job = job_create(kind="demo")
    job_start(job_id=job.pk)
    job_progress(job_id=job.pk, advance=7)
    job_succeed(job_id=job.pk, result={"rows": 7})
    job = Job.objects.get(pk=job.pk)
    assert (job.status, job.progress_done, job.progress_total, job.percent) == ("succeeded", 7, 7, 100)
