"""Every serial a manual asks for can be supplied by the serialised parts of each kit that fits it,
for the whole manual at once: part of `workshop kits check` (workshop/kits/fitcheck.py)."""

import shutil

import pytest
from click.testing import CliRunner

from workshop.kits.commands import kits as kits_cli
from workshop.kits.fitcheck import manual_supply_problems
from workshop.kits.loader import KITS_DIR, load_kit, load_kits

KITS = sorted(load_kits().values(), key=lambda k: k.id)


@pytest.mark.parametrize("kit", KITS, ids=[k.id for k in KITS])
def test_each_shipped_kit_supplies_every_serial_its_manuals_ask_for(kit):
    assert manual_supply_problems(kit) == []


def test_kits_check_names_a_manual_the_kit_cannot_supply(tmp_path):
    folder = tmp_path / "jazz-ev1"
    shutil.copytree(KITS_DIR / "jazz-ev1", folder)
    text = (folder / "kit.toml").read_text(encoding="utf-8")
    assert 'category = "battery"\nquantity = 100\n' in text
    (folder / "kit.toml").write_text(
        text.replace(
            'category = "battery"\nquantity = 100\n', 'category = "battery"\nquantity = 90\n', 1
        ),
        encoding="utf-8",
    )
    problems = manual_supply_problems(load_kit(folder))
    assert problems and problems[0].startswith("kit.toml: manuals[0]: manual 'honda-jazz-ge' asks")
    result = CliRunner().invoke(kits_cli, ["check", str(folder)])
    assert result.exit_code == 1
    assert "manual 'honda-jazz-ge' asks for 100 serial(s)" in result.output
    assert "the kit has 90 left" in result.output or "BOM has 90 serialised" in result.output


def test_an_unknown_manual_is_named(tmp_path):
    kit = KITS[0]
    renamed = kit.model_copy(update={"manuals": ("no-such-manual",)})
    assert manual_supply_problems(renamed) == [
        "kit.toml: manuals[0]: no manual 'no-such-manual' in checklists/manuals"
    ]
