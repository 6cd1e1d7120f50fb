"""A page costs what it shows: its number of SQL statements does not grow with the data.

Each page is requested once on a small database and once after many more jobs, records and
photos were added; the count of statements must be the same (N+1 queries fail this).
"""

import contextlib

import pytest
import sqlalchemy as sa

from workshop.extensions import db
from workshop.jobs import services
from workshop.jobs.listing import list_jobs

from .conftest import png_bytes


@contextlib.contextmanager
def counted():
    """Count the SQL statements sent to the database inside the block."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)


@pytest.fixture
def grow(app, create_job, create_worker, tmp_path):
    """Add ``n`` jobs, each with two signed steps (one with a photo)."""
    folder = tmp_path / "uploads"
    technician = create_worker("technician", username=None)

    def make(n, *, correct=None):
        if correct is not None:  # one more record (a correction, with its photo) on a job
            services.add_photo(correct, "intake-01", "vin_photo", png_bytes(), technician, folder)
            services.sign_step(
                correct,
                "intake-01",
                technician,
                {"odometer_km": "152001"},
                base_seq=1,
                reason="re-read the odometer",
            )
        jobs = []
        for _ in range(n):
            job = create_job()
            services.add_photo(job, "intake-01", "vin_photo", png_bytes(), technician, folder)
            services.sign_step(job, "intake-01", technician, {"odometer_km": "152000"}, base_seq=0)
            services.sign_step(
                job,
                "intake-02",
                technician,
                {"walkaround": "y", "fuel_level": "empty", "remarks": ""},
                base_seq=0,
            )
            db.session.commit()
            jobs.append(job)
        return jobs

    return make


def _count(client, url):
    with counted() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


def test_pages_do_not_grow_with_the_data(app, client, auth, grow, create_worker):
    supervisor = create_worker("supervisor")
    first = grow(2)[0]
    pages = [
        "/",
        "/jobs/",
        "/jobs/?status=open",
        f"/jobs/{first.id}",
        f"/jobs/{first.id}/steps/intake-01",
        f"/jobs/{first.id}/steps/intake-02",
    ]
    auth.login(supervisor.username)
    for url in pages:  # warm the caches a first request fills (manual, kit catalogue, locale)
        client.get(url)
    small = {url: _count(client, url) for url in pages}
    grow(12, correct=first)
    large = {url: _count(client, url) for url in pages}
    assert large == small


def test_job_list_pages_newest_first_without_gaps_or_repeats(app, create_job, create_worker):
    from workshop.accounts.access import CentreScope

    scope = CentreScope(create_worker("supervisor"))
    made = [create_job() for _ in range(7)]
    seen, cursor = [], None
    while True:
        page = list_jobs(scope, limit=3, after=cursor)
        seen += [job.id for job in page.jobs]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [job.id for job in reversed(made)]
    # A mangled cursor starts again at the newest jobs instead of failing.
    assert list_jobs(scope, limit=3, after="x~y").jobs[0].id == made[-1].id


def test_job_list_page_link(app, client, auth, create_job, create_worker):
    supervisor = create_worker("supervisor")
    for _ in range(3):
        create_job()
    auth.login(supervisor.username)
    page = client.get("/jobs/").get_data(as_text=True)
    assert "after=" not in page  # one page only: no link to older jobs
    assert client.get("/jobs/?after=%00garbage").status_code == 200


def test_homes_inspection_queue_and_cost_report_do_not_grow_with_the_data(
    app, client, auth, grow, create_user, create_worker, centre, open_real_job
):
    from workshop.jobs.models import JobStatus
    from workshop.kits import costs

    boss = create_worker("supervisor")
    users = {
        "technician": create_worker("technician"),
        "supervisor": boss,
        "trainer": create_worker("trainer"),
        "inspector": create_user("inspector", centre=centre),
        "admin": create_user("admin"),
    }
    pages = {
        "technician": ["/"],
        "supervisor": ["/", "/kits/reports/costs", "/kits/reports/costs?open=1"],
        "trainer": ["/"],
        "inspector": ["/", "/inspection/", "/kits/reports/costs"],
        "admin": ["/", "/kits/reports/costs?open=1"],
    }
    vins = iter(f"JHMGE8H{n:010d}" for n in range(1, 1000))

    def finished_jobs(n):
        """Jobs on real manuals and kits, sent for inspection or certified, each with a cost line."""
        for i in range(n):
            manual_id = ("honda-jazz-ge", "toyota-vios-ncp93")[i % 2]
            job = open_real_job(centre, boss, next(vins), manual_id=manual_id)
            costs.add_cost_line(
                job, boss, kind="sublet", description="Alignment", quantity="1", unit_cost="850"
            )
            job.status = (JobStatus.AWAITING_INSPECTION, JobStatus.CERTIFIED)[i % 2]
        db.session.commit()

    grow(2)
    finished_jobs(2)

    def counts():
        result = {}
        for role, urls in pages.items():
            auth.login(users[role].username)
            for url in urls:  # warm the caches (manuals, kits, locale) and the session
                client.get(url)
            result.update({(role, url): _count(client, url) for url in urls})
            auth.logout()
        return result

    small = counts()
    grow(6)
    finished_jobs(8)
    assert counts() == small


def test_inspection_queue_pages_oldest_first(app, create_job, create_user, centre):
    from workshop.accounts.access import CentreScope
    from workshop.inspection.services import inspection_queue
    from workshop.jobs.models import JobStatus

    made = [create_job() for _ in range(5)]
    for job in made:
        job.status = JobStatus.AWAITING_INSPECTION
    db.session.commit()
    scope = CentreScope(create_user("inspector", centre=centre))
    seen, cursor = [], None
    while True:
        page = inspection_queue(scope, limit=2, after=cursor)
        seen += [job.id for job in page.jobs]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [job.id for job in made]


def test_step_screen_and_job_page_stay_within_their_statement_budget(
    app, client, auth, grow, create_worker
):
    """The pages opened all day read what they show in a few statements: the user with their
    session, roles, qualifications and centres in one; the job with a step's records, signers,
    countersigns and its open non-conformance in one (+ the step's photos for a step that takes
    photos). A change that adds a statement to every step screen fails here."""
    technician = create_worker("technician")
    job = grow(1)[0]
    budgets = {
        f"/jobs/{job.id}/steps/intake-01": 3,  # takes photos: + the step's photos
        f"/jobs/{job.id}/steps/intake-02": 2,
        # the user; the job with its vehicle; who signed what. An open job never rejected has no
        # inspection decision to look for (jobs.rejections).
        f"/jobs/{job.id}": 3,
    }
    auth.login(technician.username)
    for url in budgets:
        client.get(url)
    assert {url: _count(client, url) for url in budgets} == budgets


def test_a_step_screen_whose_job_pins_another_manual_than_this_process_saw(
    app, client, auth, grow, create_worker
):
    """The step screen reads a job and the step's records in one statement when this process
    has seen the job's pin before; if the job turns out to pin another manual (a job id used
    again on SQLite), the records are read again for the manual it does pin."""
    from workshop.jobs import progress
    from workshop.manuals.schema import Manual

    technician = create_worker("technician")
    job = grow(1)[0]
    auth.login(technician.username)
    url = f"/jobs/{job.id}/steps/intake-01"
    first = client.get(url).text
    assert "152000" in first and technician.full_name in first
    pinned = progress._pins[job.id]
    other = ("another-manual", "9", "f" * 64)
    data = progress._manual_cache[pinned].model_dump(mode="json")
    for section in data["sections"]:
        for step in section["steps"]:
            if step["id"] == "intake-01":
                step["title_th"] = step["title_en"] = "ไม่ใช่คู่มือนี้ NOT THIS MANUAL"
    progress._manual_cache[other] = Manual.model_validate(data)
    progress._pins[job.id] = other
    try:
        with counted() as statements:
            again = client.get(url).text
    finally:
        progress._manual_cache.pop(other, None)
    assert "152000" in again and technician.full_name in again
    assert "NOT THIS MANUAL" not in again
    assert progress._pins[job.id] == pinned
    assert len(statements) == 5  # the user; job and records twice over; the photos
