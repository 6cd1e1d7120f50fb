"""``workshop kits check``: every serial that a manual the kit fits asks for can be supplied by the
kit's serialised parts, for the whole manual at once (serials are installed once), in the unit the
manual counts (modules or cells of the battery)."""

from workshop.kits.loader import register_folder_check
from workshop.kits.spec import KitSpec
from workshop.manuals.loader import ManualError, load_manuals


def manual_supply_problems(kit: KitSpec, manuals=None) -> list[str]:
    """Problem lines ("kit.toml: manuals[i]: ...") for each serial the kit cannot supply."""
    if manuals is None:
        try:
            manuals = load_manuals()
        except ManualError as exc:
            return [f"kit.toml: manuals: the manuals cannot be read ({exc})"]
    supply = {line.part_number: int(line.quantity) for line in kit.bom if line.serialised}
    category_of = {line.part_number: line.category for line in kit.bom}
    problems = []
    for index, manual_id in enumerate(kit.manuals):
        place = f"kit.toml: manuals[{index}]"
        manual = manuals.get(manual_id)
        if manual is None:
            problems.append(f"{place}: no manual {manual_id!r} in checklists/manuals")
            continue
        by_part: dict[str, int] = {}
        by_category: dict[str, tuple[int, str]] = {}
        for step in manual.steps:
            for inp in step.inputs:
                if inp.type != "serial":
                    continue
                if inp.part_number:
                    by_part[inp.part_number] = by_part.get(inp.part_number, 0) + inp.count
                else:
                    count, first = by_category.get(inp.category, (0, step.id))
                    by_category[inp.category] = (count + inp.count, first)
        for part, needed in by_part.items():
            have = supply.get(part, 0)
            if have < needed:
                problems.append(
                    f"{place}: manual {manual_id!r} asks for {needed} serial(s) of {part}; "
                    f"the kit's BOM has {have} serialised"
                )
        for category, (needed, step_id) in by_category.items():
            left = sum(
                quantity - by_part.get(part, 0)
                for part, quantity in supply.items()
                if category_of[part] == category
            )
            if left < needed:
                problems.append(
                    f"{place}: manual {manual_id!r} asks for {needed} serial(s) of category "
                    f"{category!r} (first in step {step_id!r}); the kit has {max(left, 0)} left"
                )
    return problems


register_folder_check(manual_supply_problems)
