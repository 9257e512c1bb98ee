"""Sign-in hardening: lockout, session rotation, security events, deactivation, password rules."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.accounts.services import api_token_create, user_deactivate
from apps.audit.models import AuditEvent
from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def sign_in(client, username: str, password: str):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_sign_in_rotates_the_session_and_is_recorded(client):
    user = make_user(username="dana")
    client.get(reverse("accounts:login"))
    before = client.cookies.get("sessionid")
    response = sign_in(client, "dana", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert before is None or client.cookies["sessionid"].value != before.value
    event = AuditEvent.objects.get(kind="security", action="login")
    assert event.actor_id == user.pk
    assert event.ip == "127.0.0.1"


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, settings):
    make_user(username="erin")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, "erin", "wrong password!")
        assert response.status_code in (200, 429)
    response = sign_in(client, "erin", PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session
    actions = list(AuditEvent.objects.filter(kind="security").values_list("action", flat=True))
    assert actions.count("login_failed") >= settings.AXES_FAILURE_LIMIT - 1
    assert "locked_out" in actions
    assert "login" not in actions


def test_deactivation_ends_sessions_and_tokens_at_once(client, admin_user):
    user = make_user(username="finn")
    _, key = api_token_create(user=user, name="BI export")
    assert sign_in(client, "finn", PASSWORD).status_code == 302
    assert client.get(reverse("portfolio:initiative_list")).status_code == 200
    assert client.get("/api/v1/initiatives/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    user_deactivate(actor=admin_user, user=user)

    assert client.get(reverse("portfolio:initiative_list")).status_code == 302  # back to sign-in
    assert client.get("/api/v1/initiatives/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    assert AuditEvent.objects.filter(kind="security", action="user_deactivated").count() == 1


def test_basic_auth_is_not_accepted_by_the_api(client):
    make_user(username="gail")
    import base64

    credentials = base64.b64encode(f"gail:{PASSWORD}".encode()).decode()
    response = client.get("/api/v1/initiatives/", HTTP_AUTHORIZATION=f"Basic {credentials}")
    assert response.status_code == 401


def test_password_rules_need_twelve_characters_and_no_common_password():
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Sh0rt!pass")
    with pytest.raises(ValidationError, match="too common"):
        validate_password("password1234")
    validate_password("a long and unusual passphrase")


def test_argon2_is_the_production_hasher():
    from portal.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert base.SESSION_COOKIE_AGE <= 8 * 3600
