"""Test settings: the real PostgreSQL (DATABASE_URL or embedded), fast hashing, no outside network."""

from portal.embedded import database_config, embedded_database_url
from portal.settings.base import *  # noqa: F403
from portal.settings.base import DATABASE_URL, STORAGES

DEBUG = False
if not DATABASE_URL:
    DATABASES = {"default": database_config(embedded_database_url())}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Serve static files straight from the finders (no collectstatic in dev and tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
