"""Kit stock, common ground: the refusal (StockError), money and serial-number rules, and the
cached kit catalogue (kits that load, by id; a job's pinned kit; parts by number).

The stock modules (receiving, components, installing, traceability, costs, reports) are plain
functions with no ``request``; the caller commits. Refusals raise :class:`StockError`, a
``JobError``, so a refused install inside ``sign_step`` is shown like any other refusal.
"""

import re
from collections import OrderedDict
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask_babel import lazy_gettext as _l

from workshop.jobs.models import Job
from workshop.jobs.services import JobError
from workshop.kits.loader import KITS_DIR, KitError, usable_kits
from workshop.kits.spec import BomLine, KitSpec
from workshop.money import CENT

SERIAL_RE = re.compile(r"^[A-Z0-9][A-Z0-9._/:-]{0,63}$")
MAX_SERIALS_PER_DELIVERY = 5000
CSV_COLUMNS = ("serial", "part_number", "unit_cost")


class StockError(JobError):
    """A stock operation the rules refuse; the message is shown to the user. Nothing changed."""


def parse_money(raw, *, what=None) -> Decimal:
    """A THB amount from user input ('1,850.50'); StockError when it is not one (never float)."""
    if isinstance(raw, float):
        raise TypeError("money is never a float")
    text = str(raw if raw is not None else "").strip().replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise StockError(_l("%(what)s: enter an amount in THB, e.g. 1850.50", what=what or "THB"))
    # Size first: quantize() raises on an amount beyond Decimal's precision ('1e26').
    if amount >= Decimal("10000000000"):
        raise StockError(_l("%(what)s: the amount is too large", what=what or "THB"))
    if amount != amount.quantize(CENT):
        raise StockError(_l("%(what)s: at most 2 decimal places", what=what or "THB"))
    return amount.quantize(CENT)


def normalise_serial(raw: str) -> str:
    """A serial as stored and compared: trimmed and upper-case (scanners and typing differ)."""
    return (raw or "").strip().upper()


def serial_problem(serial: str):
    """Why ``serial`` (normalised) cannot be a serial number, or None."""
    if not serial:
        return _l("the serial number is empty")
    if not SERIAL_RE.match(serial):
        return _l(
            "%(serial)s is not a serial number (letters, digits and . _ / : - only, "
            "at most 64 characters)",
            serial=serial[:70],
        )
    return None


_catalogue_cache: dict[tuple, tuple[dict[str, KitSpec], list[KitError]]] = {}
job_kit_cache: OrderedDict[tuple[str, str, str], KitSpec] = OrderedDict()


def _kits_signature(root: Path) -> tuple:
    return tuple(sorted((str(p), p.stat().st_mtime_ns) for p in root.glob("*/*") if p.is_file()))


def kit_catalogue(root: Path | None = None) -> dict[str, KitSpec]:
    """Every kit of ``kit_specs/`` by id, re-read only when a file there changed."""
    root = Path(root) if root is not None else KITS_DIR
    key = (str(root), _kits_signature(root))
    if key not in _catalogue_cache:
        _catalogue_cache.clear()
        _catalogue_cache[key] = usable_kits(root)
    return _catalogue_cache[key][0]


def kit_catalogue_problems(root: Path | None = None) -> list[KitError]:
    """The kit folders the catalogue left out, each with what is wrong (shown on the kits page)."""
    kit_catalogue(root)
    return next(iter(_catalogue_cache.values()))[1]


def job_kit(job: Job) -> KitSpec | None:
    """The kit pinned by ``job`` (from its snapshot, never the file), or None when it has none.

    Cached per kit version (id, version, fingerprint): the snapshot column is read on a miss only.
    """
    if job.kit_id is None:
        return None
    key = kit_key(job.id, job.kit_id, job.kit_version, job.kit_fingerprint)
    kit = job_kit_cache.get(key)
    if kit is not None:
        job_kit_cache.move_to_end(key)
        return kit
    if not job.kit_snapshot:
        return None
    return cache_kit(key, job.kit_snapshot)


def kit_key(job_id, kit_id, kit_version, fingerprint) -> tuple[str, str, str]:
    return (str(kit_id), str(kit_version), fingerprint or f"job-{job_id}")


def cache_kit(key: tuple[str, str, str], snapshot: dict) -> KitSpec:
    kit = KitSpec.model_validate(snapshot)
    job_kit_cache[key] = kit
    if len(job_kit_cache) > 64:  # one entry per kit version, not per job: bounded
        job_kit_cache.popitem(last=False)
    return kit


def part_index(kits=None) -> dict[str, BomLine]:
    """Every part of the catalogue by part number (common parts appear in several kits)."""
    parts: dict[str, BomLine] = {}
    for kit in (kits if kits is not None else kit_catalogue()).values():
        for line in kit.bom:
            parts.setdefault(line.part_number, line)
    return parts


def kit_part(kit_id: str, part_number: str) -> BomLine:
    kit = kit_catalogue().get(kit_id)
    if kit is None:
        raise StockError(_l("unknown kit %(kit)s", kit=kit_id))
    try:
        return kit.part(part_number)
    except KeyError:
        raise StockError(
            _l("kit %(kit)s has no part %(part)s", kit=kit_id, part=part_number)
        ) from None
