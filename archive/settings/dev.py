"""Settings for a developer's machine: `make run`."""

import os

from .base import *  # noqa: F403
from .base import BASE_DIR, IDENTITY_ENCRYPTION_KEYS, env_bool, env_list

DEBUG = env_bool("DEBUG", True)
# A fixed key is fine here: the dev server never faces the internet.
SECRET_KEY = "dev-only-not-secret-3f9c1e2a"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Canonical and hreflang links name this site, whatever Host a request claimed (archive.i18n.absolute_url).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

if not IDENTITY_ENCRYPTION_KEYS:
    # A developer's machine gets its own identity key on first run, kept beside the database.
    from cryptography.fernet import Fernet

    _key_file = BASE_DIR / ".dev-identity-key"
    if not _key_file.exists():
        _key_file.write_text(Fernet.generate_key().decode())
        _key_file.chmod(0o600)
    IDENTITY_ENCRYPTION_KEYS = [_key_file.read_text().strip()]
