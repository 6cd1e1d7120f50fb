"""Certificate speed: issue, render and sign, next to a minimal render with the same font; and the
download of a stored PDF next to a static file of the same size.

The job is built for real (every step of the Honda Jazz manual signed, an EOL run on a
development bay, sign-offs, an approved inspection) in a throw-away SQLite database, then:

- ``minimal``: WeasyPrint renders two A4 pages of Thai and English text in Sarabun (the floor any
  certificate render pays);
- ``render``: the certificate's template and data, rendered (no signature);
- ``data``: the issuing rule's blockers and the certificate's context (the SQL and kit reads);
- ``sign``: the three PAdES signatures an issued certificate carries (two engineers, the centre);
- ``issue``: ``issue_certificate`` end to end (blockers, numbering, render, sign, store), timed
  on fresh approved jobs;
- ``download``: GET of the stored PDF through the app, against a static file of the same size
  served by the same app (requests per second, in-process).

Prints a table and ends with one machine-readable line:
``RESULT certificate_ratio=<issue / minimal> render_ratio=<render / minimal> download_ratio=<...>``.

    .venv/bin/python benchmarks/certificates.py [--quick]
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MINIMAL = """<!doctype html><html><head><meta charset="utf-8"><style>
@font-face { font-family: "Sarabun"; src: url("workshop:font/Sarabun-Regular.ttf"); }
@font-face { font-family: "Sarabun"; src: url("workshop:font/Sarabun-Bold.ttf"); font-weight: bold; }
@page { size: A4; margin: 15mm; } body { font-family: "Sarabun"; font-size: 9pt; }
.page { page-break-after: always; }
</style></head><body>
<div class="page"><h1>ใบรับรองการดัดแปลงรถยนต์ · Certificate of conversion</h1>{rows}</div>
<div class="page"><h2>ภาคผนวก · Annex</h2>{rows}</div>
</body></html>"""
ROW = "<p>รายการทดสอบ EOL ผ่านทุกรายการ · every EOL check passed · {n}</p>"


def timed(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of ``repeat`` calls (CPU time says what the step costs when
    other work shares the cores; wall time what a user waits)."""
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 3 if args.quick else 8
    jobs_to_issue = 2 if args.quick else 5

    folder = tempfile.mkdtemp(prefix="cert-bench-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ["WORKSHOP_INSTANCE_PATH"] = folder
    from workshop import create_app
    from workshop.certificates import demo, services
    from workshop.certificates import pdf as pdfs
    from workshop.certificates.signing import centre_signature, sign_all, signing_material
    from workshop.columns import utcnow
    from workshop.extensions import db
    from workshop.inspection import services as inspection
    from workshop.jobs import services as jobs
    from workshop.kits.loader import load_kits
    from workshop.manuals.loader import load_manuals

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "PUBLIC_BASE_URL": "http://bench.test",
            "EOL_BENCHES": {
                "BAY-B": {
                    "interface": "virtual",
                    "channel": "bench",
                    "centre": "BNC01",
                    "car": "simulated",
                }
            },
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        from workshop.accounts import services as accounts
        from workshop.accounts.models import Role
        from workshop.accounts.services import grant_qualification

        centre = accounts.create_centre(
            code="BNC01", name_th="ศูนย์ทดสอบ", name_en="Bench centre", province="BKK"
        )

        def user(name, role, **kw):
            return accounts.create_user(
                username=name, full_name=name, password="bench-password-2569", roles=[role], **kw
            )

        tech = user("tech", Role.TECHNICIAN, centre=centre)
        supervisor = user("sup", Role.SUPERVISOR, centre=centre)
        inspector = user("insp", Role.INSPECTOR, extra_centres=[centre])
        mech = user("mech", Role.INSPECTOR, extra_centres=[centre])
        elec = user("elec", Role.SUPERVISOR, centre=centre)
        for u in (tech, supervisor):
            for code in ("hv_awareness", "hv_qualified", "hv_live", "eol_operator"):
                grant_qualification(u, code)
            grant_qualification(u, "conversion_honda_jazz")
        expires = utcnow() + timedelta(days=365)
        inspection.record_licence(mech, "mechanical", "สก.1", expires, None)
        inspection.record_licence(elec, "electrical", "ภฟ.2", expires, None)
        db.session.commit()
        # Each engineer signs the certificate with their own key (from the development CA).
        from workshop.certificates.engineer_keys import enrol_from_ca

        for engineer in (mech, elec):
            enrol_from_ca(engineer, app.config, app.instance_path)
        db.session.commit()
        manual, kit = load_manuals()["honda-jazz-ge"], load_kits()["jazz-ev1"]

        def approved_job(n: int):
            intake = jobs.Intake(
                vin=f"MRHGE8840BP9{n:05d}",
                plate="1กก 1111",
                province="BKK",
                make="Honda",
                model="Jazz",
                year=2011,
                colour="ขาว",
                engine_number="L15A7-1",
                odometer_km=100000,
                curb_weight_kg=1040,
                owner_name="เจ้าของ",
                owner_phone="080 000 0000",
                owner_national_id="1453832364051",
            )
            job = jobs.open_job(centre, intake, manual, supervisor, kit=kit)
            db.session.commit()
            demo.receive_full_kit(centre, supervisor, kit, f"B-{n}", f"B{n}")
            db.session.commit()
            demo.sign_every_step(job, tech, supervisor, app.config["UPLOAD_FOLDER"])
            demo.run_passing_eol(app, job, tech, "BAY-B")
            jobs.submit_for_inspection(job, supervisor)
            db.session.commit()
            demo.approve_with_signoffs(job, inspector, mech, elec)
            return job

        print(f"building {jobs_to_issue + 1} approved jobs ...", flush=True)
        prepared = [approved_job(n) for n in range(jobs_to_issue + 1)]

        from weasyprint import HTML

        rows = "".join(ROW.format(n=n) for n in range(40))
        minimal_html = MINIMAL.replace("{rows}", rows)

        def render_minimal():
            fetcher = pdfs.RestrictedFetcher()
            return HTML(string=minimal_html, base_url="workshop:", url_fetcher=fetcher).write_pdf()

        render_minimal()  # warm fonts and caches
        minimal = timed(render_minimal, repeat)

        sample = prepared[0]
        number = "BNC01-2569-9999"

        def gather():
            assert services.certificate_blockers(sample) == []
            return pdfs.certificate_context(
                sample, number=number, issued_at=utcnow(), verify_url="http://bench.test/v/x"
            )

        context = gather()
        data = timed(gather, repeat)
        material = signing_material(app.config, app.instance_path)
        # As issued: a development bay and key print the DEVELOPMENT mark and watermark.
        context["development"] = services.certificate_development_reasons(sample, material)
        render = timed(lambda: pdfs.render_certificate(context), repeat)
        if os.environ.get("CERT_BENCH_PROFILE"):
            import cProfile
            import pstats

            cProfile.runctx(
                "pdfs.render_certificate(context)", globals(), locals(), "/tmp/cert.prof"
            )
            pstats.Stats("/tmp/cert.prof").sort_stats("cumulative").print_stats(25)
        unsigned = pdfs.render_certificate(context)
        signatures = [
            *services.engineer_signatures(sample, number),
            centre_signature(material, reason="bench", location="bench", appearance=["bench"]),
        ]
        assert len(signatures) == 3
        sign = timed(lambda: sign_all(unsigned, signatures), repeat)
        issue = [], []
        issued = None
        for job in prepared[1:]:
            t0, c0 = time.perf_counter(), time.process_time()
            issued = services.issue_certificate(job, inspector)
            db.session.commit()
            issue[0].append(time.perf_counter() - t0)
            issue[1].append(time.process_time() - c0)

        client = app.test_client()
        client.post("/login", data={"username": "insp", "password": "bench-password-2569"})
        static = Path(app.static_folder) / "bench-same-size.pdf"
        static.write_bytes(b"%PDF-" + b"x" * (issued.pdf_size - 5))
        try:
            n = 60 if args.quick else 200

            def rate(url):
                t0 = time.perf_counter()
                for _ in range(n):
                    # Each request in its own application context, hence its own database
                    # session, as a server runs them: the benchmark's session already holds the
                    # certificate it issued, and a request sharing it read nothing.
                    with app.app_context():
                        r = client.get(url)
                        assert r.status_code == 200, (url, r.status_code)
                        r.close()
                return n / (time.perf_counter() - t0)

            # In turns, so that a slow spell of the shared machine slows both alike.
            turns = [
                (rate(f"/certificates/{issued.id}/pdf"), rate("/static/bench-same-size.pdf"))
                for _ in range(5)
            ]
            download_rps = statistics.mean(d for d, _ in turns)
            static_rps = statistics.mean(s for _, s in turns)
        finally:
            static.unlink()

    med = statistics.median
    table = [
        ("minimal two-page render", minimal),
        ("blockers + certificate data", data),
        ("certificate render", render),
        ("three signatures", sign),
        ("issue (blockers + render + sign + store)", issue),
    ]
    print(f"\n{'step':<44} {'median s':>9} {'x minimal':>10} {'cpu s':>8} {'x minimal':>10}")
    for name, (wall, cpu) in table:
        print(
            f"{name:<44} {med(wall):>9.3f} {med(wall) / med(minimal[0]):>10.2f} "
            f"{med(cpu):>8.3f} {med(cpu) / med(minimal[1]):>10.2f}"
        )
    print(f"\n{'download':<44} {'req/s':>9}")
    print(f"{'stored certificate PDF':<44} {download_rps:>9.0f}")
    print(f"{'static file of the same size':<44} {static_rps:>9.0f}")
    print(
        f"RESULT certificate_ratio={med(issue[0]) / med(minimal[0]):.2f} "
        f"render_ratio={med(render[0]) / med(minimal[0]):.2f} "
        f"download_ratio={download_rps / static_rps:.2f}"
    )


if __name__ == "__main__":
    main()
