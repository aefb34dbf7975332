"""Starting Django loads none of the ads services: the auction, its snapshot, budget holds and
the outbox are imported by what uses them (the answer path, the ads API, the worker), not by
every process that calls django.setup()."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOADED = "print(sorted(m for m in sys.modules if m.startswith('ads.services')))"


def _ads_services_loaded(after_setup: str = "") -> str:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, django; django.setup(); {after_setup}{LOADED}"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip()


def test_django_setup_imports_no_ads_services():
    assert _ads_services_loaded() == "[]"


def test_the_probe_sees_the_ads_services_once_something_imports_them():
    loaded = _ads_services_loaded("import ads.services; ")
    assert "'ads.services.placement.snapshot'" in loaded
    assert "'ads.services.placement.outbox'" in loaded
    assert "'ads.services.auction.engine'" in loaded
