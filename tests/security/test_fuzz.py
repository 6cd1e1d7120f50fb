"""Property tests (Hypothesis, derandomised: the same examples every run) over what reads
outside input: the manual and kit loaders, the trace loader (BLF, ASC, candump as the app reads
them) and the step form. Whatever arrives, the answer is the reader's own error or a result —
never another exception — and a refused step form writes nothing."""

import functools
import io
import json
import re
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import can
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_PASSWORD
from tests.factories import make_intake
from workshop.accounts.services import grant_qualification
from workshop.audit.models import AuditEvent
from workshop.eol.traces import TraceError, load_trace
from workshop.extensions import db
from workshop.jobs.models import NonConformance, Photo, StepRecord
from workshop.kits.loader import KitError, load_kit
from workshop.kits.spec import KitSpec
from workshop.manuals.loader import ManualError, load_manual
from workshop.manuals.schema import Manual

REPO = Path(__file__).resolve().parents[2]
MANUAL = REPO / "checklists" / "manuals" / "honda-jazz-ge.toml"
KIT = REPO / "kit_specs" / "jazz-ev1"
TEST_MANUAL = REPO / "tests" / "jobs" / "data" / "test-car.toml"
# Fixtures are set up once per test and shared by its examples (each example overwrites files).
FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ASSIGNMENT = re.compile(r"^(\s*[A-Za-z0-9_.\"-]+\s*=\s*)(.*)$")

toml_values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: (
            "nan"
            if f != f
            else ("inf" if f == float("inf") else "-inf" if f == float("-inf") else repr(f))
        )
    ),
    st.text(max_size=40).map(lambda t: json.dumps(t, ensure_ascii=False)),
    st.sampled_from(["true", "false", "[]", "{}", '""', "[1, 2]", '["a", 3]', "{ a = 1 }"]),
    st.sampled_from(["1979-05-27", "07:32:00", "1e999", "0x7fffffff", "'''x'''", "["]),
)


@st.composite
def mutated_toml(draw, original: str) -> str:
    """The original file with a few lines changed: a value replaced, a line dropped,
    duplicated or cut, or stray text inserted."""
    lines = original.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["value", "value", "value", "drop", "dup", "cut", "insert"]))
        match = ASSIGNMENT.match(lines[i])
        if op == "value" and match:
            lines[i] = match.group(1) + draw(toml_values) + "\n"
        elif op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        else:
            lines.insert(i, draw(st.text(max_size=30)) + "\n")
        if not lines:
            break
    return "".join(lines)


@st.composite
def mutated_bytes(draw, original: bytes) -> bytes:
    """The original bytes truncated, with bytes flipped, inserted or deleted."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "flip", "truncate", "insert", "delete"]))
        if not data:
            data += draw(st.binary(min_size=1, max_size=64))
            continue
        i = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[i] ^= draw(st.integers(1, 255))
        elif op == "truncate":
            del data[i:]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=64))
        else:
            del data[i : i + draw(st.integers(1, 64))]
    return bytes(data)


# --- manuals and kits ------------------------------------------------------------------------


@FUZZ
@given(text=mutated_toml(MANUAL.read_text(encoding="utf-8")))
def test_the_manual_loader_answers_with_a_manual_or_a_manual_error(tmp_path, text):
    path = tmp_path / MANUAL.name
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        assert isinstance(load_manual(path), Manual)
    except ManualError as exc:
        assert str(exc).startswith(str(path)) and exc.problem


@FUZZ
@given(raw=st.one_of(st.binary(max_size=200), mutated_bytes(MANUAL.read_bytes()[:3000])))
def test_the_manual_loader_survives_arbitrary_bytes(tmp_path, raw):
    path = tmp_path / MANUAL.name
    path.write_bytes(raw)
    try:
        load_manual(path)
    except ManualError as exc:
        assert exc.problem


@FUZZ
@given(
    which=st.sampled_from(["kit.toml", "kit.toml", "vehicle.dbc"]),
    data=st.data(),
)
def test_the_kit_loader_answers_with_a_kit_or_a_kit_error(tmp_path, which, data):
    folder = tmp_path / "jazz-ev1"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(KIT, folder)
    original = (KIT / which).read_text(encoding="utf-8")
    (folder / which).write_text(
        data.draw(mutated_toml(original)), encoding="utf-8", errors="surrogatepass"
    )
    try:
        assert isinstance(load_kit(folder), KitSpec)
    except KitError as exc:
        assert exc.problem


# --- traces ------------------------------------------------------------------------------------


def _sample_frames():
    return [
        can.Message(
            timestamp=1.0 + n * 0.01,
            arbitration_id=0x100 + n,
            data=bytes([n, 255 - n, 7, 0, 1, 2, 3, 4][: 1 + n % 8]),
            is_extended_id=n % 3 == 0,
        )
        for n in range(40)
    ]


@functools.cache
def _written(suffix: str) -> bytes:
    """A small valid trace in ``suffix``'s format, the same bytes on every call and every run
    (the ASC writer stamps the current date: it is replaced by a fixed one)."""
    writer = {".blf": can.BLFWriter, ".asc": can.ASCWriter, ".log": can.CanutilsLogWriter}[suffix]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sample{suffix}"
        log = writer(str(path))
        for msg in _sample_frames():
            log.on_message_received(msg)
        log.stop()
        data = path.read_bytes()
    if suffix == ".asc":
        data = re.sub(rb"^date .*$", b"date Thu Jan 01 07:00:00.00 1970", data, count=1, flags=re.M)
    return data


def _assert_trace_or_trace_error(path):
    try:
        frames = load_trace(path)
    except TraceError as exc:
        assert str(exc)
    else:
        assert frames and all(isinstance(m, can.Message) for m in frames)


@FUZZ
@given(data=st.data())
def test_the_blf_reader_answers_with_frames_or_a_trace_error(tmp_path, data):
    original = _written(".blf")
    path = tmp_path / "fuzzed.blf"
    path.write_bytes(data.draw(st.one_of(mutated_bytes(original), st.binary(max_size=300))))
    _assert_trace_or_trace_error(path)


@FUZZ
@given(suffix=st.sampled_from([".asc", ".log"]), data=st.data())
def test_the_text_trace_readers_answer_with_frames_or_a_trace_error(tmp_path, suffix, data):
    original = _written(suffix)
    text = original.decode("utf-8", "replace")
    fuzzed = data.draw(
        st.one_of(
            mutated_bytes(original),
            mutated_toml(text).map(lambda t: t.encode("utf-8", "surrogatepass")),
            st.binary(max_size=200),
        )
    )
    path = tmp_path / f"fuzzed{suffix}"
    path.write_bytes(fuzzed)
    _assert_trace_or_trace_error(path)


# --- the step form -----------------------------------------------------------------------------


def form_text(*valid: str):
    """A form field: first the values a technician would type (so the simplest examples sign),
    then odd numbers and any text."""
    return st.one_of(
        st.sampled_from(valid or ("",)),
        st.sampled_from(["", " ", "-0", "1e400", "nan", "inf", "1,000", "๑๒", "0x10", "1_0"]),
        st.text(max_size=30),
    )


def _counts():
    db.session.rollback()
    return {
        model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (StepRecord, NonConformance, AuditEvent, Photo)
    }


def test_the_step_form_refuses_cleanly_or_saves_whole(app, client, create_user, create_centre):
    from workshop.accounts.services import grant_qualification
    from workshop.jobs import services as jobs
    from workshop.manuals.loader import load_manual as load

    centre = create_centre(code="FZZ01")
    technician = create_user("technician", centre=centre)
    for code in ("conversion_honda_jazz", "hv_qualified", "hv_live"):
        grant_qualification(technician, code)
    supervisor = create_user("supervisor", centre=centre)
    db.session.commit()
    intake = make_intake(vin="JHMGE8H5000000777")
    job = jobs.open_job(centre, intake, load(TEST_MANUAL), supervisor)
    png = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (32, 24), "red").save(png, "PNG")
    jobs.add_photo(
        job, "intake-01", "vin_photo", png.getvalue(), technician, app.config["UPLOAD_FOLDER"]
    )
    db.session.commit()
    job_id = job.id
    client.post("/login", data={"username": technician.username, "password": TEST_PASSWORD})

    @FUZZ
    @given(
        step=st.sampled_from(["intake-01", "intake-02", "hv-01"]),
        values=st.fixed_dictionaries(
            {
                "odometer_km": form_text("152000", "0"),
                "walkaround": form_text("y"),
                "fuel_level": form_text("empty", "some"),
                "remarks": st.one_of(st.text(max_size=40), st.text(min_size=3990, max_size=4010)),
                "box_bolts": form_text("45", "44.5", "60"),
                "bms_serial": st.lists(form_text("BMS-0001"), max_size=3),
                "note": st.text(max_size=50),
                "record_failure": st.sampled_from(["", "y"]),
                "reason": st.sampled_from(["correction", ""]),
                "opened_at": st.one_of(st.just("2026-01-01T00:00:00"), st.text(max_size=30)),
            }
        ),
        base_seq=st.one_of(st.none(), st.integers(-2, 3).map(str), st.text(max_size=5)),
    )
    def post(step, values, base_seq):
        before = _counts()
        records = before["StepRecord"]
        form = dict(values)
        done = db.session.scalar(
            sa.select(sa.func.count()).select_from(StepRecord).where(StepRecord.step_id == step)
        )
        form["base_seq"] = str(done) if base_seq is None else base_seq
        r = client.post(f"/jobs/{job_id}/steps/{step}/sign", data=form)
        assert r.status_code in (302, 409, 422), r.status_code
        outcomes.add((step, r.status_code))
        after = _counts()
        if r.status_code == 302:
            assert after["StepRecord"] == records + 1
        else:
            assert after == before, "a refused step form wrote something"

    outcomes = set()
    post()
    # The examples reached both answers: signed steps and refused forms.
    assert {code for _, code in outcomes} >= {302, 422}, outcomes


# --- what the fuzzing found --------------------------------------------------------------------


def test_amounts_beyond_decimal_precision_are_refused_not_a_crash(
    app, client, auth, create_user, open_real_job
):
    """``unit_cost = 1e+26`` in a kit file raised decimal.InvalidOperation out of the kit loader
    (quantize() beyond Decimal's 28 digits); the cost-line form had the same flaw."""
    from workshop.kits import catalogue
    from workshop.kits.fields import _parse_money
    from workshop.kits.models import CostLine

    for huge in ("1e26", "1e+30"):
        with pytest.raises(ValueError, match="at most 9,999,999,999.99 THB"):
            _parse_money(Decimal(huge))
        with pytest.raises(catalogue.StockError):
            catalogue.parse_money(huge)
    supervisor = create_user("supervisor")
    grant_qualification(supervisor, "conversion_honda_jazz")
    db.session.commit()
    job = open_real_job(supervisor.centre, supervisor, "MRHGE8840BP900099")
    auth.login(supervisor.username)
    for quantity, unit_cost in (("1e30", "10.00"), ("1", "1e26")):
        r = client.post(
            f"/kits/jobs/{job.id}/costs/lines",
            data={
                "line-kind": "other",
                "line-description": "big",
                "line-quantity": quantity,
                "line-unit_cost": unit_cost,
            },
        )
        assert r.status_code == 422  # refused with a message (was a 500)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CostLine)) == 0
