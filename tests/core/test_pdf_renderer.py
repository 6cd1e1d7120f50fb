"""The shared PDF renderer pauses the cyclic garbage collector while WeasyPrint lays out and never
leaves it off: not after a render, not after a failed one, not when it was off before. It keeps
one font configuration per thread and template between renders, and the PDF stays the same."""

import gc
import io
import shutil
import threading

import pypdfium2
import pytest
from pypdf import PdfReader

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


DEMO = "certificates/pdf_demo_document.html"
DEMO_CONTEXT = {"title_th": "ทดสอบ", "title_en": "Test", "body_th": "ตัวอย่าง", "body_en": "Sample"}


def pdf_text(data: bytes) -> list[str]:
    pdf = pypdfium2.PdfDocument(data)
    try:
        return [page.get_textpage().get_text_range() for page in pdf]
    finally:
        pdf.close()


def embedded_fonts(data: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1].split("-")[0])
    return fonts


def test_font_configuration_kept_per_thread_and_template(app):
    from workshop.pdf import font_configuration, render_pdf

    with app.test_request_context():
        first = render_pdf(DEMO, DEMO_CONTEXT)
        config = font_configuration(DEMO)
        second = render_pdf(DEMO, DEMO_CONTEXT)
    assert font_configuration(DEMO) is config
    assert font_configuration("certificates/pdf_handover.html") is not config
    # The fonts WeasyPrint registered with the kept configuration serve the next render.
    assert pdf_text(second) == pdf_text(first) and "ตัวอย่าง" in pdf_text(second)[0]
    assert embedded_fonts(second) == embedded_fonts(first) == {"Sarabun"}
    other = []
    thread = threading.Thread(target=lambda: other.append(font_configuration(DEMO)))
    thread.start()
    thread.join()
    assert other[0] is not config


def test_font_configuration_replaced_when_its_font_files_are_gone(app):
    from workshop.pdf import font_configuration, render_pdf

    with app.test_request_context():
        render_pdf(DEMO, DEMO_CONTEXT)
        config = font_configuration(DEMO)
        shutil.rmtree(config._folder)  # what a /tmp cleaner does to a long-running worker
        pdf = render_pdf(DEMO, DEMO_CONTEXT)
    assert font_configuration(DEMO) is not config
    assert "ตัวอย่าง" in pdf_text(pdf)[0]
