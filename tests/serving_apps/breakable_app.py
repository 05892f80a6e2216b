"""pid_app, but importing it fails while the file SERVING_TEST_BROKEN names exists: a server
whose processes stop starting after it served (tests/test_serving.py)."""

import os
from pathlib import Path

from tests.serving_apps.pid_app import app

if Path(os.environ["SERVING_TEST_BROKEN"]).exists():
    raise RuntimeError("broken on purpose")

__all__ = ["app"]
