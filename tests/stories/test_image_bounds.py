"""The memory one upload can take is bounded before decoding, and phones' multi-picture JPEGs are photos."""

import io
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from PIL import ExifTags, Image, ImageFile, WebPImagePlugin

from stories import images
from stories.models import StoryImage
from tests.stories.test_images import (
    SENTINEL,
    assert_clean,
    compressible_png,
    encode,
    make_image,
    noise,
    page_html,
    png_header_claiming,
    private_files,
    rendition_urls,
    sentinel_exif,
)

# Korean pages activate Korean for the thread: every test here starts, and leaves, in English.
pytestmark = pytest.mark.usefixtures("in_english")

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# A real, valid lossless WebP of 7000 x 7000 black pixels, 34 bytes long, made by Pillow; decoding it whole
# takes about a gigabyte of memory.
WEBP_49_MEGAPIXELS = bytes.fromhex("524946461a000000574542505650384c0e0000002f57dbd506071011fd0f4444ff03")


@pytest.fixture
def decoding_spy(monkeypatch):
    """Count every time Pillow decodes pixels, WebP's own loader included."""
    calls = []
    for cls in (ImageFile.ImageFile, WebPImagePlugin.WebPImageFile):
        original = cls.load

        def load(self, original=original):
            calls.append((self.format, self.size))
            return original(self)

        monkeypatch.setattr(cls, "load", load)
    return calls


def jpeg_header_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims another size; only its header can be read."""
    data = bytearray(encode(noise(64, 48), "JPEG"))
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def webp_header_claiming(width: int, height: int) -> bytes:
    """A small lossless WebP whose VP8L header claims another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16)), "WEBP", lossless=True))
    at = data.index(b"VP8L") + 9
    bits = int.from_bytes(data[at : at + 4], "little")
    bits = (bits & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
    data[at : at + 4] = bits.to_bytes(4, "little")
    return bytes(data)


def mpo(first: Image.Image, second: Image.Image, **options) -> bytes:
    """A multi-picture JPEG as phones write them: a photo, then another picture after it."""
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second], **options)
    return buffer.getvalue()


def test_the_webp_of_the_report_really_is_49_megapixels_in_34_bytes():
    image = Image.open(io.BytesIO(WEBP_49_MEGAPIXELS))
    assert (image.format, image.size, len(WEBP_49_MEGAPIXELS)) == ("WEBP", (7000, 7000), 34)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(WEBP_49_MEGAPIXELS, id="lossless-webp-7000x7000"),
        pytest.param(webp_header_claiming(4001, 4000), id="webp-header-just-over"),
        pytest.param(png_header_claiming(4001, 4000), id="png-header-just-over"),
        pytest.param(compressible_png(5000, 4000), id="real-png-20-megapixels"),
    ],
)
def test_a_png_or_webp_over_its_lower_ceiling_gets_a_translated_field_error_without_being_decoded(
    photo_part, decoding_spy, data
):
    before = private_files()
    assert len(data) < 100_000
    for language, expected in (
        ("en", "This PNG or WebP image is too large: at most 16 megapixels. Save it as a JPEG"),
        ("ko", "PNG 또는 WebP 이미지가 너무 큽니다"),
    ):
        with translation.override(language), pytest.raises(ValidationError) as refused:
            make_image(photo_part, data)
        assert refused.value.message_dict["original"][0].startswith(expected)
    assert decoding_spy == []
    assert not StoryImage.objects.exists()
    assert private_files() == before


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png_header_claiming(4000, 4000), id="png"),
        pytest.param(webp_header_claiming(4000, 4000), id="webp"),
        pytest.param(jpeg_header_claiming(8000, 6000), id="jpeg-48-megapixels"),
    ],
)
def test_each_format_is_inspected_up_to_its_own_ceiling_from_the_header_alone(decoding_spy, data):
    inspection = images.inspect(data)
    assert inspection.width * inspection.height <= images.max_pixels(inspection.format)
    assert decoding_spy == []


def test_the_ceiling_of_formats_decoded_whole_is_lower_and_jpeg_is_reduced_while_decoding(decoding_spy):
    assert images.MAX_PIXELS_DECODED_WHOLE == 16_000_000
    assert images.max_pixels("PNG") == images.max_pixels("WEBP") == images.MAX_PIXELS_DECODED_WHOLE
    assert images.max_pixels("GIF") == images.MAX_PIXELS_DECODED_WHOLE
    assert images.max_pixels("JPEG") == images.MAX_PIXELS
    # A JPEG over the lower ceiling is decoded at a fraction of its size, so it may have more pixels.
    decoded = images.decode(encode(Image.new("RGB", (4800, 3400), (90, 120, 60)), "JPEG", quality=50))
    assert set(decoding_spy) == {("JPEG", (2400, 1700))}
    assert decoded.size == (1600, 1133)
    with pytest.raises(images.ImageRejected) as refused:
        images.inspect(jpeg_header_claiming(9000, 6000))
    assert refused.value.code == "too_many_pixels"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory is read from Linux's /proc")
def test_decoding_the_webp_of_the_report_stays_within_a_bounded_amount_of_memory():
    # In a fresh process, so that its peak resident memory is this decoding's alone: about 30 MB when it is
    # refused from the header, a gigabyte if it were decoded.
    # VmHWM is the new program's own peak (ru_maxrss would carry over the forked parent's).
    code = (
        "import re, sys\n"
        "from django.conf import settings\n"
        "settings.configure(USE_I18N=False)\n"
        "from stories import images\n"
        "try:\n"
        "    images.decode(bytes.fromhex(sys.argv[1]))\n"
        "except images.ImageRejected as error:\n"
        "    print(error.code)\n"
        "print(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, WEBP_49_MEGAPIXELS.hex()],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    refusal, peak_kilobytes = result.stdout.split()
    assert refusal == "too_many_pixels_decoded_whole"
    assert int(peak_kilobytes) < 150_000


def test_a_refusal_of_the_worker_reads_again_in_the_editors_language():
    with translation.override("ko"):
        message = str(images.rejection("too_many_pixels_decoded_whole").message)
    assert message.startswith("PNG 또는 WebP 이미지가 너무 큽니다")


# --- Multi-picture JPEGs (MPO) ---------------------------------------------------------------------------


def test_a_phones_multi_picture_jpeg_is_accepted_as_a_jpeg_from_its_first_picture_without_metadata(client, photo_part):
    first = noise(1000, 700)
    depth_map = Image.new("RGB", (320, 240), (0, 255, 0))
    data = mpo(first, depth_map, exif=sentinel_exif().tobytes(), quality=92)
    source = Image.open(io.BytesIO(data))
    assert source.format == "MPO" and source.n_frames == 2
    assert SENTINEL in data
    assert images.inspect(data) == images.Inspection(format="JPEG", width=1000, height=700)

    image = make_image(photo_part, data)
    assert image.original_format == "JPEG" and image.original.name.endswith(".jpg")
    assert (image.width, image.height) == (1000, 700)
    urls = rendition_urls(page_html(client, photo_part))
    assert urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        served = b"".join(response.streaming_content)
        assert_clean(served)
        rendition = Image.open(io.BytesIO(served)).convert("RGB")
        # The photo (noise, grey on average), not the green picture after it.
        red, green, blue = rendition.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
        assert abs(red - green) < 30 and abs(green - blue) < 30


def test_a_multi_picture_jpeg_turns_upright_from_its_orientation_tag(photo_part):
    data = mpo(noise(600, 400), noise(60, 40, seed=3), exif=sentinel_exif(orientation=6).tobytes())
    image = make_image(photo_part, data)
    assert (image.width, image.height) == (400, 600)
    assert ExifTags.Base.Orientation in Image.open(io.BytesIO(data)).getexif()
