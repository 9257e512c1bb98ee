"""Sign-in, sign-out and personal API tokens."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.forms import ApiTokenForm, LoginForm
from apps.accounts.models import ApiToken
from apps.accounts.services import api_token_create, api_token_revoke


class SignInView(auth_views.LoginView):
    """Username and password sign-in; signed-in users go straight to the overview."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    """Sign out (POST only) and return to the sign-in page."""


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List the user's API tokens and create one; a new key is shown in this response only, never stored."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    new_key = None
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token, new_key = api_token_create(user=request.user, name=form.cleaned_data["name"],
                                                  ttl_days=form.cleaned_data["ttl_days"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            form = ApiTokenForm()
    context = {
        "form": form,
        "new_key": new_key,
        "new_token": new_token,
        # The user's own tokens: a plain related-manager read, nothing to scope.
        "tokens": request.user.api_tokens.all(),
        "api_base": request.build_absolute_uri("/api/v1/"),
    }
    response = render(request, "accounts/tokens.html", context)
    if new_key:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the user's tokens at once; other people's tokens are a 404."""
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    api_token_revoke(actor=request.user, token=token)
    messages.success(request, f"Revoked the token “{token.name}” ({token.prefix}…). Requests using it now get 401.")
    return redirect("accounts:tokens")
