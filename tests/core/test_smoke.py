def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json["status"] == "ok" and r.json["database"] == "ok"


def test_login_and_home(client, auth, create_user):
    user = create_user("technician")
    r = auth.login(user.username)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    r = client.get("/")
    assert r.status_code == 200
    assert user.full_name in r.text
