"""What a tablet downloads: subset WOFF2 fonts and fingerprinted static files, cached for a year."""

import io

from fontTools.ttLib import TTFont


def test_fonts_are_small_woff2_subsets_with_thai_and_latin(client):
    total = 0
    for name in ("Sarabun-Regular", "Sarabun-SemiBold", "Sarabun-Bold"):
        with client.get(f"/fonts/{name}.woff2?v=1") as response:
            body = response.get_data()
        assert response.status_code == 200
        assert response.mimetype == "font/woff2"
        assert "immutable" in response.headers["Cache-Control"]
        assert "max-age=31536000" in response.headers["Cache-Control"]
        assert body[:4] == b"wOF2"
        total += len(body)
        font = TTFont(io.BytesIO(body))
        cmap = font.getBestCmap()
        for char in "กขฃคฅ่้๊๋ำะาิีึืุู฿0123456789AZaz→":
            assert ord(char) in cmap, (name, char)
        assert "GPOS" in font and "GSUB" in font  # Thai marks keep their positioning
    assert total < 150_000, total  # the three TTF files weigh 270 KB


def test_unknown_or_ttf_fonts_are_not_served(client):
    assert client.get("/fonts/Sarabun-Regular.ttf").status_code == 404
    assert client.get("/fonts/..%2Fsecret_key").status_code == 404
    assert client.get("/fonts/Sarabun-Thin.woff2").status_code == 404


def test_static_files_are_fingerprinted_and_immutable(client):
    page = client.get("/login").get_data(as_text=True)
    assert "/static/app.css?v=" in page
    url = next(
        part.split('"', 1)[0]
        for part in page.split('href="')[1:]
        if part.startswith("/static/app.css")
    )
    with client.get(url) as response:
        assert response.status_code == 200
        assert "immutable" in response.headers["Cache-Control"]
    # Without the fingerprint the browser revalidates (it may be an old link).
    with client.get("/static/app.css") as response:
        assert "immutable" not in response.headers.get("Cache-Control", "")


def test_pages_go_compressed(client):
    response = client.get("/login", headers={"Accept-Encoding": "br, gzip"})
    assert response.headers["Content-Encoding"] == "br"
    response = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    import gzip

    assert "<html" in gzip.decompress(response.get_data()).decode()
    with client.get("/fonts/Sarabun-Bold.woff2?v=1", headers={"Accept-Encoding": "gzip"}) as font:
        assert "Content-Encoding" not in font.headers  # WOFF2 is compressed already
