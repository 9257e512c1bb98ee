"""Record sign-in, sign-out, failed sign-in and lockout: Django and axes announce these only through signals."""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from apps.audit.choices import SecurityAction
from apps.audit.services import audit_security_event


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs) -> None:
    audit_security_event(action=SecurityAction.LOGIN, actor=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        audit_security_event(action=SecurityAction.LOGOUT, actor=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str((credentials or {}).get("username", ""))[:150]
    audit_security_event(action=SecurityAction.LOGIN_FAILED, request=request, detail={"username": username})


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    audit_security_event(action=SecurityAction.LOCKED_OUT, request=request, detail={"username": str(username or "")})
