"""Encrypted model fields for the storyteller's identity record."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class IdentityKeyMissing(ImproperlyConfigured):
    """The key that encrypts identity records is not configured on this server."""


class Sealed(str):
    """Ciphertext read without a key: it can be stored back unchanged, never shown as a value."""


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def identity_cipher() -> MultiFernet:
    """Return the cipher for identity records; the first key encrypts, every key decrypts (for rotation)."""
    keys = tuple(key for key in getattr(settings, "IDENTITY_ENCRYPTION_KEYS", ()) if key)
    if not keys:
        raise IdentityKeyMissing(
            "IDENTITY_ENCRYPTION_KEYS is not set, so identity records can be neither read nor written."
        )
    return _cipher(keys)


def identity_key_configured() -> bool:
    """Say whether this server can read and write identity records."""
    try:
        identity_cipher()
    except IdentityKeyMissing:
        return False
    return True


class EncryptedTextField(models.TextField):
    """A text field stored encrypted with Fernet (AES-128-CBC and HMAC-SHA256) under the identity key.

    Without the key, values load as ``Sealed`` ciphertext so that the rest of the site keeps
    working; writing a new value then fails loudly rather than storing it in the clear.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        try:
            cipher = identity_cipher()
        except IdentityKeyMissing:
            return Sealed(value)
        try:
            return cipher.decrypt(value.encode()).decode()
        except InvalidToken:
            # Encrypted under a key this server no longer has: keep it sealed, never guess.
            return Sealed(value)

    def to_python(self, value):
        return value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        if isinstance(value, Sealed):
            return str(value)
        return identity_cipher().encrypt(value.encode()).decode()
