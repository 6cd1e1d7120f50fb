import pytest
def test_peek(client, create_user):
    from tests.kits.test_views import login
    login(client, create_user("admin"))
    t = client.get("/kits/catalogue/jazz-ev1").text
    i = t.index("<svg")
    print(t[i:i+1400])
