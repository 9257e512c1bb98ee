"""HTML input validation for sign-in and API tokens."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Username and password, with the browser hints a sign-in page should give."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class ApiTokenForm(forms.Form):
    """Name a new API token and choose when it expires."""

    name = forms.CharField(
        max_length=100, label="Name", help_text="What will use it, e.g. “Power BI export” or “MLflow sync job”.",
        widget=forms.TextInput(attrs={"placeholder": "BI export"}),
    )
    ttl_days = forms.IntegerField(
        min_value=1, max_value=366, label="Expires after (days)", initial=settings.API_TOKEN_DEFAULT_TTL_DAYS,
        help_text="Between 1 and 366 days. Create a new token before this one expires.",
    )


class MembershipForm(forms.Form):
    """Give a person a role on a business unit."""

    user = forms.ModelChoiceField(queryset=None, label="Person", empty_label="Choose a person…")
    role = forms.ChoiceField(label="Role")

    def __init__(self, *args, users=None, **kwargs) -> None:
        from apps.accounts.choices import UnitRole

        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["role"].choices = UnitRole.choices
