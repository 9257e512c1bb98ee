from django.db import models


class EventKind(models.TextChoices):
    DATA = "data", "Data change"
    SECURITY = "security", "Security event"


class SecurityAction(models.TextChoices):
    LOGIN = "login", "Signed in"
    LOGOUT = "logout", "Signed out"
    LOGIN_FAILED = "login_failed", "Sign-in failed"
    LOCKED_OUT = "locked_out", "Locked out"
    TOKEN_CREATED = "token_created", "API token created"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    PERMISSION_CHANGED = "permission_changed", "Permission changed"
    USER_DEACTIVATED = "user_deactivated", "User deactivated"
    EXPORT = "export", "Data exported"
