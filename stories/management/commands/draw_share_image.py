"""Draw the site's default share image once, from type alone: static/img/share-default.png.

Shown by link previews (og:image, twitter:image) of a page without a cover photo. It names the site in
both languages and nobody else; no photo and nothing from another site goes into it. Run again only to
change the design (it needs Noto CJK, the fonts-noto-cjk package), and commit the PNG it writes.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from PIL import Image, ImageDraw, ImageFont

from stories.covers import DEFAULT_SHARE_IMAGE, DEFAULT_SHARE_IMAGE_SIZE

FONTS = Path("/usr/share/fonts/opentype/noto")
# The stylesheet's accent colours (static/css/site.css: --accent, --accent-dark) and its paper.
ACCENT = (138, 42, 27)
ACCENT_DARK = (94, 28, 18)
PAPER = (251, 250, 247)
# Face index 1 of the CJK collections is the Korean one.
KOREAN = 1


class Command(BaseCommand):
    help = "Draw static/img/share-default.png, the share image of pages without a cover photo."

    def handle(self, *args, **options):
        width, height = DEFAULT_SHARE_IMAGE_SIZE
        image = Image.new("RGB", (width, height), ACCENT_DARK)
        draw = ImageDraw.Draw(image)
        # A diagonal wash from the accent to its dark shade, as the stylesheet's text cards have.
        for x in range(width):
            share = x / width
            colour = tuple(round(a + (b - a) * share) for a, b in zip(ACCENT, ACCENT_DARK, strict=True))
            draw.line([(x, 0), (x, height)], fill=colour)
        serif_bold = ImageFont.truetype(str(FONTS / "NotoSerifCJK-Bold.ttc"), 84, index=KOREAN)
        serif = ImageFont.truetype(str(FONTS / "NotoSerifCJK-Regular.ttc"), 58, index=KOREAN)
        sans = ImageFont.truetype(str(FONTS / "NotoSansCJK-Regular.ttc"), 30, index=KOREAN)
        mark = ImageFont.truetype(str(FONTS / "NotoSerifCJK-Bold.ttc"), 260, index=KOREAN)
        draw.text((72, 10), "“", font=mark, fill=(181, 122, 112))
        draw.text((80, 250), "Testimony archive", font=serif_bold, fill=PAPER)
        draw.text((80, 358), "증언 기록관", font=serif, fill=PAPER)
        draw.line([(80, 470), (260, 470)], fill=PAPER, width=4)
        draw.text((80, 500), "Stories told with consent  ·  동의를 받아 전하는 이야기", font=sans, fill=(240, 226, 220))
        target = Path(settings.BASE_DIR) / "static" / DEFAULT_SHARE_IMAGE
        image.save(target, "PNG", optimize=True)
        self.stdout.write(f"Wrote {target} ({target.stat().st_size} bytes).")
