"""Local development and `make demo`: the embedded PostgreSQL when DATABASE_URL is unset."""

import os

from portal.embedded import database_config, embedded_database_url
from portal.settings.base import *  # noqa: F403
from portal.settings.base import DATABASE_URL, STORAGES, env_bool

DEBUG = env_bool("DEBUG", True)
if not DATABASE_URL:
    DATABASES = {"default": database_config(embedded_database_url())}
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

# Serve static files straight from the finders (no collectstatic in dev and tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
