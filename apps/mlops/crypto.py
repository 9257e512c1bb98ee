"""Encryption at rest for connection secrets: Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`.

FIELD_ENCRYPTION_KEY holds one or more comma-separated urlsafe-base64 32-byte keys; the first encrypts, all of
them decrypt, so a key can be rotated by prepending the new one (then re-save each connection's secret).
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the configured keys (the key changed)."""


def derive_key(secret_key: str) -> str:
    """A Fernet key derived from Django's SECRET_KEY: the development default when FIELD_ENCRYPTION_KEY is unset."""
    digest = hashlib.sha256(f"pilotlight-field-encryption:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def _fernet() -> MultiFernet:
    raw = getattr(settings, "FIELD_ENCRYPTION_KEY", "") or derive_key(settings.SECRET_KEY)
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be urlsafe-base64 32-byte keys, comma-separated "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())')."
        ) from exc


def encrypt(plaintext: str) -> str:
    """The secret as a Fernet token (empty stays empty)."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of a Fernet token; raises SecretUnreadable when no configured key opens it."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("The stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY; enter it again.") \
            from exc
