"""The shared PDF renderer pauses the cyclic garbage collector while WeasyPrint lays out and never
leaves it off: not after a render, not after a failed one, not when it was off before."""

import gc

import pytest

from workshop.pdf import collector_paused


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_back_on_after(collector_on):
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_after_a_failure(collector_on):
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("layout failed")
    assert gc.isenabled()


def test_nested_and_overlapping_pauses_end_with_it_on(collector_on):
    outer = collector_paused()
    outer.__enter__()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the outer render still runs
    outer.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off(collector_on):
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()
    gc.enable()


def test_a_render_leaves_it_on(app, collector_on):
    from workshop.pdf import render_pdf

    with app.test_request_context():
        pdf = render_pdf(
            "certificates/pdf_demo_document.html",
            {"title_th": "ทดสอบ", "title_en": "Test", "body_th": "ทดสอบ", "body_en": "Test"},
        )
    assert pdf.startswith(b"%PDF-")
    assert gc.isenabled()
