"""Where media live: the local disk by default, S3-compatible object storage when ``ARCHIVE_S3_BUCKET`` is set.

Nothing in either place is ever linked to directly. Photos are streamed by the view that applies the
visibility rule and consent evidence by the one that checks the consent officer's permission, so the
object storage holds only private objects: no ACL is ever sent, no URL is ever signed.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from archive.health import Outage

STORAGE = Outage("The media storage")

# A reader's request must not wait long for a store that has gone away: a photo then answers 503 at once.
CLIENT_SETTINGS = {"connect_timeout": 5, "read_timeout": 20, "retries": {"max_attempts": 3, "mode": "standard"}}
# Objects larger than this are fetched into an anonymous temporary file (never named on disk), not memory.
MAX_MEMORY_SIZE = 5 * 1024 * 1024


def __getattr__(name: str):
    # boto3 costs every process about 0.7 s and 20 MB on import, so it is imported only when the
    # settings name the S3 storage (archive.storage.PrivateS3Storage), never for the local disk.
    if name == "PrivateS3Storage":
        globals()[name] = _private_s3_storage_class()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _private_s3_storage_class() -> type:
    from botocore.config import Config
    from storages.backends.s3 import S3Storage

    class PrivateS3Storage(S3Storage):
        """An S3 bucket (or a prefix of one) that is never readable without credentials."""

        def __init__(self, **settings) -> None:
            super().__init__(**settings)
            # These would each hand out a way to read an object without going through the app's checks.
            if self.default_acl or "ACL" in self.object_parameters:
                raise ImproperlyConfigured("Media objects are private: set no ACL on them.")
            if self.querystring_auth or self.custom_domain:
                raise ImproperlyConfigured("Media are streamed through the app: no signed URLs and no custom domain.")
            self.client_config = self.client_config.merge(Config(**CLIENT_SETTINGS))

        def get_default_settings(self) -> dict:
            return {
                **super().get_default_settings(),
                "default_acl": None,
                # Storage.url() then names the object without credentials, and the bucket refuses it.
                "querystring_auth": False,
                "file_overwrite": False,
                "max_memory_size": MAX_MEMORY_SIZE,
            }

    # Named as the settings name it, so that it pickles and deconstructs like a module-level class.
    PrivateS3Storage.__module__ = __name__
    PrivateS3Storage.__qualname__ = "PrivateS3Storage"
    return PrivateS3Storage


class PrivateStorage(LazyObject):
    """``storages["private"]``, looked up again whenever STORAGES changes.

    A FileField keeps the storage object it was given when its model was defined; through this proxy
    it always writes where the settings in force say, as Django's ``default_storage`` does.
    """

    def _setup(self) -> None:
        self._wrapped = storages["private"]


private_storage = PrivateStorage()


@receiver(setting_changed, dispatch_uid="archive-private-storage-changed")
def _storages_changed(*, setting: str, **kwargs) -> None:
    if setting == "STORAGES":
        private_storage._wrapped = empty


class StorageUnavailable(Exception):
    """The storage could not be read; the file may well be there."""


def open_stored(storage: Storage, name: str) -> File:
    """Open a stored file and fetch it whole, so that any failure happens before a response has begun.

    A missing file raises ``FileNotFoundError``; any other failure is logged once per outage (and
    mailed to ADMINS) and raises ``StorageUnavailable``.
    """
    handle = None
    try:
        handle = storage.open(name, "rb")
        # Object storage downloads on first access to the file; do it here, not while streaming.
        handle.file  # noqa: B018
    except FileNotFoundError:
        raise
    except Exception as error:
        if handle is not None:
            handle.close()
        if _not_found(error):
            raise FileNotFoundError(name) from error
        STORAGE.failed(error)
        raise StorageUnavailable(name) from error
    STORAGE.recovered()
    return handle


def _not_found(error: Exception) -> bool:
    """Whether the store answered that the object does not exist (botocore's ClientError, status 404)."""
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404


def delete_stored(storage: Storage, names: list[str]) -> dict[str, str]:
    """Delete each named file; return the ones that could not be deleted, with why (never raises).

    A file that is already gone counts as deleted. On a versioned bucket a deletion leaves a noncurrent
    version that the bucket's lifecycle rule removes (docs/deployment.md).
    """
    failed = {}
    for name in names:
        try:
            storage.delete(name)
        except FileNotFoundError:
            continue
        except Exception as error:
            if _not_found(error):
                continue
            failed[name] = f"{type(error).__name__}: {error}"[:300]
    return failed
