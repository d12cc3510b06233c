"""Media and model artifacts round-trip through a real S3-protocol server (moto)."""

import shutil
import socket
import subprocess
import time
import urllib.request

import boto3
import pytest
from django.core.files.images import ImageFile
from wagtail.images import get_image_model

from recommend.serving.state import serving_state, serving_state_reset
from tests.generation.conftest import library_committed  # noqa: F401 - fixture
from tests.recommend.scenario import world_build

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "content-engine-media"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A standalone moto S3 server on 127.0.0.1, with the media bucket."""
    server = shutil.which("moto_server")
    if server is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    port = _free_port()
    process = subprocess.Popen(
        [server, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint, client
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3_media(s3_endpoint, settings):
    """Point the default storage at the bucket, as MEDIA_STORAGE=s3 does."""
    endpoint, client = s3_endpoint
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "querystring_auth": True,
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    yield client
    serving_state_reset()


def _keys(client) -> set[str]:
    listing = client.list_objects_v2(Bucket=BUCKET)
    return {item["Key"] for item in listing.get("Contents", [])}


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local
        assert response.status == 200
        return response.read()


def test_settings_read_the_bucket_from_the_environment(monkeypatch):
    # given
    import importlib

    import cms.settings.base as base

    monkeypatch.setenv("MEDIA_STORAGE", "s3")
    monkeypatch.setenv("MEDIA_S3_BUCKET", "site-media")
    monkeypatch.setenv("MEDIA_S3_ENDPOINT_URL", "http://minio.internal:9000")
    monkeypatch.setenv("MEDIA_S3_SIGNED_URLS", "false")
    try:
        # when
        reloaded = importlib.reload(base)
        options = reloaded.STORAGES["default"]["OPTIONS"]
        # then
        assert reloaded.STORAGES["default"]["BACKEND"] == (
            "storages.backends.s3.S3Storage"
        )
        assert options["bucket_name"] == "site-media"
        assert options["endpoint_url"] == "http://minio.internal:9000"
        assert options["querystring_auth"] is False
    finally:
        monkeypatch.delenv("MEDIA_STORAGE")
        importlib.reload(base)


def test_unknown_media_storage_is_a_clear_configuration_error(monkeypatch):
    import importlib

    from django.core.exceptions import ImproperlyConfigured

    import cms.settings.base as base

    monkeypatch.setenv("MEDIA_STORAGE", "ftp")
    try:
        with pytest.raises(ImproperlyConfigured, match="MEDIA_STORAGE"):
            importlib.reload(base)
    finally:
        monkeypatch.delenv("MEDIA_STORAGE")
        importlib.reload(base)


def test_uploaded_image_and_rendition_are_served_from_the_bucket(
    s3_media,
    api_client,
    tmp_path,
    library_committed,  # noqa: F811 - roots back after other transactional tests
):
    # given: an editor uploads an image
    from PIL import Image as PillowImage

    path = tmp_path / "harbour.png"
    PillowImage.new("RGB", (320, 200), (30, 120, 200)).save(path)
    with path.open("rb") as handle:
        image = get_image_model().objects.create(
            title="Harbour", file=ImageFile(handle, name="harbour.png")
        )
    # the image is the hero of a live article: the public API lists it
    from cms.models import ArticlePage
    from cms.services import live_content_touch

    article = next(iter(library_committed.articles.values()))
    ArticlePage.objects.filter(pk=article.pk).update(hero_image=image)
    live_content_touch()
    # when: a rendition is made and the API is asked for the image
    rendition = image.get_rendition("fill-100x100")
    detail = api_client.get(f"/api/v2/images/{image.pk}/")
    # then: original and rendition are objects in the bucket, and the URL the
    # API serves downloads the original's bytes
    keys = _keys(s3_media)
    assert image.file.name in keys
    assert rendition.file.name in keys
    assert detail.status_code == 200
    download_url = detail.json()["meta"]["download_url"]
    assert download_url.startswith("http://127.0.0.1:")
    assert _fetch(download_url) == path.read_bytes()
    assert len(_fetch(rendition.url)) > 0


def test_ai_cover_is_written_to_the_bucket(s3_media, library_committed):  # noqa: F811
    # given
    from generation.services import brief_create, brief_submit, generation_job_run

    brief = brief_create(
        topic="Sleep",
        section=library_committed.section,
        keywords=["naps"],
        topics=[library_committed.topics["sleep"]],
    )
    job = brief_submit(brief=brief, enqueue=False)
    # when
    generation_job_run(job_id=job.pk)
    # then: the draft's cover lives in the bucket and can be read back
    job.refresh_from_db()
    from cms.models import ArticlePage

    cover = ArticlePage.objects.get(pk=job.page_id).hero_image
    assert cover.file.name in _keys(s3_media)
    with cover.file.open("rb") as handle:
        header = handle.read(8)
    assert header.startswith((b"\x89PNG", b"\xff\xd8\xff"))  # PNG or JPEG
    assert cover.file.size > 1000


def test_model_artifact_round_trips_through_the_bucket(
    s3_media,
    library_committed,  # noqa: F811 - roots back after other transactional tests
):
    # given: a trained, promoted model whose artifact went to the bucket
    world = world_build(n_topics=3, per_topic=4, n_readers=40, n_events=800)
    version = world.model_version
    assert version.artifact.name in _keys(s3_media)
    # when: a serving process (fresh state) loads the active model
    serving_state_reset()
    state = serving_state()
    # then: it serves the version read back from the bucket
    assert state.model_version_id == version.pk
    assert state.model is not None
