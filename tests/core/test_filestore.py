"""The one file store (workshop/filestore.py): content-addressed, written whole, never
overwritten, refusing names that are not digests; on real files."""

import hashlib

import pytest

from workshop.filestore import FileStore, StoreError, sha256_of_file


def test_bytes_are_kept_by_content_once(tmp_path):
    store = FileStore(tmp_path)
    digest = store.put_bytes("traces", b"frames", ".blf")
    assert digest == hashlib.sha256(b"frames").hexdigest()
    path = store.path("traces", digest, ".blf")
    assert path == tmp_path / "traces" / digest[:2] / f"{digest}.blf"
    assert path.read_bytes() == b"frames"
    before = path.stat().st_mtime_ns
    assert store.put_bytes("traces", b"frames", ".blf") == digest
    assert path.stat().st_mtime_ns == before  # already kept: not written again
    assert not list(tmp_path.rglob("*.part"))


def test_a_file_moves_in_and_a_copy_of_kept_bytes_goes(tmp_path):
    store = FileStore(tmp_path / "store")
    first = tmp_path / "run-1.blf"
    first.write_bytes(b"trace")
    digest = store.put_file("traces", first, ".blf")
    assert not first.exists() and store.exists("traces", digest, ".blf")
    again = tmp_path / "run-2.blf"
    again.write_bytes(b"trace")
    assert store.put_file("traces", again, ".blf") == digest
    assert not again.exists()
    assert sha256_of_file(store.path("traces", digest, ".blf")) == digest


def test_a_derived_file_is_written_whole_under_its_sources_digest(tmp_path):
    store = FileStore(tmp_path)
    digest = store.put_bytes("photos", b"photo")
    calls = []

    def thumbnail(part):
        calls.append(part)
        part.write_bytes(b"thumb")

    path = store.write("photos", digest, ".thumb.jpg", thumbnail)
    store.write("photos", digest, ".thumb.jpg", thumbnail)
    assert path.read_bytes() == b"thumb" and len(calls) == 1
    assert calls[0].name.endswith(".part")


@pytest.mark.parametrize(
    ("kind", "sha256", "suffix"),
    [
        ("secrets", "a" * 64, ""),
        ("photos", "../../etc/passwd", ""),
        ("photos", "A" * 64, ""),
        ("photos", "a" * 63, ""),
        ("photos", "a" * 64, "/../x"),
    ],
    ids=["unknown kind", "traversal", "upper case", "short", "bad suffix"],
)
def test_names_that_are_not_digests_are_refused(tmp_path, kind, sha256, suffix):
    with pytest.raises(StoreError):
        FileStore(tmp_path).path(kind, sha256, suffix)
