"""The demo's certified conversion and the one awaiting inspection; the certificates commands."""

import sqlalchemy as sa

from workshop.certificates.models import Certificate
from workshop.cli import cli
from workshop.extensions import db
from workshop.jobs.models import Job, JobStatus


def test_demo_shows_the_whole_flow_and_the_cli_reads_it(app, runner, tmp_path):
    from workshop.audit.services import Actor, set_actor
    from workshop.demo import seed_demo

    set_actor(Actor(None, "demo", "test"))
    seed_demo()
    seed_demo()  # idempotent
    db.session.expire_all()
    (certificate,) = db.session.scalars(sa.select(Certificate))
    assert certificate.number.startswith("BKK01-") and certificate.number.endswith("-0001")
    statuses = sorted(j.status.value for j in db.session.scalars(sa.select(Job)))
    assert statuses.count(JobStatus.CERTIFIED.value) == 1
    assert statuses.count(JobStatus.AWAITING_INSPECTION.value) == 1

    listed = runner.invoke(cli, ["certificates", "list"])
    assert listed.exit_code == 0 and f"{certificate.number}" in listed.output
    assert "valid" in listed.output
    out = tmp_path / "c.pdf"
    written = runner.invoke(cli, ["certificates", "pdf", certificate.number, "-o", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_bytes() == certificate.pdf
    missing = runner.invoke(cli, ["certificates", "pdf", "NOPE-1", "-o", str(out)])
    assert missing.exit_code != 0 and "no certificate NOPE-1" in missing.output
