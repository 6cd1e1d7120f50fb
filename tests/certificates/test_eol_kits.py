"""The kit definitions certificates read are kept while the kit's files are unchanged, and loaded
afresh when any of them (eol.toml, a DBC file, a limit profile) changes."""

import shutil

import pytest

from workshop.certificates.eol_kits import eol_kit
from workshop.eol import definitions


@pytest.fixture
def kits_copy(tmp_path, monkeypatch):
    root = tmp_path / "kits"
    shutil.copytree(definitions.kit_specs_root(), root)
    monkeypatch.setattr(definitions, "kit_specs_root", lambda: root)
    return root


def test_an_unchanged_kit_is_parsed_once(kits_copy):
    first = eol_kit("jazz-ev1")
    assert first is not None and first.kit_id == "jazz-ev1"
    assert eol_kit("jazz-ev1") is first
    assert eol_kit("vios-ev1") is not first


@pytest.mark.parametrize(
    "changed", ["jazz-ev1/eol.toml", "jazz-ev1/vehicle.dbc", "_profiles/lfp.toml"]
)
def test_a_changed_file_is_read_again(kits_copy, changed):
    first = eol_kit("jazz-ev1")
    with open(kits_copy / changed, "a", encoding="utf-8") as fh:
        fh.write("\n")
    second = eol_kit("jazz-ev1")
    assert second is not None and second is not first
    assert eol_kit("jazz-ev1") is second


def test_a_kit_that_stops_loading_is_none_and_the_rule_names_the_error(kits_copy):
    from workshop.certificates.services import _policy_kit

    assert eol_kit("jazz-ev1") is not None
    with open(kits_copy / "jazz-ev1" / "eol.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[[certificate.waivers]]\ncheck = "bms.balancing"\nreference = "X-1"\n')
    assert eol_kit("jazz-ev1") is None
    with pytest.raises(definitions.EolDefinitionError):
        _policy_kit("jazz-ev1")
    assert eol_kit("no-such-kit") is None
