"""What starting the app costs: no password hashing and no ReportLab or font loading at import
or in create_app(); clinic.warm() and clinic.settle_heap() do that work once, where gunicorn's
master calls them before forking (deploy/gunicorn.conf.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from argon2 import PasswordHasher

from clinic import accounts

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter: counts Argon2 hashes and font registrations made while the app
# is imported and created, then warms it and settles the heap as gunicorn's master does.
PROBE = """
import gc, json, sys
import argon2
from reportlab.pdfbase import pdfmetrics  # imported only to count registrations

calls = {"hash": 0, "font": 0}
real_hash, real_register = argon2.PasswordHasher.hash, pdfmetrics.registerFont

def counting_hash(self, *args, **kwargs):
    calls["hash"] += 1
    return real_hash(self, *args, **kwargs)

def counting_register(*args, **kwargs):
    calls["font"] += 1
    return real_register(*args, **kwargs)

argon2.PasswordHasher.hash = counting_hash
pdfmetrics.registerFont = counting_register
for name in [m for m in sys.modules if m.startswith("reportlab.platypus")]:
    del sys.modules[name]

import clinic
from clinic import accounts
app = clinic.create_app({"DATABASE_URL": sys.argv[1]})
with app.test_request_context():
    pass
started = dict(calls, platypus="reportlab.platypus" in sys.modules)
clinic.warm()
clinic.settle_heap()
print(json.dumps({
    "started": started,
    "warmed": dict(calls, platypus="reportlab.platypus" in sys.modules),
    "thresholds": list(gc.get_threshold()),
    "frozen": gc.get_freeze_count(),
    "dummy_hash": accounts._DUMMY_HASH,
}))
"""


def probe(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    environ |= {"CLINIC_INSTANCE_PATH": str(tmp_path / "instance"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, f"sqlite:///{tmp_path / 'start.sqlite3'}"],
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,  # not the checkout: PYTHONPATH says which clinic is imported
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout.splitlines()[-1])  # type: ignore[type-arg]
    return result


def test_starting_the_app_hashes_nothing_and_loads_no_fonts_then_warm_does(tmp_path):
    found = probe(tmp_path)
    assert found["started"] == {"hash": 0, "font": 0, "platypus": False}
    # warm() loads the report modules and registers every embedded font, once.
    assert found["warmed"]["platypus"] is True
    assert found["warmed"]["font"] >= 5
    assert found["warmed"]["hash"] == 0
    import clinic

    assert found["thresholds"] == list(clinic.GC_THRESHOLDS)
    assert found["frozen"] > 10_000


def test_the_unknown_account_hash_is_made_with_todays_parameters(tmp_path):
    """A sign-in with an unknown email verifies a fixed hash so that it costs as much as a
    wrong password: that holds only while the hash has the parameters real hashes get."""
    dummy = probe(tmp_path)["dummy_hash"]
    hasher = PasswordHasher(**accounts.HASH_PARAMETERS)
    assert dummy.startswith("$argon2id$")
    assert not hasher.check_needs_rehash(dummy)
