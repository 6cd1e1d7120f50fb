"""Sarabun for the screens: WOFF2 subsets (Thai + Latin) built once from the PyPI font package.

Tablets on a workshop LAN have no CDN, and the three full TTF files weigh 270 KB; the subsets
keep every Thai and Latin glyph the interface uses (with their mark positioning) at about a
third of that. Each subset is built on first request into the instance folder's cache and then
served as a file; PDFs keep using the full TTF (WeasyPrint subsets what it prints).
"""

import hashlib
import os
import tempfile
import threading
from pathlib import Path

# Basic Latin, Latin-1, Thai (incl. ฿), general punctuation (dashes, quotes, bullets, …),
# arrows (← → used on buttons), the minus sign and ± ≤ ≥ × ÷, the check and cross marks.
UNICODE_RANGES = (
    (0x0020, 0x007E),
    (0x00A0, 0x00FF),
    (0x0E00, 0x0E7F),
    (0x2000, 0x206F),
    (0x20AC, 0x20AC),
    (0x2190, 0x21FF),
    (0x2212, 0x2212),
    (0x2264, 0x2265),
    (0x2713, 0x2717),
)
WEB_FONTS = {
    "Sarabun-Regular.woff2": "Sarabun-Regular.ttf",
    "Sarabun-SemiBold.woff2": "Sarabun-SemiBold.ttf",
    "Sarabun-Bold.woff2": "Sarabun-Bold.ttf",
}
# app.css asks for /fonts/<name>?v=1, served as immutable for a year: bump v there when the
# ranges above change, so tablets fetch the new subset.
_lock = threading.Lock()


def _source(name: str) -> Path:
    import fontpkg_sarabun

    return Path(fontpkg_sarabun.ROOT) / "files" / WEB_FONTS[name]


def _subset_key(source: Path) -> str:
    digest = hashlib.sha256(source.read_bytes())
    digest.update(repr(UNICODE_RANGES).encode())
    return digest.hexdigest()[:16]


def web_font(name: str, cache_dir: str | Path) -> Path:
    """The WOFF2 subset ``name`` (a key of WEB_FONTS), built into ``cache_dir`` if missing."""
    source = _source(name)
    cache_dir = Path(cache_dir)
    target = cache_dir / f"{Path(name).stem}-{_subset_key(source)}.woff2"
    if target.exists():
        return target
    with _lock:
        if target.exists():
            return target
        from fontTools import subset

        options = subset.Options()
        options.flavor = "woff2"
        options.layout_features = ["*"]  # Thai needs its mark positioning and ligatures
        options.name_IDs = ["*"]
        options.notdef_outline = True
        # load_font keeps the TTF open for lazy table reads: close it when done
        with subset.load_font(str(source), options) as font:
            subsetter = subset.Subsetter(options)
            subsetter.populate(
                unicodes=[cp for start, end in UNICODE_RANGES for cp in range(start, end + 1)]
            )
            subsetter.subset(font)
            cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".part")
            os.close(fd)
            try:
                subset.save_font(font, tmp, options)
                os.replace(tmp, target)  # atomic: other workers never see half a file
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return target
