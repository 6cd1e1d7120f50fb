"""Every page names its icon (browsers stop asking for a missing /favicon.ico)."""


def test_pages_link_an_icon_that_exists(client):
    page = client.get("/login").get_data(as_text=True)
    href = page.split('rel="icon" href="', 1)[1].split('"', 1)[0]
    with client.get(href) as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
