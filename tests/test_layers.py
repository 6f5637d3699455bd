"""The package's layers: the data layer, the analytics and the worker never load the web framework, so
the worker and the command line run them without it (the HTTP edge is service/web and service/views)."""

from __future__ import annotations

import json
import subprocess
import sys

# Everything below the HTTP edge, and the worker with the schemas it shapes webhook payloads with.
_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import service
for package in ("service.repositories", "service.analytics", "service.recommending", "service.exports",
                "service.webhooks"):
    module = importlib.import_module(package)
    for found in pkgutil.walk_packages(module.__path__, package + "."):
        importlib.import_module(found.name)
for name in ("service.db", "service.config", "service.problems", "service.cursors", "service.metrics",
             "service.callers"):
    importlib.import_module(name)
from service.webhooks import delivery
delivery._schemas()
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in ("flask", "flask_smorest", "webargs"))))
"""


def test_the_data_layer_the_analytics_and_the_worker_import_without_the_web_framework():
    done = subprocess.run([sys.executable, "-c", _IMPORT_ALL], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_web_framework_is_loaded_by_the_app_factory_only_when_asked_for():
    code = ("import json, sys; import service; before = 'flask' in sys.modules; from service import create_app; "
            "print(json.dumps([before, 'flask' in sys.modules, callable(create_app)]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [False, True, True]
