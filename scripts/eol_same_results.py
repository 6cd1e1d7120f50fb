"""Same behaviour before and after an EOL refactor: dump every simulated run, then compare.

    python scripts/eol_same_results.py dump before.json     # on the old code
    python scripts/eol_same_results.py dump after.json      # on the new code
    python scripts/eol_same_results.py compare before.json after.json

A dump holds, for every shipped kit with no fault and with each fault it can show (seed 1), the
whole run result in English and Thai, and for the fault-free run the offline evaluation of its
trace; run ids and wall-clock stamps are left out. ``compare`` prints each run that differs and
where, and exits 1 if any does. Run it from the repository root (``PYTHONPATH=.``).
"""

import json
import sys
import tempfile
from pathlib import Path

WALL_CLOCK = {"started_at", "finished_at", "duration_s", "trace", "path", "max_lag_s"}


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if k not in WALL_CLOCK}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _run(kit, faults):
    from workshop.eol.runner import evaluate_trace, run_eol
    from workshop.eol.simbus import SimulatedBus

    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "run.blf"
        with SimulatedBus(kit, faults=faults, seed=1) as bus:
            result = run_eol(kit, bus, trace_path=trace)
        out = {lang: _clean(result.to_dict(lang)) for lang in ("en", "th")}
        if not faults:
            out["offline"] = _clean(evaluate_trace(kit, trace).to_dict("en"))
    return out


def dump(path: str) -> None:
    """Write every simulated run (each kit, no fault and each fault) to ``path``."""
    from workshop.eol.definitions import list_kits, load_kit
    from workshop.eol.faults import applicable_faults

    out = {}
    for kit_id in list_kits():
        kit = load_kit(kit_id)
        out[f"{kit_id}/-"] = _run(kit, [])
        for fault in sorted(applicable_faults(kit)):
            out[f"{kit_id}/{fault}"] = _run(kit, [fault])
        print(kit_id, len(applicable_faults(kit)), "faults", file=sys.stderr)
    text = json.dumps(out, indent=1, ensure_ascii=False, sort_keys=True, default=str)
    Path(path).write_text(text, encoding="utf-8")


def _diff(a, b, path=""):
    if type(a) is not type(b):
        yield f"{path}: {a!r} -> {b!r}"
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                yield f"{path}.{k}: {'only after' if k not in a else 'only before'}"
            else:
                yield from _diff(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        if len(a) != len(b):
            yield f"{path}: length {len(a)} -> {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from _diff(x, y, f"{path}[{i}]")
    elif a != b:
        yield f"{path}: {a!r} -> {b!r}"


def compare(before_path: str, after_path: str) -> int:
    """Print every run that differs between two dumps; 1 if any does."""
    before = json.loads(Path(before_path).read_text(encoding="utf-8"))
    after = json.loads(Path(after_path).read_text(encoding="utf-8"))
    runs = sorted(set(before) | set(after))
    differ = 0
    for run in runs:
        found = list(_diff(before.get(run), after.get(run)))
        if found:
            differ += 1
            print(run, *found[:6], sep="\n  ")
    print(f"{len(runs)} runs compared, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)
