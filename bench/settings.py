"""Benchmark settings: production-like request handling (DEBUG off, cached templates) on the bench database.

`bench.run` sets DATABASE_URL to its own database before Django starts; static files are served from the
finders so no collectstatic is needed.
"""

import warnings

from portal.settings.base import *  # noqa: F403
from portal.settings.base import ALLOWED_HOSTS, DATABASE_URL, LOGGING, STORAGES

if not DATABASE_URL:
    raise RuntimeError("bench.settings needs DATABASE_URL; run the benchmark with `python -m bench.run`.")

DEBUG = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
LOGGING["root"]["level"] = "WARNING"

# WhiteNoise warns once per process that STATIC_ROOT does not exist; the finders serve static files here.
warnings.filterwarnings("ignore", message="No directory at")
