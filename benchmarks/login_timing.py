"""How long a failed login takes for a real username and for an unknown one.

Both must cost one password hash (scrypt, as in production), so that the time of the answer
does not tell whether an account exists. Prints the median and spread of each over N attempts,
each from its own client address so that throttling stays out of the way.

    PYTHONPATH=. python benchmarks/login_timing.py [--attempts 15]
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import tempfile
import time

import sqlalchemy as sa
from flask_migrate import upgrade

from workshop import create_app
from workshop.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--attempts", type=int, default=15)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, folder, True)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{os.path.join(folder, 'bench.sqlite')}",
            "SECRET_KEY": "benchmark",
            "WTF_CSRF_ENABLED": False,
            "LOGIN_THROTTLE_FREE_PER_IP": 10_000,
        }
    )
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        from workshop.accounts import services

        services.create_user(
            username="somchai",
            full_name="S",
            password="correct-horse-battery",
            roles=["admin"],
            all_centres=True,
        )
        db.session.commit()
    client = app.test_client()
    timings: dict[str, list[float]] = {"real username": [], "unknown username": []}
    for i in range(args.attempts):
        for label, username in (("real username", "somchai"), ("unknown username", "nobody")):
            start = time.perf_counter()
            r = client.post(
                "/login",
                data={"username": username, "password": f"wrong-password-{i}"},
                environ_base={"REMOTE_ADDR": f"10.{i}.{len(label)}.1"},
            )
            timings[label].append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200
            with app.app_context():  # keep the username's back-off out of the measurement
                from workshop.accounts.models import LoginThrottle

                db.session.execute(sa.delete(LoginThrottle))
                db.session.commit()
    print(f"failed logins, {args.attempts} each, scrypt (production hashing):")
    for label, values in timings.items():
        print(
            f"  {label:<17} median {statistics.median(values):6.1f} ms   "
            f"min {min(values):6.1f}   max {max(values):6.1f}"
        )


if __name__ == "__main__":
    main()
