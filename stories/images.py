"""Clean photos: check an upload by its content, then rebuild it from its pixels alone.

Pure functions, bytes in and bytes out; nothing here touches the database or storage. An upload is
accepted only when its first bytes and Pillow both say JPEG, PNG or WebP, its size and pixel count
are within the ceilings (read from the header, before any pixel is decoded; lower for the formats that
cannot be reduced while decoding, so that one upload's memory is bounded), and it decodes whole.
Renditions are encoded from a fresh image that holds pixels and nothing else, so no EXIF, GPS, XMP,
IPTC, ICC profile, comment or text chunk of the upload can survive into them.

``RenditionUrls`` is what every cleaned image (a story's photo, a campaign's photo, a press logo) says
about its stored renditions to readers: their URLs, srcsets and the one a share card uses.
"""

import io
import json
import math
import struct
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from archive.i18n import reverse_page

# 20 MB holds any phone photo saved as JPEG or WebP, and most PNG screenshots; the web server in
# front should refuse larger request bodies before they reach Django at all.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# 50 megapixels covers 48-megapixel phone sensors. Checked from the header, before decoding; the
# JPEG decoder then scales down while decoding, so a large photo never sits whole in memory.
MAX_PIXELS = 50_000_000
# PNG and WebP cannot be reduced while decoding: every pixel sits in memory, four bytes each, and again
# while it is flattened. A 7000 x 7000 lossless WebP can be 38 bytes long and take a gigabyte to decode;
# at this ceiling (checked from the header too) one upload takes about 200 MB at most. Screenshots and
# phones' PNG or WebP photos are well under it; a larger photo can be uploaded as a JPEG.
MAX_PIXELS_DECODED_WHOLE = 16_000_000
# The formats whose decoder reduces while decoding (decode() asks it to); every other one is decoded whole.
REDUCED_WHILE_DECODING = {"JPEG"}
# No side longer than this, so a thin strip cannot pass the pixel ceiling and produce renditions
# taller than WebP can encode (16383 pixels).
MAX_SIDE = 12_000
# Pillow's own decompression-bomb check, as a second line behind ours: it warns above this many
# pixels (turned into an error below) and refuses outright above twice as many.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Pillow format name: the extension an original is stored under.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
# Each rendition width, capped at the width of the photo itself.
RENDITION_WIDTHS = (480, 960, 1600)
# The widest JPEG a browser without srcset gets.
FALLBACK_MAX_WIDTH = 960
# The widest JPEG a share card (link preview) gets: cards are shown at most about 1200 pixels wide.
SHARE_MAX_WIDTH = 1600
# Rendition extension: (Pillow format, content type, encoder options).
RENDITION_FORMATS = {
    "webp": ("WEBP", "image/webp", {"quality": 80, "method": 4}),
    "jpg": ("JPEG", "image/jpeg", {"quality": 82, "optimize": True, "progressive": True}),
}
# An obscured area keeps at most this many blocks along its longer side: a face or a sign becomes a
# few flat patches of colour, from which no detail can be recovered.
OBSCURE_BLOCKS = 5
MAX_OBSCURED_AREAS = 50
# Metadata a rendition must never carry; checked on every rendition before it leaves this module.
_METADATA_KEYS = {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc"}


class ImageRejected(Exception):
    """An upload that is not an acceptable photo; ``message`` is shown to the editor."""

    def __init__(self, message, code: str) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Inspection:
    """What the header of an accepted upload says."""

    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return ALLOWED_FORMATS[self.format]


@dataclass(frozen=True)
class Rendition:
    """One encoded rendition, ready to be stored."""

    width: int
    height: int
    extension: str
    data: bytes

    @property
    def content_type(self) -> str:
        return RENDITION_FORMATS[self.extension][1]


@dataclass(frozen=True)
class Prepared:
    """The outcome of processing one upload: its format and every rendition."""

    inspection: Inspection
    renditions: list[Rendition]


def _rejected_type() -> ImageRejected:
    return ImageRejected(_("Upload a photo in JPEG, PNG or WebP format."), "image_type")


def _rejected_damaged() -> ImageRejected:
    return ImageRejected(
        _("This image file is damaged or incomplete. Export it again and upload the new file."), "damaged"
    )


def _rejected_pixels() -> ImageRejected:
    return ImageRejected(
        _("This image is too large: at most {megapixels} megapixels and {side} pixels on its longest side.").format(
            megapixels=MAX_PIXELS // 1_000_000, side=MAX_SIDE
        ),
        "too_many_pixels",
    )


def _rejected_pixels_decoded_whole() -> ImageRejected:
    return ImageRejected(
        _(
            "This PNG or WebP image is too large: at most {megapixels} megapixels. "
            "Save it as a JPEG, which may have up to {jpeg_megapixels} megapixels, and upload that."
        ).format(megapixels=MAX_PIXELS_DECODED_WHOLE // 1_000_000, jpeg_megapixels=MAX_PIXELS // 1_000_000),
        "too_many_pixels_decoded_whole",
    )


def max_pixels(image_format: str) -> int:
    """The most pixels an upload of this format may have: fewer for formats that are decoded whole."""
    return MAX_PIXELS if image_format in REDUCED_WHILE_DECODING else MAX_PIXELS_DECODED_WHOLE


def sniff(head: bytes) -> str | None:
    """Name the format that a file's first bytes announce, if it is one we accept."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _open(data: bytes, allowed: Iterable[str]) -> Image.Image:
    """Open lazily, reading the header only; Pillow's bomb warning counts as a refusal."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data), formats=list(allowed))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _rejected_pixels() from error
        except UnidentifiedImageError as error:
            raise _rejected_damaged() from error
        except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
            raise _rejected_damaged() from error


def inspect(data: bytes) -> Inspection:
    """Check size, content type and pixel count from the header alone, without decoding pixels."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise too_large()
    if not data:
        raise ImageRejected(_("The file is empty."), "empty")
    announced = sniff(data[:16])
    if announced is None:
        raise _rejected_type()
    image = _open(data, [announced])
    # Phones write multi-picture JPEGs (a photo and a depth map or preview after it), which Pillow calls
    # MPO: a JPEG like any other, of which only the first picture is read (decode() seeks to it).
    found = "JPEG" if image.format == "MPO" else image.format
    if found != announced:
        raise _rejected_type()
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise _rejected_pixels()
    if width * height > max_pixels(found):
        raise _rejected_pixels_decoded_whole()
    return Inspection(format=found, width=width, height=height)


def too_large() -> ImageRejected:
    """The refusal for a file over the byte ceiling, for callers that check the size before reading."""
    return ImageRejected(
        _("This file is too large: at most {megabytes} MB.").format(megabytes=MAX_UPLOAD_BYTES // (1024 * 1024)),
        "too_large",
    )


def rejection(code: str) -> ImageRejected | None:
    """The refusal of this code again, in the active language: a photo that failed in the task worker
    keeps only the code, and the editor reads the message later, in their own language."""
    refusals = {
        "image_type": _rejected_type,
        "damaged": _rejected_damaged,
        "too_many_pixels": _rejected_pixels,
        "too_many_pixels_decoded_whole": _rejected_pixels_decoded_whole,
        "too_large": too_large,
        "empty": lambda: ImageRejected(_("The file is empty."), "empty"),
    }
    factory = refusals.get(code)
    return factory() if factory else None


def _flatten(image: Image.Image) -> Image.Image:
    """Return an RGB image, with any transparency laid on white and 16-bit greys scaled to 8 bits."""
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    if image.mode == "I":
        image = image.point(lambda value: value * (1 / 256)).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode in {"RGBA", "LA", "PA", "La", "RGBa"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def decode(data: bytes) -> Image.Image:
    """Decode an accepted upload into an upright RGB image no wider than the largest rendition needs."""
    inspection = inspect(data)
    largest = max(RENDITION_WIDTHS)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, [inspection.format])
        try:
            if inspection.format == "JPEG":
                # Let the JPEG decoder scale by 1/2, 1/4 or 1/8 while decoding, as long as both sides
                # stay at least as wide as the largest rendition whichever way the photo is turned.
                image.draft("RGB", (largest, largest))
            # An animated PNG or WebP, or a multi-picture JPEG, is reduced to its first frame.
            image.seek(0)
            image.load()
            # Turn the pixels the way the camera's orientation tag says, before the tag is dropped.
            upright = ImageOps.exif_transpose(image)
            flat = _flatten(upright)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _rejected_pixels() from error
        except (OSError, SyntaxError, ValueError, EOFError, KeyError, IndexError, TypeError, struct.error) as error:
            raise _rejected_damaged() from error
    if flat.width > largest:
        height = max(1, round(flat.height * largest / flat.width))
        flat = flat.resize((largest, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return flat


def parse_areas(value) -> list[dict[str, float]]:
    """Validate areas to obscure: a list of {x, y, w, h}, each a fraction of the image's width or height."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise ValidationError(_("Enter the areas as a JSON list."), code="invalid") from error
    example = '[{"x": 0.1, "y": 0.2, "w": 0.25, "h": 0.3}]'
    if not isinstance(value, list):
        raise ValidationError(_("Enter a list of areas, such as {example}.").format(example=example), code="invalid")
    if len(value) > MAX_OBSCURED_AREAS:
        raise ValidationError(
            _("At most {count} areas can be obscured in one image.").format(count=MAX_OBSCURED_AREAS), code="invalid"
        )
    areas = []
    for number, area in enumerate(value, start=1):
        if not isinstance(area, Mapping) or set(area) != {"x", "y", "w", "h"}:
            raise ValidationError(
                _("Area {number} needs exactly x, y, w and h, such as {example}.").format(
                    number=number, example=example
                ),
                code="invalid",
            )
        numbers = {key: area[key] for key in ("x", "y", "w", "h")}
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in numbers.values()
        ):
            raise ValidationError(_("Area {number}: x, y, w and h must be numbers.").format(number=number))
        x, y, w, h = (float(numbers[key]) for key in ("x", "y", "w", "h"))
        # A little tolerance, so that an area drawn to the very edge is not refused for rounding.
        if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 and 0 < h <= 1 and x + w <= 1.0001 and y + h <= 1.0001):
            raise ValidationError(
                _(
                    "Area {number} must lie inside the image: x and y from 0 to 1, w and h above 0, "
                    "x + w and y + h at most 1."
                ).format(number=number),
                code="invalid",
            )
        areas.append({"x": x, "y": y, "w": w, "h": h})
    return areas


def _box(area: Mapping[str, float], width: int, height: int) -> tuple[int, int, int, int]:
    """Turn a relative area into pixels, rounding outwards so it is never smaller than drawn."""
    left = max(0, math.floor(area["x"] * width))
    top = max(0, math.floor(area["y"] * height))
    right = min(width, max(left + 1, math.ceil((area["x"] + area["w"]) * width)))
    bottom = min(height, max(top + 1, math.ceil((area["y"] + area["h"]) * height)))
    return left, top, right, bottom


def obscure(image: Image.Image, areas: Sequence[Mapping[str, float]]) -> Image.Image:
    """Pixelate each area irreversibly: average it down to a few blocks, then blow them back up."""
    result = image.copy()
    for area in areas:
        box = _box(area, result.width, result.height)
        region = result.crop(box)
        scale = OBSCURE_BLOCKS / max(region.size)
        blocks = region.resize(
            (max(1, round(region.width * scale)), max(1, round(region.height * scale))), Image.Resampling.BOX
        )
        result.paste(blocks.resize(region.size, Image.Resampling.NEAREST), box[:2])
    return result


def rebuild(image: Image.Image) -> Image.Image:
    """Copy the pixels, and only the pixels, into a new image with no metadata of any kind."""
    return Image.frombytes("RGB", image.size, image.convert("RGB").tobytes())


def rendition_widths(width: int) -> list[int]:
    """Each rendition width for an image this wide: the standard widths, capped at its own width."""
    return sorted({min(candidate, width) for candidate in RENDITION_WIDTHS})


def _encode(image: Image.Image, extension: str) -> bytes:
    pillow_format, _content_type, options = RENDITION_FORMATS[extension]
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, **options)
    data = buffer.getvalue()
    # Fail closed: refuse to hand back any rendition that carries metadata after all.
    check = Image.open(io.BytesIO(data))
    if _METADATA_KEYS & set(check.info) or check.getexif():
        raise RuntimeError("A rendition carried metadata; nothing was stored.")
    return data


def render(
    data: bytes,
    *,
    areas: Sequence[Mapping[str, float]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> Prepared:
    """Check, decode, turn upright, obscure and rebuild an upload, then encode every rendition.

    ``progress(done, total)`` is called after the decoding and after each rendition, as the steps end.
    """
    inspection = inspect(data)
    clean = rebuild(obscure(decode(data), parse_areas(list(areas))))
    widths = rendition_widths(clean.width)
    total = 1 + len(widths) * len(RENDITION_FORMATS)
    if progress:
        progress(1, total)
    renditions = []
    for width in widths:
        height = max(1, round(clean.height * width / clean.width))
        sized = clean if width == clean.width else clean.resize((width, height), Image.Resampling.LANCZOS)
        for extension in RENDITION_FORMATS:
            renditions.append(
                Rendition(width=width, height=height, extension=extension, data=_encode(sized, extension))
            )
            if progress:
                progress(1 + len(renditions), total)
    return Prepared(inspection=inspection, renditions=renditions)


def random_name(folder: str, extension: str) -> str:
    """A storage name that says nothing about the photo or who uploaded it."""
    return f"{folder}/{uuid.uuid4().hex}.{extension}"


# A width and an extension no rendition has, replaced in a reversed address by each rendition's own.
WIDTH_PLACEHOLDER = 987654321
EXTENSION_PLACEHOLDER = "x987654321x"


class RenditionUrls:
    """The stored renditions of a cleaned image, and the URLs readers fetch them by.

    A class using it gives ``rendition_key`` (the key in the URLs; a new one at each rendering),
    ``rendition_items`` (each stored rendition: width, height, extension, name) and ``rendition_url_name``
    (the URL that serves a rendition by key, width and extension, and applies the image's own rule).
    """

    rendition_url_name: str
    rendition_key: str

    @property
    def rendition_items(self) -> list[dict]:
        raise NotImplementedError

    def rendition(self, *, width: int, extension: str) -> dict | None:
        """The stored rendition of this width and format, if there is one."""
        for item in self.rendition_items:
            if item["width"] == width and item["extension"] == extension:
                return item
        return None

    def sorted_renditions(self, extension: str) -> list[dict]:
        """The renditions in one format (``"webp"``, ``"jpg"``), narrowest first."""
        return sorted(
            (item for item in self.rendition_items if item["extension"] == extension), key=lambda item: item["width"]
        )

    def widest_rendition(self, extension: str, *, up_to: int) -> dict | None:
        """The widest rendition in one format no wider than ``up_to`` pixels, if there is one."""
        fitting = [item for item in self.sorted_renditions(extension) if item["width"] <= up_to]
        return fitting[-1] if fitting else None

    def _addresser(self) -> Callable[[dict], str]:
        """Each rendition's path, in the active language, from one remembered address of the image.

        ``reverse_page`` with a width and an extension no rendition has, each then replaced by the
        rendition's own: a picture's several URLs cost one lookup.
        """
        address = reverse_page(
            self.rendition_url_name, key=self.rendition_key, width=WIDTH_PLACEHOLDER, extension=EXTENSION_PLACEHOLDER
        )
        # From the end: the width and the extension come after the key, which is any hex.
        head, _extension, after = address.rpartition(EXTENSION_PLACEHOLDER)
        before, _width, between = head.rpartition(str(WIDTH_PLACEHOLDER))
        return lambda item: f"{before}{item['width']}{between}{item['extension']}{after}"

    def rendition_url(self, item: dict) -> str:
        """The path of one rendition, in the active language."""
        return self._addresser()(item)

    def picture(self) -> dict[str, str]:
        """What a ``<picture>`` of the image writes, in the active language's paths: the srcset of each format,
        the JPEG for browsers without srcset (the largest no wider than 960 pixels, else the smallest) and
        the smallest JPEG."""
        if not self.rendition_items:
            return dict.fromkeys(("webp_srcset", "jpeg_srcset", "fallback_url", "smallest_url"), "")
        address = self._addresser()

        def srcset(extension: str) -> str:
            return ", ".join(f"{address(item)} {item['width']}w" for item in self.sorted_renditions(extension))

        jpegs = self.sorted_renditions("jpg")
        fallback = self.widest_rendition("jpg", up_to=FALLBACK_MAX_WIDTH) or next(iter(jpegs), None)
        return {
            "webp_srcset": srcset("webp"),
            "jpeg_srcset": srcset("jpg"),
            "fallback_url": address(fallback) if fallback else "",
            "smallest_url": address(jpegs[0]) if jpegs else "",
        }

    @property
    def webp_srcset(self) -> str:
        return self.picture()["webp_srcset"]

    @property
    def jpeg_srcset(self) -> str:
        return self.picture()["jpeg_srcset"]

    @property
    def fallback_url(self) -> str:
        return self.picture()["fallback_url"]

    @property
    def smallest_url(self) -> str:
        return self.picture()["smallest_url"]

    def share_rendition(self) -> dict | None:
        """The JPEG a share card shows: the widest up to the card's size, or None without a rendered JPEG."""
        return self.widest_rendition("jpg", up_to=SHARE_MAX_WIDTH) if self.rendition_key else None

    @property
    def share_url(self) -> str:
        item = self.share_rendition()
        return self.rendition_url(item) if item else ""


class Renditions(RenditionUrls):
    """Renditions stored as a list on the model that shows them (a campaign's photo, a press logo)."""

    def __init__(self, key: str, items: list[dict], url_name: str) -> None:
        self.rendition_key = key
        self.items = items or []
        self.rendition_url_name = url_name

    def __bool__(self) -> bool:
        return bool(self.rendition_key and self.items)

    @property
    def rendition_items(self) -> list[dict]:
        return self.items

    @property
    def width(self) -> int:
        return max((item["width"] for item in self.items), default=0)

    @property
    def height(self) -> int:
        return max((item["height"] for item in self.items), default=0)

    def names(self) -> list[str]:
        return [item["name"] for item in self.items]
