"""The development CA and issuing key are created on first use in the shared instance folder:
the web app and a worker starting together must end with one CA, not one each."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from cryptography import x509

from workshop.certificates import pki

ROOT = Path(__file__).resolve().parents[2]

# One process's first use: load everything, say "ready", wait for "go", then ask for the signing
# material. Creating is slowed down and recorded (one marker file per creation), so that without
# the lock both processes would surely be creating at once.
FIRST_USE = """
import hashlib, os, sys, time
from pathlib import Path
from workshop.certificates import pki, signing

instance, markers = sys.argv[1], Path(sys.argv[2])


def recorded(name, create):
    def slow(*args, **kwargs):
        (markers / f"{name}-{os.getpid()}").touch()
        time.sleep(0.5)  # widens the window another process could step into
        return create(*args, **kwargs)

    return slow


pki._create_development_ca = recorded("ca", pki._create_development_ca)
pki.issue = recorded("signing-key", pki.issue)
print("ready", flush=True)
sys.stdin.readline()
material = signing.signing_material({}, instance)
ca_cert = material.chain_paths[0].read_bytes()
print(hashlib.sha256(ca_cert).hexdigest(), hashlib.sha256(material.cert_path.read_bytes()).hexdigest())
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_processes_using_it_first_at_once_end_with_one_ca(tmp_path):
    instance, markers = tmp_path / "instance", tmp_path / "markers"
    markers.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, str(instance), str(markers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        for process in processes:  # both start as close together as the parent can make it
            process.stdin.write("go\n")
            process.stdin.flush()
        answers = [process.communicate(timeout=120)[0].split() for process in processes]
    finally:
        for process in processes:
            process.kill() if process.poll() is None else None
    assert [process.returncode for process in processes] == [0, 0]

    # one process created the CA and the issuing key; the other waited and used them
    created = sorted(p.name.split("-")[0] for p in markers.iterdir())
    assert created == ["ca", "signing"], created
    folder = instance / pki.DEV_FOLDER
    on_disk = [sha256(folder / "ca-cert.pem"), sha256(folder / "signing-cert.pem")]
    assert answers == [on_disk, on_disk]
    ca_key, ca_cert = pki.load_ca(folder / "ca-key.pem", folder / "ca-cert.pem")
    signing_cert = x509.load_pem_x509_certificate((folder / "signing-cert.pem").read_bytes())
    signing_cert.verify_directly_issued_by(ca_cert)
    assert ca_key.public_key() == ca_cert.public_key()
    # only the finished files and the lock: no temporary file left behind
    assert sorted(p.name for p in folder.iterdir()) == [
        ".lock",
        "ca-cert.pem",
        "ca-key.pem",
        "signing-cert.pem",
        "signing-key.pem",
    ]
