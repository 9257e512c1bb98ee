"""Sign-in and sign-out pages, and the personal API token page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken, hash_token
from apps.accounts.services import api_token_create, api_token_revoke
from tests.factories import make_user

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


def test_sign_in_page_renders_the_form(client):
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Sign in to Pilotlight" in page
    assert 'name="username"' in page and 'name="password"' in page
    assert 'href="/static/css/pilotlight.css"' in page


def test_sign_in_with_the_right_password_opens_the_overview(client):
    user = make_user(username="dana")

    response = client.post(reverse("accounts:login"), {"username": "dana", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("portfolio:overview")
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("portfolio:overview")).status_code == 200


def test_sign_in_returns_to_the_page_asked_for(client):
    make_user(username="dana")
    target = reverse("portfolio:initiative_list")

    response = client.post(f"{reverse('accounts:login')}?next={target}",
                           {"username": "dana", "password": PASSWORD, "next": target})

    assert response["Location"] == target


def test_sign_in_with_a_wrong_password_shows_an_error_and_stays_signed_out(client):
    make_user(username="dana")

    response = client.post(reverse("accounts:login"), {"username": "dana", "password": "not the password"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signed_in_users_skip_the_sign_in_page(client):
    client.force_login(make_user(username="dana"))

    response = client.get(reverse("accounts:login"))

    assert response.status_code == 302
    assert response["Location"] == reverse("portfolio:overview")


def test_sign_out_is_a_post_that_ends_the_session(client):
    user = make_user(username="dana", first_name="Dana", last_name="Scully")
    client.force_login(user)
    page = client.get(reverse("portfolio:overview")).content.decode()
    assert "Dana Scully" in page
    assert f'action="{reverse("accounts:logout")}"' in page

    assert client.get(reverse("accounts:logout")).status_code == 405
    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("portfolio:overview")).status_code == 302


# --- API tokens ---------------------------------------------------------------------------------------------------


def test_token_page_requires_sign_in(client):
    response = client.get(reverse("accounts:tokens"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_token_page_without_tokens_says_what_they_are_for(client):
    client.force_login(make_user(username="dana"))

    page = client.get(reverse("accounts:tokens")).content.decode()

    assert "No tokens yet" in page
    assert 'name="ttl_days"' in page and 'value="90"' in page


def test_creating_a_token_shows_its_key_once(client):
    user = make_user(username="dana")
    client.force_login(user)

    response = client.post(reverse("accounts:tokens"), {"name": "Power BI export", "ttl_days": "30"})

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    key = response.context["new_key"]
    page = response.content.decode()
    assert f'<code id="new-key">{key}</code>' in page
    token = ApiToken.objects.get(user=user)
    assert (token.name, token.digest, token.prefix) == ("Power BI export", hash_token(key), key[:8])
    assert round((token.expires_at - token.created_at).total_seconds() / 86400) == 30

    again = client.get(reverse("accounts:tokens")).content.decode()
    assert key not in again
    assert f"{token.prefix}…" in again
    assert "Power BI export" in again
    assert '<span class="badge badge-success">Active</span>' in again


def test_token_form_errors_are_shown_and_nothing_is_created(client):
    user = make_user(username="dana")
    client.force_login(user)

    response = client.post(reverse("accounts:tokens"), {"name": "", "ttl_days": "400"})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["name"] == ["This field is required."]
    assert errors["ttl_days"] == ["Ensure this value is less than or equal to 366."]
    assert response.context["new_key"] is None
    assert not ApiToken.objects.filter(user=user).exists()


def test_token_list_shows_only_own_tokens_with_their_status(client):
    user = make_user(username="dana")
    other = make_user(username="eve")
    api_token_create(user=user, name="Active one")
    revoked, _ = api_token_create(user=user, name="Revoked one")
    api_token_revoke(actor=user, token=revoked)
    api_token_create(user=other, name="Someone else's")
    client.force_login(user)

    page = client.get(reverse("accounts:tokens")).content.decode()

    assert "Active one" in page and "Revoked one" in page
    assert "Someone else&#x27;s" not in page
    assert '<span class="badge badge-danger">Revoked</span>' in page
    assert len(re.findall(r"token_revoke|/revoke/", page)) == 1  # only the active token can be revoked


def test_revoking_a_token_takes_effect_at_once(client):
    user = make_user(username="dana")
    token, _ = api_token_create(user=user, name="CI job")
    client.force_login(user)

    response = client.post(reverse("accounts:token_revoke", args=[token.pk]), follow=True)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not token.is_active
    page = response.content.decode()
    assert "Revoked the token “CI job”" in page
    assert '<span class="badge badge-danger">Revoked</span>' in page


def test_another_users_token_cannot_be_revoked(client):
    owner = make_user(username="dana")
    token, _ = api_token_create(user=owner, name="CI job")
    client.force_login(make_user(username="eve"))

    response = client.post(reverse("accounts:token_revoke", args=[token.pk]))

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_is_post_only(client):
    user = make_user(username="dana")
    token, _ = api_token_create(user=user, name="CI job")
    client.force_login(user)

    assert client.get(reverse("accounts:token_revoke", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None
