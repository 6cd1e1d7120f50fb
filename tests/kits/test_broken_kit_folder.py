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
