"""Sign-in, sign-out, personal API tokens, and business units with their members."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.choices import UnitRole
from apps.accounts.forms import ApiTokenForm, LoginForm, MembershipForm
from apps.accounts.models import ApiToken, Membership
from apps.accounts.selectors import (
    business_unit_get,
    business_unit_list,
    membership_list,
    user_access_scope,
    user_list_active,
)
from apps.accounts.services import (
    api_token_create,
    api_token_revoke,
    can_manage_unit,
    membership_assign,
    membership_remove,
)


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


@login_required
def units(request: HttpRequest) -> HttpResponse:
    """The business units the user may see, as a tree, with who leads them and links to manage members."""
    scope = user_access_scope(user=request.user)
    rows = [(unit, scope.write_all or unit.pk in scope.lead_units) for unit in business_unit_list(user=request.user)]
    return render(request, "accounts/units.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def unit_members(request: HttpRequest, slug: str) -> HttpResponse:
    """Members of a unit (own and inherited); admins and the unit's leads add and remove them."""
    unit = business_unit_get(user=request.user, slug=slug)
    manager = can_manage_unit(request.user, unit)
    form = MembershipForm(request.POST if request.method == "POST" and "add" in request.POST else None,
                          users=user_list_active())
    if request.method == "POST":
        if not manager:
            raise PermissionDenied("Only portfolio admins and the unit's leads manage its members.")
        if "remove" in request.POST:
            membership = get_object_or_404(Membership, pk=request.POST.get("remove"), business_unit=unit)
            membership_remove(actor=request.user, membership=membership)
            messages.success(request, f"{membership.user} no longer has a role on {unit}.")
            return redirect("accounts:unit_members", slug=unit.slug)
        if form.is_valid():
            try:
                membership_assign(actor=request.user, user=form.cleaned_data["user"], business_unit=unit,
                                  role=form.cleaned_data["role"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"{form.cleaned_data['user']} is now "
                                          f"{dict(UnitRole.choices)[form.cleaned_data['role']]} of {unit}.")
                return redirect("accounts:unit_members", slug=unit.slug)
    return render(request, "accounts/unit_members.html", {
        "unit": unit, "memberships": membership_list(user=request.user, business_unit=unit), "form": form,
        "can_manage": manager,
    })
