"""The one data-file framework (workshop/datafiles.py): reading, validation errors, uniqueness and
the cache that re-reads a changed file, on real files."""

import os

import pytest
from pydantic import BaseModel, ConfigDict, Field

from workshop import datafiles
from workshop.datafiles import (
    WHOLE_FILE,
    DataFileError,
    cached_by_mtime,
    check_unique,
    load_model,
    read_data_file,
)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    weight_kg: float = Field(gt=0)


class File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item: list[Item] = Field(min_length=1)


class ThingError(DataFileError):
    """A feature's own error: only the name differs."""


def test_a_good_file_loads(tmp_path):
    path = tmp_path / "things.toml"
    path.write_text('[[item]]\nid = "a"\nweight_kg = 1.5\n', encoding="utf-8")
    assert load_model(path, File, ThingError).item[0].weight_kg == 1.5


@pytest.mark.parametrize(
    ("content", "location", "problem"),
    [
        (b'[[item]]\nid = "a"\nweigth_kg = 1\n', "item[0].weigth_kg", "Extra inputs"),
        (b'[[item]]\nid = "a"\nweight_kg = -1\n', "item[0].weight_kg", "greater than 0"),
        (b"[[item]\n", "line 1, column 7", "TOML syntax error"),
        (b"\xff\xfe", WHOLE_FILE, "not UTF-8"),
    ],
    ids=["unknown field first", "rule", "syntax", "encoding"],
)
def test_every_problem_names_file_place_and_rule(tmp_path, content, location, problem):
    path = tmp_path / "things.toml"
    path.write_bytes(content)
    with pytest.raises(ThingError) as refused:
        load_model(path, File, ThingError)
    assert refused.value.file == path
    assert refused.value.location == location
    assert problem in refused.value.problem
    assert str(refused.value).startswith(f"{path}: {location}: ")


def test_missing_folder_and_oversized_files_are_refused(tmp_path, monkeypatch):
    with pytest.raises(ThingError, match="file not found"):
        read_data_file(tmp_path / "nope.toml", ThingError)
    with pytest.raises(ThingError, match="is a folder"):
        read_data_file(tmp_path, ThingError)
    monkeypatch.setattr(datafiles, "MAX_DATA_FILE_BYTES", 16)
    big = tmp_path / "big.toml"
    big.write_text("x = 1\n" * 10)
    with pytest.raises(ThingError, match="larger than"):
        read_data_file(big, ThingError)


def test_check_unique_names_both_places(tmp_path):
    check_unique(tmp_path, ThingError, ["a", "b"], "item", "id", "id")
    with pytest.raises(ThingError) as refused:
        check_unique(tmp_path, ThingError, ["a", "b", "a"], "item", "id", "id")
    assert refused.value.location == "item[2].id"
    assert refused.value.problem == "duplicate id 'a' (also item[0])"


def test_the_cache_rereads_a_changed_file(tmp_path):
    path = tmp_path / "things.toml"
    path.write_text('[[item]]\nid = "a"\nweight_kg = 1\n', encoding="utf-8")
    reads = []

    def loader(p):
        reads.append(p)
        return load_model(p, File, ThingError)

    cached = cached_by_mtime(loader)
    assert cached(path).item[0].id == "a"
    assert cached(str(path)).item[0].id == "a"
    assert len(reads) == 1
    path.write_text('[[item]]\nid = "bb"\nweight_kg = 1\n', encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert cached(path).item[0].id == "bb"
    assert len(reads) == 2
    path.unlink()
    with pytest.raises(ThingError, match="file not found"):
        cached(path)
