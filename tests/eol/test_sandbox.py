"""Uploaded traces are parsed in a limited child process: crafted files cost the server nothing.

The crafted files are built here from a real trace's header: a BLF whose container holds an
object of size 0 (python-can's reader spins on it forever) and a BLF whose container inflates
to gigabytes of zeros (a zlib bomb).
"""

import io
import time
import zlib

import pytest
from can.io.blf import FILE_HEADER_STRUCT, LOG_CONTAINER_STRUCT, OBJ_HEADER_BASE_STRUCT

from tests.eol.test_traces import record_run
from workshop.eol import sandbox
from workshop.eol.definitions import load_kit
from workshop.eol.runner import evaluate_trace
from workshop.eol.sandbox import Limits, check_trace_isolated
from workshop.eol.traces import TraceError, load_trace
from workshop.queue import run_worker

LOG_CONTAINER, NO_COMPRESSION, ZLIB_DEFLATE = 10, 0, 2


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    path = tmp_path_factory.mktemp("sandbox") / "run.blf"
    record_run(path, sequences=("ecu",))
    return path


def _blf_with(healthy, container: bytes, method: int, inflated: int):
    """The healthy trace's file header followed by one container object."""
    data = healthy.read_bytes()
    fields = list(FILE_HEADER_STRUCT.unpack(data[: FILE_HEADER_STRUCT.size]))
    header_size = fields[1]
    body = LOG_CONTAINER_STRUCT.pack(method, inflated) + container
    size = OBJ_HEADER_BASE_STRUCT.size + len(body)
    obj = OBJ_HEADER_BASE_STRUCT.pack(b"LOBJ", 16, 1, size, LOG_CONTAINER) + body
    obj += b"\0" * (size % 4)
    fields[10] = header_size + len(obj)
    return FILE_HEADER_STRUCT.pack(*fields) + data[FILE_HEADER_STRUCT.size : header_size] + obj


@pytest.fixture
def zero_size_object(healthy, tmp_path):
    inner = OBJ_HEADER_BASE_STRUCT.pack(b"LOBJ", 16, 9, 0, 1) + bytes(16)
    path = tmp_path / "crafted.blf"
    path.write_bytes(_blf_with(healthy, inner, NO_COMPRESSION, len(inner)))
    assert path.stat().st_size < 400
    return path


@pytest.fixture
def zlib_bomb(healthy, tmp_path):
    inflated = 512 << 20
    packer = zlib.compressobj(1)
    chunk = bytes(1 << 20)
    compressed = b"".join(packer.compress(chunk) for _ in range(512)) + packer.flush()
    path = tmp_path / "bomb.blf"
    path.write_bytes(_blf_with(healthy, compressed, ZLIB_DEFLATE, inflated))
    return path


def test_a_healthy_trace_gives_the_same_verdict_as_in_process(healthy):
    kit = load_kit("jazz-ev1")
    inside = evaluate_trace(kit, healthy).to_dict("en")
    isolated = check_trace_isolated("jazz-ev1", healthy).to_dict("en")
    for run in (inside, isolated):
        run.pop("started_at"), run.pop("finished_at")
        for check in run["checks"]:
            check.pop("started_at"), check.pop("duration_s")
    assert isolated == inside
    assert isolated["outcome"] == "pass" and isolated["trace"]["frames"] > 100


def test_zero_size_object_is_refused_naming_the_offset(zero_size_object):
    with pytest.raises(TraceError) as refused:
        check_trace_isolated("jazz-ev1", zero_size_object)
    assert refused.value.code == "trace_bad_object"
    assert str(refused.value.params["offset"]).isdigit() and refused.value.params["size"] == 0
    assert "ไฟล์" in refused.value.message_in("th")


def test_zero_size_object_is_refused_before_the_reader_spins(zero_size_object):
    """python-can's reader would parse the object forever; the object sizes are checked first,
    so even in-process the refusal is immediate (the sandbox's watchdog stays as a backstop)."""
    started = time.process_time()
    with pytest.raises(TraceError) as refused:
        load_trace(zero_size_object)
    assert refused.value.code == "trace_bad_object"
    assert time.process_time() - started < 5


@pytest.fixture
def kept_ready():
    sandbox.keep_ready()
    yield sandbox._ready
    sandbox.stop_ready()


def test_a_worker_keeps_the_next_sandbox_started_one_process_per_check(
    kept_ready, zero_size_object, healthy
):
    """`workshop worker` keeps a sandbox started ahead of the next check (the interpreter's
    start is seconds on a busy machine): each check still runs in a process of its own."""
    first = kept_ready["process"]
    with pytest.raises(TraceError) as refused:
        check_trace_isolated("jazz-ev1", zero_size_object)
    assert refused.value.code == "trace_bad_object"
    assert first.returncode == 0  # answered and gone
    second = kept_ready["process"]
    assert second.pid != first.pid and second.poll() is None
    assert check_trace_isolated("jazz-ev1", healthy).outcome.value == "pass"
    assert kept_ready["process"].pid not in (first.pid, second.pid)
    # a check with other limits does not take the waiting one
    with pytest.raises(TraceError):
        check_trace_isolated("jazz-ev1", healthy, limits=Limits(wall_seconds=0.001))
    assert kept_ready["process"].poll() is None


def test_zlib_bomb_is_stopped_by_the_memory_limit(zlib_bomb):
    with pytest.raises(TraceError) as refused:
        check_trace_isolated("jazz-ev1", zlib_bomb, limits=Limits(memory_mb=300))
    assert refused.value.code == "trace_over_limits"
    assert refused.value.params["megabytes"] == 300


def test_wall_clock_budget_spent_is_over_limits(healthy):
    with pytest.raises(TraceError) as refused:
        check_trace_isolated("jazz-ev1", healthy, limits=Limits(wall_seconds=0.001))
    assert refused.value.code == "trace_over_limits"


@pytest.mark.parametrize(
    "stamps, code",
    [
        (["1700000000.0", "nan"], "trace_bad_timestamp"),
        (["1700000000.0", "inf"], "trace_bad_timestamp"),
        (["1700003600.0", "1700000000.0"], "trace_time_backwards"),
    ],
)
def test_unusable_timestamps_are_refused(tmp_path, stamps, code):
    path = tmp_path / "bad.log"
    path.write_text("".join(f"({s}) can0 123#0011223344556677\n" for s in stamps))
    with pytest.raises(TraceError) as refused:
        load_trace(path)
    assert refused.value.code == code and refused.value.params["index"] == 2


def test_a_trace_of_another_vehicle_lists_the_ids_it_holds(tmp_path):
    path = tmp_path / "other.log"
    path.write_text(
        "".join(f"({1700000000 + i / 100:.6f}) can0 7E8#0011223344556677\n" for i in range(50))
    )
    with pytest.raises(TraceError) as refused:
        check_trace_isolated("jazz-ev1", path)
    assert refused.value.code == "trace_foreign" and "0x7E8" in refused.value.params["ids"]


def test_crafted_upload_gets_a_thai_message_and_the_app_serves_on(
    app, client, auth, create_user, create_centre, zero_size_object
):
    from workshop.accounts.services import grant_qualification
    from workshop.extensions import db

    user = create_user("technician", centre=create_centre(code="SBX01"), username="sbx")
    grant_qualification(user, "eol_operator")
    db.session.commit()
    auth.login("sbx")
    data = zero_size_object.read_bytes()
    r = client.post(
        "/eol/traces",
        data={"kit": "jazz-ev1", "trace": (io.BytesIO(data), "crafted.blf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302  # stored and queued: the request never parses it
    run_worker(app.config, burst=True)
    page = client.get(r.headers["Location"])
    assert page.status_code == 200 and 'id="trace-error"' in page.text
    assert "makes no progress" not in page.text  # the reason is rendered in Thai
    assert "ไบต์" in page.text
    assert client.get("/eol/traces").status_code == 200
