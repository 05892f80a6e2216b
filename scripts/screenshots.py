"""`make screenshots`: a PNG of every console page, at 1280 px (and the home page at tablet
width), written to docs/console/.

Serves the demo tenant from a fresh data directory, makes a little activity through the Studio
Open API (benefit uses, a cancelation waiting for approval) so the pages have something to show,
and walks the console in headless Chromium (Debian's package, or OPENBENEFITS_CHROMIUM).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "console"
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], dict[str, object]]:
    executable = str(Path(sys.executable).with_name("openbenefits"))
    server = subprocess.Popen(
        [executable, "serve", "--demo", "--port", str(port)],
        env={
            **os.environ,
            "OPENBENEFITS_DATA_DIR": str(data_dir),
            "OPENBENEFITS_LOG_LEVEL": "WARNING",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert server.stdout is not None
    lines = []
    for line in server.stdout:
        lines.append(line)
        if line.startswith("API docs:"):
            break
    # The server goes on logging: read it away, so that it never blocks on a full pipe.
    threading.Thread(target=server.stdout.read, daemon=True).start()
    start = lines.index("Demo tenant loaded. Credentials:\n") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("API docs:"))
    credentials: dict[str, object] = json.loads("".join(lines[start:end]))
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return server, credentials
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the demo server did not start")


def _activity(base: str, credentials: dict[str, object]) -> None:
    """Sauna uses in Studio B by Anna of Studio A, until her contingent is used up."""
    keys = credentials["apiKeys"]
    assert isinstance(keys, dict)
    with httpx.Client(base_url=base) as client:
        for _ in range(5):
            client.post(
                "/v1/customers/1/benefits/SAUNA/use", headers={"X-API-KEY": keys["sauna-b"]}
            )


def _shoot(page: Page, name: str, path: str) -> None:
    page.goto(path)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/console/{name}.png  {path}")


def main() -> None:
    chromium = os.environ.get("OPENBENEFITS_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("Chromium is needed: apt-get install -y chromium (make chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        server, credentials = _serve(Path(data_dir), port)
        try:
            _activity(base, credentials)
            operators = credentials["operators"]
            assert isinstance(operators, dict)
            email, password = next(iter(operators.items()))
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium)
                page = browser.new_page(viewport=DESKTOP, base_url=base)
                _shoot(page, "sign-in", "/console/login")
                page.get_by_label("Email").fill(email)
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url(f"{base}/console")
                for name, path in (
                    ("home", "/console"),
                    ("studios", "/console/studios"),
                    ("integration", "/console/integrations/1"),
                    ("modules", "/console/modules"),
                    ("customers", "/console/customers"),
                    ("customer", "/console/customers/1"),
                    ("amendments", "/console/amendments"),
                    ("loyalty", "/console/loyalty"),
                    ("loyalty-contracts", "/console/loyalty/contracts?q=DEMO-GIFT-CARD"),
                    ("audit", "/console/audit"),
                    ("operators", "/console/operators"),
                    ("password", "/console/password"),
                ):
                    _shoot(page, name, path)
                page.goto("/console/loyalty/contracts?q=DEMO-GIFT-CARD")
                page.locator("table a").first.click()
                page.screenshot(path=str(OUT / "loyalty-contract.png"), full_page=True)
                print("docs/console/loyalty-contract.png  a gift card")
                page.set_viewport_size(TABLET)
                _shoot(page, "home-tablet", "/console")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
