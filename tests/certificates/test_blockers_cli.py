"""``workshop certificates blockers``: one line per job, stable codes, exit 0 only when ready."""

from workshop.cli import cli


def test_blockers_command(build_job, cert_app):
    ready = build_job(stage="approved")
    blocked = build_job(stage="open")
    runner = cert_app.test_cli_runner()

    r = runner.invoke(cli, ["certificates", "blockers", ready.reference])
    assert r.exit_code == 0 and r.output == f"{ready.reference}: ready\n"

    r = runner.invoke(cli, ["certificates", "blockers", ready.reference, blocked.reference])
    assert r.exit_code == 1
    first, second = r.output.splitlines()
    assert first == f"{ready.reference}: ready"
    assert second.startswith(
        f"{blocked.reference}: steps_unsigned, eol_missing, inspection_not_approved, "
        "signoff_missing — "
    )
    assert "no EOL run of all three sequences (ECU, BMS, brakes) has finished; " in second
    assert second.endswith("no mechanical engineer sign-off; no electrical engineer sign-off")

    r = runner.invoke(cli, ["certificates", "blockers", "--all"])
    assert r.exit_code == 1 and len(r.output.splitlines()) == 2

    r = runner.invoke(cli, ["certificates", "blockers", "NOPE-00001"])
    assert r.exit_code == 1 and r.output == "NOPE-00001: not_found — no such job\n"

    r = runner.invoke(cli, ["certificates", "blockers"])
    assert r.exit_code == 2 and "or use --all" in r.output
