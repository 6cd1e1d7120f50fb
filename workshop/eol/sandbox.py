"""Uploaded traces are parsed in a separate process with CPU-time, memory and wall-clock limits.

A trace from outside is hostile input: a 320-byte BLF can make python-can's reader loop for
minutes and eat gigabytes. The web app therefore never parses one itself: it starts
``python -m workshop.eol.sandbox`` with ``RLIMIT_CPU`` and ``RLIMIT_AS`` set before the
interpreter starts (one process per check; a long-lived worker keeps the next one started, see
:func:`keep_ready`), kills it when the wall-clock budget is spent, and reads back a JSON answer
(the run's plain-data form, or a TraceError's code and parameters). Whatever the file does, the
web worker's memory and time are untouched and the user gets a message in their language.
Plain Python, no Flask.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from workshop.eol.records import RunResult
from workshop.eol.traces import TraceError


@dataclass(frozen=True)
class Limits:
    """What one trace check may use: CPU seconds, address space (MB) and wall seconds."""

    cpu_seconds: int = 20
    memory_mb: int = 768
    wall_seconds: float = 25.0


def _limit(limits: Limits):
    def apply() -> None:  # runs in the child, before the interpreter starts
        cpu = max(1, int(limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        memory = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.nice(5)

    return apply


# A sandbox started ahead of the next check (see keep_ready): it has paid for the interpreter
# and the imports (seconds on a busy machine) and waits for its one request on stdin.
_ready: dict = {}
_ready_lock = threading.Lock()


def _start(limits: Limits) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workshop.eol.sandbox", "--wait"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_limit(limits),  # noqa: PLW1509 - nothing else runs between fork and exec
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def keep_ready(limits: Limits = Limits()) -> None:
    """From now on keep one sandbox started ahead of the next check, so a check costs no
    interpreter start (for a long-lived process: `workshop worker`). Each check still gets a
    process of its own; a waiting one exits when this process does (its stdin closes)."""
    with _ready_lock:
        waiting = _ready.get("process")
        if _ready.get("limits") == limits and waiting is not None and waiting.poll() is None:
            return
        _discard(_ready.pop("process", None))
        _ready.update(limits=limits, process=_start(limits))


def stop_ready() -> None:
    """Stop keeping a sandbox ready and end the one waiting, if any."""
    with _ready_lock:
        waiting = _ready.pop("process", None)
        _ready.clear()
    _discard(waiting)


def _take(limits: Limits) -> subprocess.Popen:
    """The waiting sandbox when it has these limits, else a new one."""
    dead = None
    with _ready_lock:
        waiting = _ready.get("process")
        if waiting is not None and _ready["limits"] == limits:
            del _ready["process"]
            if waiting.poll() is None:
                return waiting
            dead = waiting
    _discard(dead)
    return _start(limits)


def _refill(limits: Limits) -> None:
    """After a check (never during one: its imports would take the CPU the check needs), start
    the next sandbox if keep_ready asked for these limits."""
    with _ready_lock:
        if _ready.get("limits") == limits and "process" not in _ready:
            _ready["process"] = _start(limits)


def _discard(process: subprocess.Popen | None) -> None:
    if process is not None:
        process.kill()
        process.communicate()


def check_trace_isolated(
    kit_id: str,
    path: str | Path,
    *,
    kit_root: str | Path | None = None,
    fmt: str | None = None,
    limits: Limits = Limits(),
) -> RunResult:
    """Evaluate ``path`` against kit ``kit_id`` in a limited child process.

    Returns the run (its trace path is ``path``) or raises TraceError: the file's own problem,
    ``trace_over_limits`` when the child was stopped by a limit, or ``trace_checker_failed``.
    """
    request = {
        "kit": str(kit_id),
        "trace": str(path),
        "kit_root": None if kit_root is None else str(kit_root),
        "format": fmt,
    }
    over = TraceError("trace_over_limits", seconds=limits.cpu_seconds, megabytes=limits.memory_mb)
    process = _take(limits)
    try:
        stdout, stderr = process.communicate(
            json.dumps(request).encode() + b"\n", timeout=limits.wall_seconds
        )
    except subprocess.TimeoutExpired:
        _discard(process)
        raise over from None
    finally:
        _refill(limits)
    if process.returncode in (-signal.SIGXCPU, -signal.SIGKILL) or b"MemoryError" in stderr:
        raise over
    try:
        answer = json.loads(stdout)
    except ValueError:
        tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise TraceError("trace_checker_failed", detail=tail[0][:200]) from None
    if "error" in answer:
        raise TraceError(answer["error"]["code"], **answer["error"]["params"])
    return RunResult.from_dict(answer["result"])


STALL_SECONDS = 2.0


def _answer(answer: dict) -> None:
    sys.stdout.write(json.dumps(answer, default=str))
    sys.stdout.flush()


def _watch_reader() -> None:
    """In the child: a reader that yields no frame for STALL_SECONDS is stuck on a crafted
    object (python-can loops forever on a BLF object of size 0): answer and exit at once."""
    from workshop.eol.traces import PROGRESS

    last, still = -1, 0.0
    while True:
        time.sleep(0.1)
        if not PROGRESS["reading"]:
            last, still = -1, 0.0
            continue
        frames = PROGRESS["frames"]
        still = still + 0.1 if frames == last else 0.0
        last = frames
        if still >= STALL_SECONDS:
            handle = PROGRESS["file"]
            try:
                offset = handle.tell() if handle is not None else "?"
            except (OSError, ValueError):
                offset = "?"
            _answer({"error": {"code": "trace_stuck", "params": {"offset": offset}}})
            os._exit(0)


def main(argv: list[str] | None = None) -> int:
    """The child: evaluate one trace and print one JSON object on stdout. With ``--wait`` the
    request (kit, trace, kit_root, format) is one JSON line on stdin, read once imports are done."""
    import argparse

    from workshop.eol.definitions import EolDefinitionError, load_kit
    from workshop.eol.runner import evaluate_trace

    parser = argparse.ArgumentParser(prog="python -m workshop.eol.sandbox")
    parser.add_argument("kit", nargs="?")
    parser.add_argument("trace", nargs="?")
    parser.add_argument("--kit-root")
    parser.add_argument("--format")
    parser.add_argument("--wait", action="store_true")
    args = parser.parse_args(argv)
    if args.wait:
        line = sys.stdin.readline()
        if not line.strip():
            return 0  # the process that started us is gone, or never sent a request
        request = json.loads(line)
        args.kit, args.trace = request["kit"], request["trace"]
        args.kit_root, args.format = request.get("kit_root"), request.get("format")
    elif not (args.kit and args.trace):
        parser.error("give KIT and TRACE, or --wait")
    threading.Thread(target=_watch_reader, name="reader-watchdog", daemon=True).start()
    try:
        kit = load_kit(args.kit, args.kit_root)
        result = evaluate_trace(kit, args.trace, args.format)
        answer = {"result": result.to_dict("en")}
    except TraceError as exc:
        answer = {"error": {"code": exc.code, "params": exc.params}}
    except EolDefinitionError as exc:
        answer = {"error": {"code": "trace_checker_failed", "params": {"detail": str(exc)}}}
    _answer(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
