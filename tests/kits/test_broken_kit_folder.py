"""One broken kit folder (an empty vehicle.dbc) never turns the pages that list kits into errors:
they show the kits that load, and the kits page says which folder is left out and why."""

import shutil

import pytest

from workshop.kits import catalogue, loader


@pytest.fixture
def one_broken_kit(tmp_path, monkeypatch):
    root = tmp_path / "kit_specs"
    shutil.copytree(loader.KITS_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "vios-ev1" / "vehicle.dbc").write_bytes(b"")
    monkeypatch.setattr(loader, "KITS_DIR", root)
    monkeypatch.setattr(catalogue, "KITS_DIR", root)
    catalogue._catalogue_cache.clear()
    yield root
    catalogue._catalogue_cache.clear()


def test_the_strict_loader_still_refuses_the_set(one_broken_kit):
    with pytest.raises(loader.KitError, match="vios-ev1"):
        loader.load_kits(one_broken_kit)


def test_pages_that_list_kits_keep_working(one_broken_kit, client, auth, create_user):
    kits, problems = loader.usable_kits()
    assert "vios-ev1" not in kits and {"jazz-ev1", "dmax-ev2"} <= set(kits)
    assert len(problems) == 1 and "vios-ev1" in str(problems[0])
    auth.login(create_user("supervisor").username)
    for url in (
        "/jobs/new",
        "/kits/",
        "/kits/stock",
        "/kits/deliveries/new",
        "/kits/serials",
        "/kits/reports/costs",
        "/kits/catalogue/jazz-ev1",
    ):
        assert client.get(url).status_code == 200, url
    assert client.get("/kits/catalogue/vios-ev1").status_code == 404
    page = client.get("/kits/").text
    assert 'id="kit-problems"' in page and "vios-ev1" in page.split('id="kit-problems"')[1]


# --- issue 13: an extra kit folder with an empty vehicle.dbc ------------------------------------


@pytest.fixture
def extra_broken_kit(tmp_path, monkeypatch):
    """The shipped kits plus a kit maker's new folder (a copy of the Jazz kit as 'extra-ev1')
    whose vehicle.dbc is empty: the folder is being filled in, the vendor's file not yet there."""
    root = tmp_path / "kit_specs"
    shutil.copytree(loader.KITS_DIR, root, ignore=shutil.ignore_patterns("__pycache__"))
    extra = root / "extra-ev1"
    shutil.copytree(root / "jazz-ev1", extra)
    for name in ("kit.toml", "eol.toml"):
        path = extra / name
        path.write_text(path.read_text(encoding="utf-8").replace("jazz-ev1", "extra-ev1"), "utf-8")
    (extra / "vehicle.dbc").write_bytes(b"")
    monkeypatch.setattr(loader, "KITS_DIR", root)
    monkeypatch.setattr(catalogue, "KITS_DIR", root)
    catalogue._catalogue_cache.clear()
    yield root
    catalogue._catalogue_cache.clear()


def test_an_extra_kit_with_an_empty_dbc_breaks_no_page(
    extra_broken_kit, client, auth, create_kit_job, create_worker
):
    """/jobs/new, /kits/ and a job's cost sheet answer 200; the kits page says which folder is
    left out and why, and the intake form does not offer it."""
    job = create_kit_job()
    supervisor = create_worker("supervisor")
    auth.login(supervisor.username)
    for url in ("/jobs/new", "/kits/", f"/kits/jobs/{job.id}/costs"):
        with client.get(url) as r:
            assert r.status_code == 200, url
            page = r.text
        if url == "/jobs/new":
            assert "jazz-ev1" in page and "extra-ev1" not in page
        if url == "/kits/":
            problems = page.split('id="kit-problems"')[1]
            assert "extra-ev1" in problems and "the file is empty" in problems
        if url.endswith("/costs"):
            assert job.reference in page


def test_a_jobs_cost_sheet_outlives_its_kit_folder_breaking(
    extra_broken_kit, client, auth, create_kit_job, create_worker
):
    """The job keeps the kit it was opened with (its snapshot): emptying that kit's vehicle.dbc
    later leaves its cost sheet and CSV answering."""
    job = create_kit_job()
    (extra_broken_kit / "jazz-ev1" / "vehicle.dbc").write_bytes(b"")
    catalogue._catalogue_cache.clear()
    assert "jazz-ev1" not in catalogue.kit_catalogue()
    auth.login(create_worker("supervisor").username)
    for url in (f"/kits/jobs/{job.id}/costs", f"/kits/jobs/{job.id}/costs.csv", "/jobs/new"):
        with client.get(url) as r:
            assert r.status_code == 200, url
