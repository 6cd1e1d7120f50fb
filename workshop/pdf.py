"""The PDF renderer every document shares (certificates, EOL reports, handover sheets, training
certificates): WeasyPrint on a Jinja template, fetching only the bundled Sarabun fonts and the
images it is given, never the network or the disk; and QR codes. Feature-free.
"""

import base64
import functools
import gc
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import fontpkg_sarabun
import qrcode
import uharfbuzz
from flask import render_template
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

FONT_DIR = fontpkg_sarabun.ROOT / "files"
FONT_URLS = {
    "workshop:font/Sarabun-Regular.ttf": FONT_DIR / "Sarabun-Regular.ttf",
    "workshop:font/Sarabun-Bold.ttf": FONT_DIR / "Sarabun-Bold.ttf",
}
QR_URL = "workshop:qr.png"


class RestrictedFetcher(URLFetcher):
    """Serves the bundled font files and in-memory images by name; refuses everything else."""

    def __init__(self, resources: dict[str, tuple[bytes, str]] | None = None):
        super().__init__()
        self.resources = dict(resources or {})
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        if url in FONT_URLS:
            return URLFetcherResponse(
                url, FONT_URLS[url].read_bytes(), headers={"Content-Type": "font/ttf"}
            )
        if url in self.resources:
            body, mime = self.resources[url]
            return URLFetcherResponse(url, body, headers={"Content-Type": mime})
        self.refused.append(url)
        raise ValueError(f"the certificate renderer does not fetch {url}")


@functools.cache
def _sarabun_regular() -> uharfbuzz.Font:
    return uharfbuzz.Font(uharfbuzz.Face((FONT_DIR / "Sarabun-Regular.ttf").read_bytes()))


def text_width_pt(text: str, size_pt: float) -> float:
    """How wide ``text`` is in Sarabun Regular at ``size_pt``, in points: shaped by HarfBuzz with
    the font's default features, as Pango shapes it when WeasyPrint lays the text out."""
    font = _sarabun_regular()
    buffer = uharfbuzz.Buffer()
    buffer.add_str(text)
    buffer.guess_segment_properties()
    uharfbuzz.shape(font, buffer)
    advance = sum(position.x_advance for position in buffer.glyph_positions)
    return advance * size_pt / font.face.upem


def qr_png(url: str) -> bytes:
    """A QR code of ``url`` as PNG (error correction M, 4-module quiet zone)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    buf = io.BytesIO()
    qr.make_image().save(buf)
    return buf.getvalue()


def qr_data_uri(url: str) -> str:
    """The QR code of ``url`` as a data: URI (for screens)."""
    return "data:image/png;base64," + base64.b64encode(qr_png(url)).decode()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block; the garbage it leaves is collected after.

    A render allocates a few hundred thousand boxes, styles and text runs that live until it
    ends: they set off about a hundred collections, now and then a full one that walks every
    object of the process (a third of a certificate's render on a worker with its caches warm).
    Reference counting still frees what is not in a cycle. Concurrent renders may switch the
    collector back on early, never leave it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_thread_fonts = threading.local()


def font_configuration(template: str) -> FontConfiguration:
    """This thread's font configuration for ``template``, kept from one render to the next.

    A fresh configuration per render loads Fontconfig's system configuration again, registers
    the template's @font-face files again and starts Pango with cold font and shaping caches:
    about a seventh of a certificate's render. Pango objects are not shared between threads, so
    each thread has its own; one per template, as templates declare the same files with other
    descriptors. A configuration whose folder of font files has gone (a /tmp cleaner) is
    replaced.
    """
    configs = getattr(_thread_fonts, "configs", None)
    if configs is None:
        configs = _thread_fonts.configs = {}
    config = configs.get(template)
    # WeasyPrint copies the @font-face files into the configuration's own folder (``_folder``).
    folder = getattr(config, "_folder", None)
    if config is None or (folder is not None and not folder.is_dir()):
        config = configs[template] = FontConfiguration()
    return config


def render_pdf(template: str, context: dict, resources: dict | None = None) -> bytes:
    """Render ``templates/<template>`` with plain values into a PDF."""
    html = render_template(template, **context)
    fetcher = RestrictedFetcher(resources)
    with collector_paused():
        return HTML(string=html, base_url="workshop:", url_fetcher=fetcher).write_pdf(
            font_config=font_configuration(template)
        )
