"""Media on S3-compatible object storage, against a real S3 server (moto's server mode, on loopback).

The server enforces credentials: the app signs in as an IAM user holding exactly the policy that
docs/deployment.md gives, an auditor with every S3 right checks what the app left behind, and a request
without credentials is what anyone on the internet could send. Every promise the local disk keeps is
checked again here: photos only while public, originals never, evidence only for consent officers, files
removed where the code removes them, and a storage failure never a 500.
"""

import io
import json
import logging
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.server import ThreadedMotoServer

from archive.settings.base import object_storages
from archive.storage import STORAGE, PrivateS3Storage
from stories import services
from stories.models import ConsentEvidence, FileDeletion, private_storage
from tests.stories.test_images import (
    encode,
    fetch,
    jpeg_with_everything,
    make_image,
    noise,
    page_html,
    rendition_urls,
)

# Korean pages activate Korean for the thread: every test here starts, and leaves, in English.
pytestmark = pytest.mark.usefixtures("in_english")

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DOCS = BASE_DIR / "docs" / "deployment.md"
REGION = "us-east-1"
# The bucket names of the policy in docs/deployment.md.
MEDIA_BUCKET = "archive-media"
PRIVATE_BUCKET = "archive-private"
PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
}


def create_documented_bucket(s3, bucket: str, **create) -> None:
    """Create a bucket as docs/deployment.md says to: public access blocked, versioned."""
    s3.create_bucket(Bucket=bucket, **create)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def documented_policy() -> dict:
    """The least-privilege IAM policy docs/deployment.md gives for the app's credentials."""
    block = re.search(r"<!-- iam-policy -->\s*```json\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert block, "docs/deployment.md has lost the app's IAM policy"
    return json.loads(block.group(1))


class S3Server:
    """A moto S3 server on loopback that checks every request's credentials against IAM policies."""

    def __init__(self) -> None:
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # Until enforcement is switched on below, moto lets anything through: set up as an account owner would.
        setup = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
        iam = self.client("iam", **setup)
        self.app_key = self._user(iam, "archive-app", documented_policy())
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        auditor_key = self._user(iam, "auditor", everything)
        s3 = self.client("s3", **setup)
        for bucket in (MEDIA_BUCKET, PRIVATE_BUCKET):
            create_documented_bucket(s3, bucket)
        self._previous_count = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        self.auditor = self.client("s3", **auditor_key)

    def client(self, service: str, **credentials: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **credentials)

    @staticmethod
    def _user(iam, name: str, policy: dict) -> dict[str, str]:
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}

    def stop(self) -> None:
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = self._previous_count
        self.server.stop()

    def keys(self, bucket: str) -> set[str]:
        """Every current object's key in a bucket (deleted objects leave only versions behind)."""
        pages = self.auditor.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def read(self, bucket: str, key: str) -> bytes:
        return self.auditor.get_object(Bucket=bucket, Key=key)["Body"].read()

    def anonymous_status(self, url: str) -> int:
        """What anyone without credentials gets for a URL of the store."""
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our own server, on loopback)
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def empty(self) -> None:
        for bucket in (MEDIA_BUCKET, PRIVATE_BUCKET):
            pages = self.auditor.get_paginator("list_object_versions").paginate(Bucket=bucket)
            for page in pages:
                for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    self.auditor.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def object_storage(s3_server, settings, monkeypatch):
    """Media on the S3 server, as production has them with ARCHIVE_S3_BUCKET and ARCHIVE_S3_PRIVATE_BUCKET set."""
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_S3_SESSION_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.app_key["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.app_key["aws_secret_access_key"])
    settings.STORAGES = {
        **settings.STORAGES,
        **object_storages(
            bucket=MEDIA_BUCKET,
            private_bucket=PRIVATE_BUCKET,
            endpoint_url=s3_server.endpoint,
            region_name=REGION,
            addressing_style="path",
        ),
    }
    assert isinstance(private_storage(), PrivateS3Storage)
    yield s3_server
    s3_server.empty()


def private_keys(server: S3Server, folder: str) -> set[str]:
    return {key for key in server.keys(PRIVATE_BUCKET) if key.startswith(f"private/{folder}/")}


def local_private_files(settings) -> set[str]:
    root = Path(settings.PRIVATE_MEDIA_ROOT)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


# --- Configuration -------------------------------------------------------------------------------------


def settings_in_a_fresh_process(**environment: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.core.files.storage import storages; "
        "print({alias: storages.backends[alias]['BACKEND'] for alias in ('default', 'private')})"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "archive.settings.dev", **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_a_bucket_media_stay_on_the_local_disk_and_with_one_they_go_to_object_storage():
    local = settings_in_a_fresh_process()
    assert local.returncode == 0, local.stderr
    assert "FileSystemStorage" in local.stdout and "S3" not in local.stdout
    remote = settings_in_a_fresh_process(ARCHIVE_S3_BUCKET="archive-media")
    assert remote.returncode == 0, remote.stderr
    assert remote.stdout.count("archive.storage.PrivateS3Storage") == 2
    alone = settings_in_a_fresh_process(ARCHIVE_S3_PRIVATE_BUCKET="archive-private")
    assert alone.returncode != 0 and "ARCHIVE_S3_PRIVATE_BUCKET needs ARCHIVE_S3_BUCKET" in alone.stderr


def test_private_files_go_to_their_own_bucket_or_their_own_prefix():
    shared = object_storages(bucket="archive-media")
    assert shared["default"]["OPTIONS"]["bucket_name"] == shared["private"]["OPTIONS"]["bucket_name"]
    assert (shared["default"]["OPTIONS"]["location"], shared["private"]["OPTIONS"]["location"]) == ("media", "private")
    separate = object_storages(bucket="archive-media", private_bucket="archive-private")
    assert separate["private"]["OPTIONS"]["bucket_name"] == "archive-private"


@pytest.mark.parametrize(
    "options",
    [
        {"default_acl": "public-read"},
        {"object_parameters": {"ACL": "public-read"}},
        {"querystring_auth": True},
        {"custom_domain": "media.example.org"},
    ],
)
def test_the_storage_refuses_any_setting_that_would_let_an_object_be_read_past_the_app(options):
    with pytest.raises(ImproperlyConfigured):
        PrivateS3Storage(bucket_name=PRIVATE_BUCKET, **options)


# --- Photos: upload, renditions, the public view, withdrawal -------------------------------------------------


def test_a_photo_goes_to_the_private_bucket_is_served_while_public_and_is_gone_after_a_withdrawal(
    client, photo_part, object_storage, settings, django_capture_on_commit_callbacks
):
    before_on_disk = local_private_files(settings)
    data = jpeg_with_everything()
    image = make_image(photo_part, data)
    originals = private_keys(object_storage, "image-originals")
    renditions = private_keys(object_storage, "image-renditions")
    assert originals == {f"private/{image.original.name}"}
    assert renditions == {f"private/{item['name']}" for item in image.renditions["items"]}
    assert object_storage.read(PRIVATE_BUCKET, f"private/{image.original.name}") == data
    assert local_private_files(settings) == before_on_disk  # nothing of it on this server's disk
    assert object_storage.keys(MEDIA_BUCKET) == set()

    urls = []
    for language in ("en", "ko"):
        urls += rendition_urls(page_html(client, photo_part, language))
    assert len(urls) == 2 * 3 * 2  # two languages, 480, 960 and 1200 pixels wide, WebP and JPEG
    stored = {object_storage.read(PRIVATE_BUCKET, key) for key in renditions}
    for url in urls:
        served = fetch(client, url)
        assert served in stored and served != data
    etag = client.get(urls[0])["ETag"]
    assert client.get(urls[0], headers={"if-none-match": etag}).status_code == 304

    # Nothing was ever linked to the store, and the store itself answers no one without credentials.
    for key in originals | renditions:
        assert object_storage.anonymous_status(f"{object_storage.endpoint}/{PRIVATE_BUCKET}/{key}") == 403

    with django_capture_on_commit_callbacks(execute=True):
        services.consent_withdraw(storyteller=photo_part.story.storyteller, reason="Take it down.", recorded_by=None)

    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.get(urls[0], headers={"if-none-match": etag}).status_code == 404
    # The objects themselves are deleted (a versioned bucket keeps noncurrent versions until its lifecycle rule).
    assert private_keys(object_storage, "image-originals") == set()
    assert private_keys(object_storage, "image-renditions") == set()
    assert not FileDeletion.objects.exists()


def test_a_browser_revalidating_a_public_photo_gets_its_304_without_the_store_being_read(
    client, photo_part, object_storage, monkeypatch
):
    make_image(photo_part, encode(noise(600, 400), "JPEG"))
    url = rendition_urls(page_html(client, photo_part))[0]
    etag = client.get(url)["ETag"]

    def unreadable(*args, **kwargs):
        raise ConnectionError("the store was asked")

    with monkeypatch.context() as patch:
        patch.setattr(PrivateS3Storage, "_open", unreadable)
        response = client.get(url, headers={"if-none-match": etag})
        assert response.status_code == 304
        assert (response["ETag"], response["Cache-Control"]) == (etag, "no-cache")
        assert client.get(url).status_code == 503  # the store is asked, and fails, only for the photo itself
    fetch(client, url)


def test_an_original_is_never_reachable_by_any_url(client, photo_part, object_storage):
    data = jpeg_with_everything()
    image = make_image(photo_part, data)
    html = page_html(client, photo_part)
    assert image.original.name not in html and object_storage.endpoint not in html
    assert client.get(f"/media/{image.original.name}").status_code == 404
    for width in (image.width, 1200, 0, 480):
        for extension in ("jpg", "jpeg", "png", "webp", "original"):
            response = client.get(f"/en/photos/{image.rendition_key}/{width}.{extension}")
            if response.status_code == 200:
                assert b"".join(response.streaming_content) != data
            else:
                assert response.status_code == 404
    # Even the URL the storage would build names the object without credentials, and is refused.
    url = private_storage().url(image.original.name)
    assert url.startswith(object_storage.endpoint) and "Signature" not in url
    assert object_storage.anonymous_status(url) == 403


def test_deleting_or_rerendering_a_photo_deletes_its_objects_once_committed(
    photo_part, object_storage, django_capture_on_commit_callbacks
):
    image = make_image(photo_part, encode(noise(600, 400), "PNG"))
    first = private_keys(object_storage, "image-renditions")
    image.obscured_areas = [{"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}]
    with django_capture_on_commit_callbacks(execute=True):
        services.story_image_save(image=image)
    second = private_keys(object_storage, "image-renditions")
    assert second and not first & second
    assert private_keys(object_storage, "image-originals") == {f"private/{image.original.name}"}
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    assert private_keys(object_storage, "image-originals") == set()
    assert private_keys(object_storage, "image-renditions") == set()


# --- Consent evidence ---------------------------------------------------------------------------------------


def test_evidence_is_stored_privately_and_opened_only_by_consent_officers(
    client, photo_part, object_storage, editor, translator, consent_officer
):
    content = b"Signed consent form, invented for the test."
    evidence = ConsentEvidence.objects.create(
        consent=photo_part.story.storyteller.effective_consent(), file=ContentFile(content, name="signed form.pdf")
    )
    assert private_keys(object_storage, "consent-evidence") == {f"private/{evidence.file.name}"}
    url = reverse("evidence", kwargs={"pk": evidence.pk})
    assert client.get(url).status_code == 404
    for user in (editor, translator):
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(consent_officer)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert "no-store" in response["Cache-Control"]
    assert object_storage.anonymous_status(private_storage().url(evidence.file.name)) == 403


# --- Nothing is public in the store, and the app's credentials cannot make it so ------------------------------


def test_no_bucket_and_no_object_grants_anyone_but_the_owner_access(photo_part, object_storage):
    make_image(photo_part, encode(noise(600, 400), "JPEG"))
    ConsentEvidence.objects.create(
        consent=photo_part.story.storyteller.effective_consent(), file=ContentFile(b"form", name="form.txt")
    )
    auditor = object_storage.auditor
    keys = object_storage.keys(PRIVATE_BUCKET)
    assert {key.split("/")[1] for key in keys} == {"image-originals", "image-renditions", "consent-evidence"}
    for bucket in (MEDIA_BUCKET, PRIVATE_BUCKET):
        grants = auditor.get_bucket_acl(Bucket=bucket)["Grants"]
        assert not {grant["Grantee"].get("URI") for grant in grants} & PUBLIC_GRANTEES
        with pytest.raises(ClientError):  # no bucket policy at all, so none that opens it
            auditor.get_bucket_policy(Bucket=bucket)
    for key in keys:
        grants = auditor.get_object_acl(Bucket=PRIVATE_BUCKET, Key=key)["Grants"]
        assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
        assert grants[0]["Grantee"]["Type"] == "CanonicalUser"


def test_the_documented_policy_lets_the_app_do_its_work_and_nothing_that_would_publish_a_file(object_storage):
    app = object_storage.client("s3", **object_storage.app_key)
    key = "private/image-originals/policy-check.jpg"
    app.put_object(Bucket=PRIVATE_BUCKET, Key=key, Body=b"x")
    assert app.get_object(Bucket=PRIVATE_BUCKET, Key=key)["Body"].read() == b"x"
    refused = [
        lambda: app.put_object_acl(Bucket=PRIVATE_BUCKET, Key=key, ACL="public-read"),
        lambda: app.put_bucket_acl(Bucket=PRIVATE_BUCKET, ACL="public-read"),
        lambda: app.put_bucket_policy(Bucket=PRIVATE_BUCKET, Policy=json.dumps({"Version": "2012-10-17"})),
        lambda: app.delete_public_access_block(Bucket=PRIVATE_BUCKET),
        lambda: app.put_object(Bucket=PRIVATE_BUCKET, Key="elsewhere.jpg", Body=b"x"),
        lambda: app.delete_bucket(Bucket=MEDIA_BUCKET),
    ]
    for call in refused:
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "AccessDenied"
    app.delete_object(Bucket=PRIVATE_BUCKET, Key=key)
    assert key not in object_storage.keys(PRIVATE_BUCKET)


# --- A failing store is a clean 503, logged once ----------------------------------------------------------------


def test_a_store_that_refuses_the_app_answers_503_logged_once_never_a_500(
    client, photo_part, object_storage, consent_officer, monkeypatch, settings, caplog
):
    make_image(photo_part, encode(noise(600, 400), "JPEG"))
    evidence = ConsentEvidence.objects.create(
        consent=photo_part.story.storyteller.effective_consent(), file=ContentFile(b"form", name="form.txt")
    )
    urls = rendition_urls(page_html(client, photo_part))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREVOKEDKEY000000")
    settings.STORAGES = {**settings.STORAGES}  # storages are built again, with the revoked key
    assert not isinstance(storages["private"], FileSystemStorage)
    with caplog.at_level(logging.WARNING):
        for url in urls[:3]:
            response = client.get(url)
            assert response.status_code == 503
            assert response["Retry-After"] == "60"
            assert "no-store" in response["Cache-Control"]
        client.force_login(consent_officer)
        assert client.get(reverse("evidence", kwargs={"pk": evidence.pk})).status_code == 503
    failures = [record for record in caplog.records if "cannot be used" in record.getMessage()]
    assert len(failures) == 1 and "media storage" in failures[0].getMessage()
    assert not [record for record in caplog.records if record.name == "django.request"]
    assert STORAGE.ongoing

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", object_storage.app_key["aws_access_key_id"])
    settings.STORAGES = {**settings.STORAGES}
    client.logout()
    with caplog.at_level(logging.WARNING):
        fetch(client, urls[0])
    assert not STORAGE.ongoing
    assert any("answers again" in record.getMessage() for record in caplog.records)


def test_objects_the_store_would_not_delete_at_a_withdrawal_are_deleted_by_privacy_audit_once_it_lets_them(
    photo_part, object_storage, monkeypatch, settings, django_capture_on_commit_callbacks
):
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    keys = {f"private/{image.original.name}", *(f"private/{item['name']}" for item in image.renditions["items"])}
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREVOKEDKEY000000")
    settings.STORAGES = {**settings.STORAGES}
    with django_capture_on_commit_callbacks(execute=True):
        services.consent_withdraw(storyteller=photo_part.story.storyteller, reason="Take it down.", recorded_by=None)
    assert keys <= object_storage.keys(PRIVATE_BUCKET)
    assert FileDeletion.objects.count() == len(keys)
    with pytest.raises(CommandError, match="could not be deleted"):
        call_command("privacy_audit", stdout=io.StringIO())

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", object_storage.app_key["aws_access_key_id"])
    settings.STORAGES = {**settings.STORAGES}
    call_command("privacy_audit", stdout=io.StringIO())
    assert not keys & object_storage.keys(PRIVATE_BUCKET)
    assert not FileDeletion.objects.exists()


def test_an_erasure_deletes_the_storytellers_photos_and_evidence_from_the_bucket(
    photo_part, object_storage, consent_officer, django_capture_on_commit_callbacks
):
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    evidence = ConsentEvidence.objects.create(
        consent=photo_part.story.storyteller.effective_consent(), file=ContentFile(b"form", name="form.txt")
    )
    keys = {
        f"private/{image.original.name}",
        f"private/{evidence.file.name}",
        *(f"private/{item['name']}" for item in image.renditions["items"]),
    }
    assert keys <= object_storage.keys(PRIVATE_BUCKET)
    with django_capture_on_commit_callbacks(execute=True):
        services.storyteller_erase(storyteller=photo_part.story.storyteller, erased_by=consent_officer)
    assert not keys & object_storage.keys(PRIVATE_BUCKET)
    assert not FileDeletion.objects.exists()


def test_a_missing_object_is_the_plain_404(client, photo_part, object_storage):
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    urls = rendition_urls(page_html(client, photo_part))
    for item in image.renditions["items"]:
        object_storage.auditor.delete_object(Bucket=PRIVATE_BUCKET, Key=f"private/{item['name']}")
    for url in urls:
        assert client.get(url).status_code == 404
    assert not STORAGE.ongoing
