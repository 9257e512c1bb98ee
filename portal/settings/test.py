"""Test settings: the real PostgreSQL (DATABASE_URL or embedded), fast hashing, no outside network."""

import os

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

# Without CELERY_BROKER_URL, tasks sent by tests go to an in-process memory broker, not to var/broker, where a
# `make demo` worker would later pick them up and run them against the demo database. Tests that start worker
# processes pass their own broker URL to them.
if not os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
