"""The course catalogue is data, validated on load with file, place and problem."""

import pytest

from workshop.accounts.qualifications import qualification_types
from workshop.training.courses import CourseFileError, course_catalogue, load_courses


def test_catalogue_loads_and_covers_every_qualification():
    courses = course_catalogue()
    granted = {q for c in courses.values() for q in c.grants}
    assert granted == set(qualification_types())
    hv = courses["HV-QP"]
    assert hv.prerequisites == ["hv_awareness"] and hv.pass_rules.practical_required
    assert hv.syllabus("en") and hv.title("th") != hv.title("en")


GOOD = """
[[course]]
code = "X-1"
title_th = "ก"
title_en = "A"
hours = 4
prerequisites = []
grants = ["hv_awareness"]
syllabus_th = ["ก"]
syllabus_en = ["a"]
[course.pass_rules]
min_theory_percent = 70
practical_required = false
min_attendance_percent = 100
"""


@pytest.mark.parametrize(
    "text, where",
    [
        (
            GOOD.replace('grants = ["hv_awareness"]', 'grants = ["hv_wizard"]'),
            "course[0].grants[0]: unknown qualification 'hv_wizard'",
        ),
        (
            GOOD.replace("prerequisites = []", 'prerequisites = ["nope"]'),
            "course[0].prerequisites[0]: unknown qualification",
        ),
        (
            GOOD.replace("min_theory_percent = 70", "min_theory_percent = 170"),
            "course[0].pass_rules.min_theory_percent",
        ),
        (GOOD.replace("hours = 4\n", ""), "course[0].hours: Field required"),
        (GOOD + GOOD, "course[1].code: duplicate course code 'X-1'"),
        ("[[course]\n", "courses.toml: "),
    ],
)
def test_broken_catalogue_names_file_place_and_problem(tmp_path, text, where):
    path = tmp_path / "courses.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CourseFileError) as exc:
        load_courses(path)
    assert str(path) in str(exc.value) and where in str(exc.value)


def test_good_file_loads(tmp_path):
    path = tmp_path / "courses.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert list(load_courses(path)) == ["X-1"]
