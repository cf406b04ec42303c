"""Settings for the test suite."""

import tempfile

from cryptography.fernet import Fernet

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "test-only-not-secret-81b0d7"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The test client's host, so that links built from the setting match the pages it fetches.
SITE_URL = "http://testserver"
MEDIA_ROOT = tempfile.mkdtemp(prefix="archive-test-media-")
PRIVATE_MEDIA_ROOT = tempfile.mkdtemp(prefix="archive-test-private-")
STORAGES = {
    **STORAGES,  # noqa: F405
    "private": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PRIVATE_MEDIA_ROOT, "base_url": None},
    },
}
# A fresh identity key for every test run.
IDENTITY_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
