"""Settings for a developer's machine: `make run`."""

from .base import *  # noqa: F403
from .base import env_bool, env_list

DEBUG = env_bool("DEBUG", True)
# A fixed key is fine here: the dev server never faces the internet.
SECRET_KEY = "dev-only-not-secret-3f9c1e2a"  # noqa: S105
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
