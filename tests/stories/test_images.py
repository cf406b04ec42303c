"""Clean photos, attacked: hidden metadata, disguised and hostile files, bombs, orientation, obscured
areas, private originals, consent to photos, withdrawal with the cache on, alt text and the guard."""

import datetime
import io
import json
import random
import re
import struct
import zlib
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageStat, PngImagePlugin

from stories import images, services
from stories.models import Consent, Part, StoryImage, private_storage
from tests.conftest import approve_translations, make_part, make_staff, make_story, make_storyteller
from tests.stories.test_back_office import admin_url, form_errors, open_form
from translations import services as translation_services

# Korean pages activate Korean for the thread: every test here starts, and leaves, in English.
pytestmark = pytest.mark.usefixtures("in_english")

SENTINEL = b"ZQ7SENTINELx9"
TEXT_SENTINEL = SENTINEL.decode()
RENDITION_URL = re.compile(r"/(?:en|ko)/photos/[0-9a-f]{32}/\d+\.(?:webp|jpg)")


# --- Building hostile test files ------------------------------------------------------------------


def noise(width: int = 1200, height: int = 900, seed: int = 7) -> Image.Image:
    """A photo stand-in whose every pixel differs, so that any smoothing or pixelation shows."""
    rng = random.Random(seed)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def sentinel_exif(orientation: int = 1) -> Image.Exif:
    """EXIF with a description, an artist, a camera serial and GPS coordinates, several carrying the sentinel."""
    exif = Image.Exif()
    exif[ExifTags.Base.ImageDescription] = f"Taken outside the house {TEXT_SENTINEL}"
    exif[ExifTags.Base.Artist] = TEXT_SENTINEL
    exif[ExifTags.Base.Make] = "InventedCam"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 24.0, 7.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (128.0, 10.0, 3.25)
    gps[ExifTags.GPS.GPSMapDatum] = TEXT_SENTINEL
    return exif


def sentinel_icc() -> bytes:
    """A real sRGB profile with the sentinel written into it."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes() + SENTINEL


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def xmp_packet() -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:City="' + SENTINEL + b'"/>'
        b"</rdf:RDF></x:xmpmeta>"
    )


def iptc_block() -> bytes:
    """A Photoshop IRB holding IPTC caption (2:120) and city (2:90) records."""
    records = b""
    for dataset, value in ((120, b"Caption " + SENTINEL), (90, SENTINEL)):
        records += b"\x1c\x02" + bytes([dataset]) + struct.pack(">H", len(value)) + value
    if len(records) % 2:
        records += b"\x00"
    return b"Photoshop 3.0\x00" + b"8BIM" + b"\x04\x04" + b"\x00\x00" + struct.pack(">I", len(records)) + records


def jpeg_with_everything(image: Image.Image | None = None, *, orientation: int = 1) -> bytes:
    """A JPEG with EXIF and GPS, an ICC profile and a comment, then XMP, IPTC and another comment spliced in."""
    data = encode(
        image or noise(),
        "JPEG",
        exif=sentinel_exif(orientation).tobytes(),
        icc_profile=sentinel_icc(),
        comment=b"Pillow comment " + SENTINEL,
        quality=90,
    )
    spliced = (
        jpeg_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet())
        + jpeg_segment(0xED, iptc_block())
        + jpeg_segment(0xFE, b"COM segment " + SENTINEL)
    )
    return data[:2] + spliced + data[2:]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with_everything(image: Image.Image | None = None) -> bytes:
    """A PNG with tEXt, zTXt and iTXt chunks, an eXIf chunk, an ICC profile and HTML after IEND."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"tEXt {TEXT_SENTINEL}")
    info.add_text("Author", f"zTXt {TEXT_SENTINEL}", zip=True)
    info.add_itxt("Description", f"iTXt {TEXT_SENTINEL}", lang="ko", tkey="설명")
    info.add_itxt("Location", f"compressed iTXt {TEXT_SENTINEL}", zip=True)
    data = encode(
        image or noise(600, 400),
        "PNG",
        pnginfo=info,
        exif=sentinel_exif().tobytes(),
        icc_profile=sentinel_icc(),
    )
    return data + b"<html><script>alert(1)</script>" + SENTINEL + b"</html>"


def webp_with_everything(image: Image.Image | None = None) -> bytes:
    return encode(
        image or noise(800, 600),
        "WEBP",
        exif=sentinel_exif().tobytes(),
        xmp=xmp_packet(),
        icc_profile=sentinel_icc(),
        quality=90,
    )


def png_chunks(data: bytes) -> list[bytes]:
    kinds, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kinds.append(data[at + 4 : at + 8])
        at += 12 + length
        if kinds[-1] == b"IEND":
            break
    return kinds


def webp_chunks(data: bytes) -> list[bytes]:
    kinds, at = [], 12
    while at + 8 <= len(data):
        kind, (length,) = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])
        kinds.append(kind)
        at += 8 + length + (length % 2)
    return kinds


def jpeg_markers(data: bytes) -> tuple[list[int], int]:
    """Walk a JPEG's segments, entropy-coded data included; return the markers and where EOI ends."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [0xD8], 2
    while at < len(data):
        assert data[at] == 0xFF, f"garbage at {at}"
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xD9:
            return markers, at + 2
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        at += 2 + length
        if marker == 0xDA:
            # Skip the scan's entropy-coded data: 0xFF00 is a stuffed byte, 0xFFD0-D7 restart markers.
            while not (data[at] == 0xFF and data[at + 1] not in {0x00, *range(0xD0, 0xD8)}):
                at += 1
    raise AssertionError("no EOI")


def assert_clean(data: bytes) -> None:
    """Read every byte of a rendition: no sentinel anywhere, no metadata structure, nothing trailing."""
    assert SENTINEL not in data
    assert SENTINEL.lower() not in data.lower()
    assert b"<script" not in data.lower() and b"<html" not in data.lower()
    assert b"Exif\x00" not in data and b"ICC_PROFILE" not in data and b"Photoshop 3.0" not in data
    assert b"http://ns.adobe.com/xap" not in data and b"<x:xmpmeta" not in data
    if data.startswith(b"\xff\xd8"):
        markers, end = jpeg_markers(data)
        # SOI, JFIF APP0, quantisation and Huffman tables, frame, scans, EOI: nothing else.
        assert set(markers) <= {0xD8, 0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDA, 0xD9, 0xDD}, [hex(m) for m in markers]
        assert end == len(data), "bytes after the end of the image"
    else:
        assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
        assert struct.unpack("<I", data[4:8])[0] + 8 == len(data), "bytes outside the RIFF container"
        kinds = webp_chunks(data)
        assert set(kinds) <= {b"VP8 ", b"VP8L", b"VP8X", b"ALPH"}, kinds
        if b"VP8X" in kinds:
            flags = data[20]
            assert not flags & (0x20 | 0x08 | 0x04), "VP8X announces ICC, EXIF or XMP"
    image = Image.open(io.BytesIO(data))
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp", "comment", "photoshop", "XML:com.adobe.xmp"} & set(image.info)


# --- Factories ---------------------------------------------------------------------------------


def upload(data: bytes, name: str = "IMG_2041 Hyesan market.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def make_image(part: Part, data: bytes, **fields) -> StoryImage:
    defaults = {
        "alt_text_en": "A river at dawn, seen from a bank.",
        "alt_text_ko": "새벽의 강, 강둑에서 본 모습.",
        "caption_en": "The river in spring.",
        "caption_ko": "봄의 강.",
        "credit_en": "Invented Photographer",
        "credit_ko": "지어낸 사진가",
        "shows_identifiable_person": False,
    }
    defaults.update(fields)
    image = services.story_image_save(image=StoryImage(part=part, original=upload(data), **defaults))
    # The text in the story's other language is a translation, approved as the workflow would.
    return approve_translations(image)


def page_html(client, part: Part, language: str = "en") -> str:
    with translation.override(language):
        url = part.get_absolute_url()
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def rendition_urls(html: str) -> list[str]:
    return sorted(set(RENDITION_URL.findall(html)))


def fetch(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def private_files() -> set[str]:
    root = Path(private_storage().location)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


# --- No metadata survives in any rendition --------------------------------------------------------


def test_the_hostile_test_files_really_carry_the_sentinel():
    jpeg = jpeg_with_everything()
    source = Image.open(io.BytesIO(jpeg))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] == (41.0, 24.0, 7.5)
    assert SENTINEL in source.info["icc_profile"]
    assert jpeg.count(SENTINEL) >= 7  # description, artist, GPS datum, ICC, two comments, XMP, IPTC x2
    png = png_with_everything()
    assert {b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"} <= set(png_chunks(png))
    assert TEXT_SENTINEL in Image.open(io.BytesIO(png)).text["Author"]
    webp = webp_with_everything()
    assert {b"EXIF", b"XMP ", b"ICCP"} <= set(webp_chunks(webp))


@pytest.mark.parametrize("build", [jpeg_with_everything, png_with_everything, webp_with_everything])
def test_no_metadata_reaches_any_rendition(build):
    prepared = images.render(build())
    assert len(prepared.renditions) >= 4
    for rendition in prepared.renditions:
        assert_clean(rendition.data)


@pytest.mark.parametrize("build", [jpeg_with_everything, png_with_everything, webp_with_everything])
def test_every_served_rendition_is_clean_to_the_last_byte(client, photo_part, build):
    image = make_image(photo_part, build())
    urls = rendition_urls(page_html(client, photo_part, "en")) + rendition_urls(page_html(client, photo_part, "ko"))
    stored = {(item["width"], item["extension"]) for item in image.renditions["items"]}
    assert len(urls) == 2 * len(stored)
    for url in urls:
        assert_clean(fetch(client, url))


def test_renditions_have_the_promised_widths_and_formats(photo_part):
    image = make_image(photo_part, encode(noise(2400, 1600), "JPEG"))
    sizes = sorted((item["width"], item["height"], item["extension"]) for item in image.renditions["items"])
    assert sizes == [(w, h, ext) for w, h in ((480, 320), (960, 640), (1600, 1067)) for ext in ("jpg", "webp")]
    small = make_image(photo_part, encode(noise(700, 350), "PNG"))
    assert sorted({item["width"] for item in small.renditions["items"]}) == [480, 700]
    for item in image.renditions["items"]:
        data = private_storage().open(item["name"]).read()
        assert Image.open(io.BytesIO(data)).size == (item["width"], item["height"])
        assert Image.open(io.BytesIO(data)).format == {"jpg": "JPEG", "webp": "WEBP"}[item["extension"]]


# --- Only JPEG, PNG and WebP, judged by content ------------------------------------------------------


def gif_bytes() -> bytes:
    return encode(noise(40, 40), "GIF")


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(gif_bytes(), id="gif"),
        pytest.param(SVG, id="svg"),
        pytest.param(HTML, id="html"),
        pytest.param(encode(noise(40, 40), "BMP"), id="bmp"),
        pytest.param(encode(noise(40, 40), "TIFF"), id="tiff"),
        pytest.param(b"%PDF-1.4\n" + SENTINEL, id="pdf"),
        # An HTML page that carries a real JPEG inside it is still an HTML page.
        pytest.param(HTML + encode(noise(40, 40), "JPEG"), id="html-wrapping-a-jpeg"),
    ],
)
def test_files_named_jpg_that_are_not_jpeg_png_or_webp_are_refused(photo_part, data):
    before = private_files()
    with pytest.raises(ValidationError) as refused:
        make_image(photo_part, data)
    assert refused.value.message_dict["original"] == ["Upload a photo in JPEG, PNG or WebP format."]
    assert not StoryImage.objects.exists()
    assert private_files() == before


def test_magic_bytes_and_decoder_must_agree():
    # Starts like a PNG, but the rest is a JPEG.
    jpeg = encode(noise(40, 40), "JPEG")
    with pytest.raises(images.ImageRejected):
        images.render(b"\x89PNG\r\n\x1a\n" + jpeg)


def test_a_jpeg_html_polyglot_is_accepted_only_as_pixels():
    """A real JPEG that is also a script (in a comment) and a page (after the end) loses both."""
    jpeg = encode(noise(300, 200), "JPEG")
    payload = b"*/=1;alert(1);/*<script>" + SENTINEL + b"</script>"
    polyglot = jpeg[:2] + jpeg_segment(0xFE, payload) + jpeg[2:] + b"<html><script>" + SENTINEL + b"</script></html>"
    assert Image.open(io.BytesIO(polyglot)).format == "JPEG"
    for rendition in images.render(polyglot).renditions:
        assert_clean(rendition.data)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(encode(noise(400, 300), "JPEG")[:3000], id="truncated-jpeg"),
        pytest.param(encode(noise(400, 300), "PNG")[:5000], id="truncated-png"),
        pytest.param(encode(noise(400, 300), "WEBP")[:4000], id="truncated-webp"),
        pytest.param(encode(noise(400, 300), "PNG")[:33] + b"\x00" * 4000, id="corrupt-png"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 64, id="jpeg-header-only"),
    ],
)
def test_a_truncated_or_corrupt_file_gets_a_clear_error(photo_part, data):
    """Refused at once when its header shows it; otherwise the task fails it, says why, and shows nothing."""
    damaged = "This image file is damaged or incomplete. Export it again and upload the new file."
    before = private_files()
    try:
        image = make_image(photo_part, data)
    except ValidationError as refused:
        assert refused.message_dict["original"] == [damaged]
        assert private_files() == before
        return
    assert image.processing == StoryImage.Processing.FAILED
    assert image.processing_error == "damaged"
    assert image.processing_message == damaged
    assert not image.rendition_key and not image.renditions["items"]
    assert not image.is_public("en")
    # The upload is kept, for the editor to replace or delete; no rendition was left behind.
    assert private_files() - before == {image.original.name}


def test_an_empty_file_is_refused(photo_part):
    with pytest.raises(ValidationError) as refused:
        make_image(photo_part, b"")
    assert "original" in refused.value.message_dict


# --- Ceilings, before decoding ---------------------------------------------------------------------


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image; its pixel data is a few bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def compressible_png(width: int, height: int) -> bytes:
    """A real, valid black greyscale PNG, tens of megapixels squeezed into a few kilobytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")


@pytest.fixture
def decoding_spy(monkeypatch):
    """Count every time Pillow decodes pixels."""
    calls = []
    original = ImageFile.ImageFile.load

    def load(self):
        calls.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return calls


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(png_header_claiming(50_000, 50_000), id="header-claims-50000x50000"),
        pytest.param(compressible_png(8_000, 8_000), id="64-megapixels-in-kilobytes"),
        pytest.param(png_header_claiming(13_000, 10), id="longer-than-the-side-ceiling"),
    ],
)
def test_a_decompression_bomb_gets_a_form_error_without_being_decoded(photo_part, decoding_spy, data):
    assert len(data) < 200_000
    with pytest.raises(ValidationError) as refused:
        make_image(photo_part, data)
    assert "too large" in refused.value.message_dict["original"][0]
    assert decoding_spy == []
    assert not StoryImage.objects.exists()


def test_pillows_own_bomb_check_is_a_second_line(monkeypatch, decoding_spy):
    # Even if our ceiling were raised by mistake, Pillow's limit refuses the file at open, undecoded.
    monkeypatch.setattr(images, "MAX_PIXELS", 10**12)
    monkeypatch.setattr(images, "MAX_SIDE", 10**6)
    with pytest.raises(images.ImageRejected) as refused:
        images.render(png_header_claiming(50_000, 50_000))
    assert refused.value.code == "too_many_pixels"
    assert decoding_spy == []


def test_a_file_over_the_byte_ceiling_is_refused_before_it_is_read(photo_part, monkeypatch):
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 10_000)

    def never(*args, **kwargs):
        raise AssertionError("the file was processed")

    monkeypatch.setattr(images, "render", never)
    with pytest.raises(ValidationError) as refused:
        make_image(photo_part, encode(noise(400, 300), "PNG"))
    assert refused.value.message_dict["original"] == ["This file is too large: at most 0 MB."]


def test_the_ceilings_are_what_the_docs_say():
    assert images.MAX_UPLOAD_BYTES == 20 * 1024 * 1024
    assert images.MAX_PIXELS == 50_000_000
    assert Image.MAX_IMAGE_PIXELS == images.MAX_PIXELS


# --- Upright, and obscured ---------------------------------------------------------------------------


def test_an_exif_rotated_photo_comes_out_upright(photo_part):
    # Stored sideways: red on the left, blue on the right. Orientation 6 says "turn 90° clockwise to view",
    # which puts the left edge at the top.
    stored = Image.new("RGB", (400, 200), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 200, 200))
    image = make_image(photo_part, jpeg_with_everything(stored, orientation=6))
    for item in image.renditions["items"]:
        rendition = Image.open(private_storage().open(item["name"])).convert("RGB")
        width, height = rendition.size
        assert height == 2 * width  # portrait now
        top = rendition.getpixel((width // 2, height // 4))
        bottom = rendition.getpixel((width // 2, 3 * height // 4))
        assert top[0] > 200 and top[2] < 60, top
        assert bottom[2] > 200 and bottom[0] < 60, bottom


def region_spread(image: Image.Image, box: tuple[int, int, int, int]) -> float:
    return max(ImageStat.Stat(image.crop(box).convert("RGB")).stddev)


@pytest.mark.parametrize("extension", ["jpg", "webp"])
def test_obscured_areas_are_pixelated_in_every_rendition(photo_part, extension):
    source = noise(1200, 900)
    area = {"x": 0.25, "y": 0.3, "w": 0.4, "h": 0.35}
    image = make_image(photo_part, encode(source, "PNG"), obscured_areas=[area])
    for item in image.renditions["items"]:
        if item["extension"] != extension:
            continue
        rendition = Image.open(private_storage().open(item["name"])).convert("RGB")
        width, height = rendition.size
        original = source.resize((width, height), Image.Resampling.LANCZOS)
        # Inside, a margin away from the edges that resizing blends.
        inner = (
            int((area["x"] + 0.03) * width),
            int((area["y"] + 0.03) * height),
            int((area["x"] + area["w"] - 0.03) * width),
            int((area["y"] + area["h"] - 0.03) * height),
        )
        assert region_spread(original, inner) > 20
        assert region_spread(rendition, inner) < region_spread(original, inner) / 3
        # Only a few flat blocks remain: at most OBSCURE_BLOCKS along the longer side.
        blocks = rendition.crop(inner).resize((60, 60), Image.Resampling.NEAREST).quantize(64)
        assert len(blocks.getcolors()) <= 40
        # Outside the area the photo is untouched.
        outside = (0, 0, int(0.2 * width), int(0.25 * height))
        assert region_spread(rendition, outside) > region_spread(original, outside) / 2


def test_obscuring_happens_on_the_pixels_and_the_original_upload_stays_as_it_was(photo_part):
    data = encode(noise(600, 400), "PNG")
    image = make_image(photo_part, data, obscured_areas=[{"x": 0, "y": 0, "w": 1, "h": 1}])
    assert private_storage().open(image.original.name).read() == data
    rendition = Image.open(private_storage().open(image.renditions["items"][0]["name"])).convert("RGB")
    assert region_spread(rendition, (5, 5, rendition.width - 5, rendition.height - 5)) < 15


def test_changing_the_areas_renders_again_under_new_urls_and_removes_the_old_files(
    client, photo_part, django_capture_on_commit_callbacks
):
    image = make_image(photo_part, encode(noise(600, 400), "PNG"))
    old_urls = rendition_urls(page_html(client, photo_part))
    old_files = {item["name"] for item in image.renditions["items"]}
    image.obscured_areas = [{"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}]
    with django_capture_on_commit_callbacks(execute=True):
        services.story_image_save(image=image)
    new_urls = rendition_urls(page_html(client, photo_part))
    assert new_urls and not set(new_urls) & set(old_urls)
    for url in old_urls:
        assert client.get(url).status_code == 404
    assert not old_files & private_files()
    assert image.original.name in private_files()


@pytest.mark.parametrize(
    "areas",
    [
        "not a list",
        [{"x": 0.1, "y": 0.1, "w": 0.2}],
        [{"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2, "note": "face"}],
        [{"x": -0.1, "y": 0.1, "w": 0.2, "h": 0.2}],
        [{"x": 0.9, "y": 0.1, "w": 0.2, "h": 0.2}],
        [{"x": 0.1, "y": 0.1, "w": 0, "h": 0.2}],
        [{"x": "0.1", "y": 0.1, "w": 0.2, "h": 0.2}],
        [{"x": True, "y": 0.1, "w": 0.2, "h": 0.2}],
        [{"x": float("nan"), "y": 0.1, "w": 0.2, "h": 0.2}],
        [{"x": 0.1, "y": 0.1, "w": 0.1, "h": 0.1}] * (images.MAX_OBSCURED_AREAS + 1),
    ],
)
def test_invalid_areas_are_refused_and_nothing_is_stored(photo_part, areas):
    before = private_files()
    with pytest.raises(ValidationError) as refused:
        make_image(photo_part, encode(noise(200, 100), "PNG"), obscured_areas=areas)
    assert "obscured_areas" in refused.value.message_dict
    assert private_files() == before


# --- Originals are never public ------------------------------------------------------------------------


def test_originals_are_kept_privately_under_random_names_and_no_public_url_returns_them(client, photo_part, settings):
    data = jpeg_with_everything()
    image = make_image(photo_part, data)
    path = Path(private_storage().path(image.original.name))
    assert path.read_bytes() == data
    assert str(path).startswith(str(settings.PRIVATE_MEDIA_ROOT))
    assert not str(path).startswith(str(settings.MEDIA_ROOT))
    assert "IMG_2041" not in image.original.name and "Hyesan" not in image.original.name
    html = page_html(client, photo_part)
    assert image.original.name not in html and path.name not in html
    assert client.get(f"/media/{image.original.name}").status_code == 404
    served = [fetch(client, url) for url in rendition_urls(html)]
    assert served and data not in served
    key = image.rendition_key
    for width in (image.width, 1200, 0, 480):
        for extension in ("jpg", "jpeg", "png", "webp", "gif", "original"):
            response = client.get(f"/en/photos/{key}/{width}.{extension}")
            if response.status_code == 200:
                assert b"".join(response.streaming_content) != data
            else:
                assert response.status_code == 404
    for url in rendition_urls(html):
        assert Path(url).stem.isdigit()  # the name of a served file is its width, nothing else


# --- Who may see a photo -------------------------------------------------------------------------------


def never_existed_404(client, language: str = "en") -> bytes:
    response = client.get(f"/{language}/photos/0123456789abcdef0123456789abcdef/480.jpg")
    assert response.status_code == 404
    return response.content


def test_after_a_withdrawal_every_photo_url_answers_the_plain_404_with_the_cache_on(client, photo_part):
    storyteller = photo_part.story.storyteller
    make_image(photo_part, encode(noise(1000, 700), "JPEG"))
    make_image(photo_part, encode(noise(600, 400), "PNG"), shows_identifiable_person=True)
    other = make_part(story=make_story(storyteller=make_storyteller(consent={"covers_photos": True})))
    make_image(other, encode(noise(500, 300), "WEBP"))
    urls = []
    for language in ("en", "ko"):
        html = page_html(client, photo_part, language)
        # The page is now cached: the second request is served from the cache.
        assert page_html(client, photo_part, language) == html
        urls += rendition_urls(html)
    # Two languages; 1000 pixels wide gives 480, 960 and 1000, 600 wide gives 480 and 600; two formats each.
    assert len(urls) == 2 * (3 + 2) * 2
    for url in urls:
        fetch(client, url)
    other_urls = rendition_urls(page_html(client, other))

    services.consent_withdraw(storyteller=storyteller, reason="Asked to take it down.", recorded_by=None)

    plain = {language: never_existed_404(client, language) for language in ("en", "ko")}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.content == plain[url[1:3]]
    with translation.override("en"):
        assert client.get(photo_part.get_absolute_url()).status_code == 404
    for url in other_urls:
        fetch(client, url)


def test_a_revalidating_browser_gets_the_404_after_a_withdrawal_never_a_304(client, photo_part):
    make_image(photo_part, encode(noise(600, 400), "JPEG"))
    url = rendition_urls(page_html(client, photo_part))[0]
    response = client.get(url)
    etag = response["ETag"]
    assert response["Cache-Control"] == "no-cache"
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304
    services.consent_withdraw(storyteller=photo_part.story.storyteller, reason="Withdrawn.", recorded_by=None)
    assert client.get(url, headers={"if-none-match": etag}).status_code == 404


def test_a_photo_of_an_identifiable_person_needs_consent_to_photos(client, part):
    # The default storyteller consented to the web in both languages, but not to photos.
    assert not part.story.storyteller.effective_consent().covers_photos
    person = make_image(part, encode(noise(600, 400), "JPEG"), shows_identifiable_person=True)
    scenery = make_image(part, encode(noise(600, 400), "PNG"), shows_identifiable_person=False)
    html = page_html(client, part)
    assert person.rendition_key not in html
    assert scenery.rendition_key in html
    plain = never_existed_404(client)
    for item in person.renditions["items"]:
        response = client.get(f"/en/photos/{person.rendition_key}/{item['width']}.{item['extension']}")
        assert response.status_code == 404 and response.content == plain
    assert set(StoryImage.objects.public("en")) == {scenery}

    services.consent_record(
        storyteller=part.story.storyteller,
        decision=Consent.Decision.GIVEN,
        recorded_by=None,
        review_by=timezone.localdate() + datetime.timedelta(days=200),
        covers_web=True,
        covers_english=True,
        covers_korean=True,
        covers_photos=True,
    )
    assert person.rendition_key in page_html(client, part)
    assert person.is_public("en") and person.is_public("ko")


def test_photos_follow_the_language_scope_of_consent(client, db):
    storyteller = make_storyteller(consent={"covers_photos": True, "covers_korean": False})
    part = make_part(story=make_story(storyteller=storyteller))
    image = make_image(part, encode(noise(600, 400), "JPEG"))
    assert image.is_public("en") and not image.is_public("ko")
    item = image.renditions["items"][0]
    assert client.get(f"/en/photos/{image.rendition_key}/{item['width']}.{item['extension']}").status_code == 200
    assert client.get(f"/ko/photos/{image.rendition_key}/{item['width']}.{item['extension']}").status_code == 404


def test_photos_of_a_draft_part_are_not_served(client, photo_part):
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"))
    services.part_set_status(part=photo_part, status=Part.Status.DRAFT)
    item = image.renditions["items"][0]
    assert client.get(f"/en/photos/{image.rendition_key}/{item['width']}.{item['extension']}").status_code == 404


def test_staff_preview_photos_that_readers_cannot_see_yet_never_cached(client, photo_part, editor, translator):
    image = make_image(photo_part, encode(noise(600, 400), "JPEG"), shows_identifiable_person=True)
    services.part_set_status(part=photo_part, status=Part.Status.DRAFT)
    url = f"/en/photos/{image.rendition_key}/480.jpg"
    assert client.get(url).status_code == 404
    client.force_login(translator)
    assert client.get(url).status_code == 404
    client.force_login(editor)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    preview = client.get(f"/en/preview/parts/{photo_part.pk}/").content.decode()
    assert image.rendition_key in preview
    assert "readers see it only while the storyteller" in preview


def test_a_photo_without_alt_text_in_a_language_is_hidden_in_that_language(photo_part):
    image = make_image(photo_part, encode(noise(300, 200), "JPEG"))
    # Planted behind the model's back, as a direct database edit would.
    StoryImage.objects.filter(pk=image.pk).update(alt_text_ko="")
    assert image.is_public("en") and not image.is_public("ko")


def test_a_photo_that_was_never_cleaned_is_never_public(photo_part):
    image = make_image(photo_part, encode(noise(300, 200), "JPEG"))
    StoryImage.objects.filter(pk=image.pk).update(rendition_key="")
    assert not image.is_public("en")


# --- The part page -----------------------------------------------------------------------------------


def test_the_part_page_shows_a_responsive_picture_with_alt_text_caption_and_credit(client, photo_part):
    make_image(photo_part, encode(noise(2000, 1000), "JPEG"))
    html = page_html(client, photo_part, "ko")
    figure = re.search(r"<figure class=\"story-image\">.*?</figure>", html, re.S).group(0)
    assert '<source type="image/webp" srcset="' in figure
    webp = re.search(r'<source type="image/webp" srcset="([^"]+)"', figure).group(1)
    assert [entry.split()[1] for entry in webp.split(", ")] == ["480w", "960w", "1600w"]
    assert all(entry.startswith("/ko/photos/") and ".webp " in entry for entry in webp.split(", "))
    img = re.search(r"<img [^>]+>", figure).group(0)
    assert 'width="1600"' in img and 'height="800"' in img
    assert 'loading="lazy"' in img
    assert 'alt="새벽의 강, 강둑에서 본 모습."' in img
    assert ".jpg 480w" in img and 'src="/ko/photos/' in img
    assert "봄의 강." in figure and "지어낸 사진가" in figure
    assert "The river in spring." not in html


def test_part_page_queries_do_not_grow_with_the_number_of_photos(client, db, django_assert_max_num_queries):
    counts = []
    for count in (1, 8):
        part = make_part(story=make_story(storyteller=make_storyteller(consent={"covers_photos": True})))
        for n in range(count):
            make_image(part, encode(noise(100 + n, 80, seed=n), "JPEG"), shows_identifiable_person=bool(n % 2))
        with translation.override("en"):
            url = part.get_absolute_url()
        with django_assert_max_num_queries(7) as captured:
            html = client.get(url).content.decode()
        assert html.count('<figure class="story-image">') == count
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- Alt text and the identifying-detail guard --------------------------------------------------------


def test_alt_text_is_required_in_the_original_language(photo_part):
    assert photo_part.story.original_language == "en"
    with pytest.raises(ValidationError) as refused:
        make_image(photo_part, encode(noise(200, 100), "JPEG"), alt_text_en="  ")
    assert "alt_text_en" in refused.value.message_dict
    assert not StoryImage.objects.exists()


def test_a_photo_is_shown_in_another_language_only_once_its_text_is_translated_and_approved(
    client, photo_part, translator, editor
):
    image = services.story_image_save(
        image=StoryImage(
            part=photo_part,
            original=upload(encode(noise(300, 200), "JPEG")),
            alt_text_en="A kitchen table with two cups.",
            shows_identifiable_person=False,
        )
    )
    assert image.is_public("en") and not image.is_public("ko")
    assert image.rendition_key not in page_html(client, photo_part, "ko")

    translation_services.translation_save_draft(
        obj=image, language="ko", text={"alt_text": "컵 두 개가 놓인 부엌 식탁."}, by=translator
    )
    translation_services.translation_submit(obj=image, language="ko", by=translator)
    assert not image.is_public("ko")
    translation_services.translation_approve(obj=image, language="ko", by=editor)
    assert image.is_public("ko")
    assert 'alt="컵 두 개가 놓인 부엌 식탁."' in page_html(client, photo_part, "ko")


@pytest.fixture
def guarded_part(db):
    storyteller = make_storyteller(
        consent={"covers_photos": True}, identity={"identifying_terms": "Kim Sunhee\n혜산\nOkryu Street"}
    )
    return make_part(story=make_story(storyteller=storyteller), status=Part.Status.DRAFT)


@pytest.mark.parametrize(
    ("field", "text", "where"),
    [
        ("alt_text_en", "Two people on Okryu Street", "photo alt text (English)"),
        ("caption_en", "Okryu\u200b Street, spring", "photo caption (English)"),
        ("credit_en", "Photo by KIM SUNHEE", "photo credit (English)"),
    ],
)
def test_publishing_is_refused_when_a_photo_text_names_an_identifying_term(guarded_part, field, text, where):
    make_image(guarded_part, encode(noise(200, 100), "JPEG"), **{field: text})
    with pytest.raises(ValidationError) as refused:
        services.part_publish(part=guarded_part)
    assert where in " ".join(refused.value.messages)
    guarded_part.refresh_from_db()
    assert guarded_part.status == Part.Status.DRAFT


@pytest.mark.parametrize(
    ("field", "text", "where"),
    [
        ("alt_text", "혜산의 강가에 선 두 사람", "Alt text (Korean)"),
        ("caption", "혜\u200b산, 봄", "Caption (Korean)"),
    ],
)
def test_approving_a_photo_translation_that_names_an_identifying_term_is_refused(
    guarded_part, translator, editor, field, text, where
):
    image = make_image(guarded_part, encode(noise(200, 100), "JPEG"))
    translation_services.translation_save_draft(
        obj=image, language="ko", text={"alt_text": "강가에 선 두 사람", field: text}, by=translator
    )
    translation_services.translation_submit(obj=image, language="ko", by=translator)
    with pytest.raises(ValidationError) as refused:
        translation_services.translation_approve(obj=image, language="ko", by=editor)
    assert where in " ".join(refused.value.messages)
    image.refresh_from_db()
    assert "혜" not in (getattr(image, f"{field}_ko") or "")


def test_a_photo_with_an_identifying_alt_text_cannot_join_a_published_part(guarded_part):
    services.part_publish(part=guarded_part)
    with pytest.raises(ValidationError, match=r"photo alt text \(English\)"):
        make_image(guarded_part, encode(noise(200, 100), "JPEG"), alt_text_en="The Okryu Street market")
    assert not StoryImage.objects.exists()


def test_privacy_audit_finds_an_identifying_term_planted_in_a_photo_caption(guarded_part, capsys):
    services.part_publish(part=guarded_part)
    image = make_image(guarded_part, encode(noise(200, 100), "JPEG"))
    call_command("privacy_audit")
    # Planted behind the guard's back, as a direct database edit would.
    StoryImage.objects.filter(pk=image.pk).update(caption_ko="혜산에서 찍은 사진")
    with pytest.raises(CommandError):
        call_command("privacy_audit")
    output = capsys.readouterr().out
    assert "photo caption (Korean)" in output
    assert "혜산" not in output


# --- Deleting -------------------------------------------------------------------------------------------


def test_deleting_a_photo_removes_its_files_once_committed(photo_part, django_capture_on_commit_callbacks):
    image = make_image(photo_part, encode(noise(300, 200), "JPEG"))
    names = {image.original.name} | {item["name"] for item in image.renditions["items"]}
    assert names <= private_files()
    with django_capture_on_commit_callbacks(execute=True):
        image.delete()
    assert not names & private_files()


# --- The back office -------------------------------------------------------------------------------------


def add_photo_row(form, data: bytes, **values) -> dict:
    form.add_row(
        "images",
        alt_text_en="A kitchen table with two cups.",
        alt_text_ko="컵 두 개가 놓인 부엌 식탁.",
        obscured_areas='[{"x": 0.5, "y": 0.5, "w": 0.25, "h": 0.25}]',
        **values,
    )
    index = int(form.data["images-TOTAL_FORMS"]) - 1
    return {f"images-{index}-original": upload(data)}


def test_editor_adds_a_photo_on_the_part_page_and_readers_get_clean_renditions(client, editor, photo_part):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", photo_part.pk))
    files = add_photo_row(form, jpeg_with_everything(), shows_identifiable_person="")
    response = form.post(client, **files)
    assert response.status_code == 302, form_errors(response)
    image = StoryImage.objects.get(part=photo_part)
    assert image.obscured_areas == [{"x": 0.5, "y": 0.5, "w": 0.25, "h": 0.25}]
    assert image.original_format == "JPEG" and image.original.name.endswith(".jpg")
    change_page = client.get(admin_url("part", "change", photo_part.pk)).content.decode()
    assert f"/en/photos/{image.rendition_key}/480.jpg" in change_page
    assert image.original.name not in change_page
    client.logout()
    for url in rendition_urls(page_html(client, photo_part)):
        assert_clean(fetch(client, url))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (HTML, "Upload a photo in JPEG, PNG or WebP format."),
        (png_header_claiming(50_000, 50_000), "This image is too large"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "damaged or incomplete"),
    ],
)
def test_a_refused_upload_is_a_field_error_and_saves_nothing(client, editor, photo_part, data, message):
    client.force_login(editor)
    title = photo_part.title_en
    form = open_form(client, admin_url("part", "change", photo_part.pk))
    files = add_photo_row(form, data)
    before = private_files()
    response = form.post(client, title_en="A title that must not be saved", **files)
    assert response.status_code == 200
    errors = form_errors(response)
    assert message in " ".join(errors["images"][0]["original"])
    assert not StoryImage.objects.exists()
    photo_part.refresh_from_db()
    assert photo_part.title_en == title
    assert private_files() == before


def test_alt_text_missing_in_the_original_language_is_a_field_error_in_the_admin(client, editor, photo_part):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", photo_part.pk))
    files = add_photo_row(form, encode(noise(300, 200), "JPEG"))
    form.data["images-0-alt_text_en"] = ""
    response = form.post(client, **files)
    assert response.status_code == 200
    assert "alt_text_en" in form_errors(response)["images"][0]
    assert not StoryImage.objects.exists()


def test_photo_text_in_other_languages_is_not_editable_in_the_admin(client, editor, photo_part):
    make_image(photo_part, encode(noise(300, 200), "JPEG"))
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", photo_part.pk))
    html = form.response.content.decode()
    assert "images-0-alt_text_en" in form.data
    assert 'name="images-__prefix__-alt_text_en"' in html
    for field in ("alt_text_ko", "caption_ko", "credit_ko"):
        assert f"images-0-{field}" not in form.data
        assert f'name="images-__prefix__-{field}"' not in html


def test_translators_and_consent_officers_do_not_get_the_photo_inline(client, photo_part, translator, consent_officer):
    for user in (translator, consent_officer):
        client.force_login(user)
        html = client.get(admin_url("part", "change", photo_part.pk)).content.decode()
        assert "images-TOTAL_FORMS" not in html


def test_an_editor_group_member_without_admin_perms_elsewhere_cannot_fetch_unpublished_photos(client, photo_part):
    image = make_image(photo_part, encode(noise(300, 200), "JPEG"))
    services.part_set_status(part=photo_part, status=Part.Status.DRAFT)
    client.force_login(make_staff("Consent officers"))
    assert client.get(f"/en/photos/{image.rendition_key}/300.jpg").status_code == 404


def test_obscured_areas_entered_as_text_are_validated_in_the_admin(client, editor, photo_part):
    client.force_login(editor)
    form = open_form(client, admin_url("part", "change", photo_part.pk))
    files = add_photo_row(form, encode(noise(300, 200), "JPEG"))
    form.data["images-0-obscured_areas"] = json.dumps([{"x": 0.8, "y": 0.1, "w": 0.5, "h": 0.1}])
    response = form.post(client, **files)
    assert response.status_code == 200
    assert "Area 1 must lie inside the image" in " ".join(form_errors(response)["images"][0]["obscured_areas"])


def test_a_stored_original_is_rendered_again_when_renditions_are_missing(photo_part):
    image = make_image(photo_part, encode(noise(300, 200), "PNG"))
    StoryImage.objects.filter(pk=image.pk).update(rendition_key="", renditions={})
    image.refresh_from_db()
    services.story_image_save(image=image)
    assert image.rendition_key and image.is_public("en")


def test_an_image_saved_without_the_service_is_still_cleaned(photo_part):
    image = StoryImage.objects.create(
        part=photo_part,
        original=ContentFile(jpeg_with_everything(), name="x.jpg"),
        alt_text_en="A door.",
        alt_text_ko="문.",
        shows_identifiable_person=False,
    )
    assert image.rendition_key
    for item in image.renditions["items"]:
        assert_clean(private_storage().open(item["name"]).read())
