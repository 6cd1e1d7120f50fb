import sqlalchemy as sa

from workshop.accounts.models import Centre, Role, User
from workshop.cli import cli
from workshop.demo import DEMO_LOGINS
from workshop.eol import runs
from workshop.extensions import db


def invoke(app, *args, **kwargs):
    return app.test_cli_runner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_create_first_admin(app):
    r = invoke(
        app,
        "create-user",
        "boss",
        "--name",
        "หัวหน้าใหญ่",
        "--role",
        "admin",
        "--all-centres",
        "--password",
        "a-long-admin-pass",
    )
    assert r.exit_code == 0, r.output
    user = db.session.scalar(sa.select(User).where(User.username == "boss"))
    assert user.roles == {Role.ADMIN} and user.all_centres


def test_create_user_prompts_for_password(app, create_centre):
    centre = create_centre(code="PRM01")
    r = invoke(
        app,
        "create-user",
        "tech1",
        "--name",
        "T",
        "--role",
        "technician",
        "--centre",
        "prm01",
        input="a-long-tech-pass\na-long-tech-pass\n",
    )
    assert r.exit_code == 0, r.output
    db.session.rollback()
    assert db.session.scalar(sa.select(User.centre_id).where(User.username == "tech1")) == centre.id


def test_create_user_refusals_change_nothing(app):
    r = invoke(app, "create-user", "weak", "--name", "W", "--role", "admin", "--password", "short")
    assert r.exit_code == 1 and "at least 10" in r.output
    r = invoke(
        app,
        "create-user",
        "t",
        "--name",
        "T",
        "--role",
        "technician",
        "--centre",
        "NOPE",
        "--password",
        "a-long-tech-pass",
    )
    assert r.exit_code == 2 and "no centre" in r.output
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_demo_seeds_idempotently(app, tmp_path):
    for _ in range(2):
        r = invoke(app, "demo", "--no-serve")
        assert r.exit_code == 0, r.output
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == len(DEMO_LOGINS)
    assert db.session.scalar(sa.select(sa.func.count(Centre.id))) == 2
    for login in DEMO_LOGINS:
        assert f"{login.username}" in r.output and login.password in r.output
    # Besides the certified job, the demo shows one job blocked only by where its EOL ran and
    # one only by the separation of duties; the certified one ran on the bay (virtual CAN).
    r = invoke(app, "certificates", "blockers", "--all")
    codes = {line.split(":")[1].split(" — ")[0].strip() for line in r.output.splitlines()}
    assert {"certified", "eol_not_real_bench", "separation_of_duties"} <= codes
    from workshop.certificates.models import Certificate

    certificate = db.session.scalars(sa.select(Certificate)).one()
    run = runs.latest_complete_run(certificate.job)
    assert (run.bench_kind, run.bench_interface, run.bench_centre) == (
        "virtual_bay",
        "virtual",
        "BKK01",
    )
    # Its PDF carries three intact signatures (two engineers, the centre) that validate against
    # the trust root the CLI writes; one changed byte breaks them.
    from workshop.certificates.signing import signature_status

    root = tmp_path / "root.pem"
    assert invoke(app, "certificates", "trust-root", "-o", str(root)).exit_code == 0
    status = signature_status(certificate.pdf, [root])
    assert status["valid"] and [s["field"] for s in status["signatures"]] == [
        "Mechanical",
        "Electrical",
        "Centre",
    ]
    tampered = bytearray(certificate.pdf)
    tampered[len(tampered) // 3] ^= 1
    assert not signature_status(bytes(tampered), [root])["intact"]


def test_demo_logins_work(app, client):
    invoke(app, "demo", "--no-serve")
    for login in DEMO_LOGINS:
        c = app.test_client()
        r = c.post("/login", data={"username": login.username, "password": login.password})
        assert r.status_code == 302, login.username


def test_manuals_check_prints_one_line_per_manual(app, tmp_path):
    r = invoke(app, "manuals", "check")
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 3 and all("sections" in line and "steps" in line for line in lines)
    broken = tmp_path / "broken-car.toml"
    broken.write_text('id = "broken-car"\nversion = "1.0"\n')
    from workshop.manuals.loader import MANUALS_DIR

    r = app.test_cli_runner().invoke(
        cli, ["manuals", "check", str(MANUALS_DIR / "honda-jazz-ge.toml"), str(broken)]
    )
    assert r.exit_code == 1
    assert r.output.splitlines()[0].startswith("honda-jazz-ge")
    assert "broken-car.toml" in r.output and "ERROR" in r.output


def test_a_safety_measurement_without_a_source_is_a_warning(app, tmp_path):
    """The shipped manuals name a source for every safety limit (no WARNING above); a copy of one
    that drops a source is warned about, naming the step and input, and still passes."""
    from workshop.manuals.loader import MANUALS_DIR

    text = (MANUALS_DIR / "honda-jazz-ge.toml").read_text(encoding="utf-8")
    dropped = text.replace(
        'source = "UN R100.02 §5.1.2.2: equipotential bonding below 0.1 Ω, measured with at '
        'least 0.2 A"\n',
        "",
    )
    assert dropped != text
    copy = tmp_path / "honda-jazz-ge.toml"
    copy.write_text(dropped, encoding="utf-8")
    r = app.test_cli_runner().invoke(cli, ["manuals", "check", str(copy)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[1].startswith(
        "WARNING honda-jazz-ge.toml: final-01.bonding_ohm: a safety measurement whose limits "
        "name no source"
    )


def test_kits_check_prints_one_line_per_kit(app):
    r = invoke(app, "kits", "check")
    assert r.exit_code == 0, r.output
    assert {line.split()[0] for line in r.output.strip().splitlines()} == {
        "jazz-ev1",
        "vios-ev1",
        "dmax-ev2",
        "dmax-ev2-vendor",
    }
