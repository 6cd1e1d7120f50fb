"""Every serial a manual asks for can be supplied by the serialised parts of each kit that fits it."""

import pytest

from workshop.kits.loader import load_kits
from workshop.manuals.loader import load_manuals

PAIRS = [(kit, manual_id) for kit in load_kits().values() for manual_id in kit.manuals]


@pytest.mark.parametrize("kit, manual_id", PAIRS, ids=[f"{k.id}-{m}" for k, m in PAIRS])
def test_manual_serials_come_from_the_kit(kit, manual_id):
    manual = load_manuals()[manual_id]
    short = []
    for step in manual.steps:
        for inp in step.inputs:
            if inp.type != "serial":
                continue
            parts = [
                line
                for line in kit.bom
                if line.serialised
                and (
                    line.part_number == inp.part_number
                    or (inp.category and line.category == inp.category)
                )
            ]
            have = sum(int(line.quantity) for line in parts)
            if have < inp.count:
                short.append((step.id, inp.key, inp.part_number or inp.category, inp.count, have))
    assert short == [], "(step, input, part or category, needed, serialised in the kit)"


@pytest.mark.parametrize("kit, manual_id", PAIRS, ids=[f"{k.id}-{m}" for k, m in PAIRS])
def test_one_kit_covers_every_serial_of_the_manual_at_once(kit, manual_id):
    # Serials are installed once: the whole manual's demand must fit in one kit's serialised parts.
    manual = load_manuals()[manual_id]
    by_part, by_category = {}, {}
    for step in manual.steps:
        for inp in step.inputs:
            if inp.type == "serial" and inp.part_number:
                by_part[inp.part_number] = by_part.get(inp.part_number, 0) + inp.count
            elif inp.type == "serial":
                by_category[inp.category] = by_category.get(inp.category, 0) + inp.count
    supply = {line.part_number: int(line.quantity) for line in kit.bom if line.serialised}
    category_of = {line.part_number: line.category for line in kit.bom}
    short = [(pn, n, supply.get(pn, 0)) for pn, n in by_part.items() if supply.get(pn, 0) < n]
    for category, n in by_category.items():
        left = sum(
            q - by_part.get(pn, 0) for pn, q in supply.items() if category_of[pn] == category
        )
        if left < n:
            short.append((category, n, left))
    assert short == [], "(part or category, needed by the manual, left in the kit)"
