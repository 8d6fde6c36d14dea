"""Real-browser tests: the app served on 127.0.0.1 from a fresh SQLite database, Debian's
Chromium driven by Playwright, and axe-core checking every page a journey visits.

Nothing is downloaded here: Chromium comes from the system (`apt-get install chromium`) and
axe-core from npm (`cd tests/e2e && npm install --no-package-lock`, see package.json). Where
either is missing the tests are skipped, and the run ends with a NOTICE saying why."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

E2E_DIR = Path(__file__).resolve().parent
ROOT = E2E_DIR.parents[1]
OUTPUT = ROOT / "test-output" / "e2e"
CHROMIUM = Path(os.environ.get("CLINIC_E2E_CHROMIUM") or "/usr/bin/chromium")
AXE = Path(os.environ.get("CLINIC_E2E_AXE") or E2E_DIR / "node_modules/axe-core/axe.min.js")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 360, "height": 800}  # the narrowest phone the interface is made for
DESKTOP = {"width": 1280, "height": 800}
# WCAG 2.0-2.2 A and AA rules plus axe's best practices; serious and critical ones fail a test.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING_IMPACTS = ("serious", "critical")
ADMIN_EMAIL = "ada.admin@harbour.example"
REPORT_KEY = pytest.StashKey[pytest.TestReport]()
# Every page checked in this run: its name in the test -> (path with ids as <id>, sizes).
CHECKED: dict[str, tuple[str, set[str]]] = {}


def why_skipped() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set CLINIC_E2E_CHROMIUM); "
            "the tests never download a browser"
        )
    if not AXE.is_file():
        return (
            f"no axe-core at {AXE} (cd tests/e2e && npm install --no-package-lock, "
            "or set CLINIC_E2E_AXE)"
        )
    return None


def _is_e2e(item: pytest.Item) -> bool:
    return E2E_DIR in Path(item.path).parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = why_skipped()
    if reason is None:
        return
    mark = pytest.mark.skip(reason=f"browser tests skipped: {reason}")
    for item in items:
        if _is_e2e(item):
            item.add_marker(mark)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    reason = why_skipped()
    if reason is not None:
        terminalreporter.write_sep("=", "NOTICE", yellow=True, bold=True)
        terminalreporter.write_line(f"NOTICE: the browser tests did not run: {reason}.")
    elif CHECKED:
        terminalreporter.write_sep("=", f"axe-core checked {len(CHECKED)} page(s)")
        for name, (path, sizes) in CHECKED.items():
            terminalreporter.write_line(f"  {name:<28} {path}  [{', '.join(sorted(sizes))}]")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call" or report.failed:
        item.stash[REPORT_KEY] = report
    return report


@dataclass
class Site:
    """The running app: where it answers, and the first admin made with the CLI."""

    base_url: str
    admin_email: str
    admin_password: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """`flask db upgrade`, `flask create-admin`, then `flask run` on 127.0.0.1, as a person
    setting up a practice would; a new instance folder (database, keys) for the run."""
    instance = tmp_path_factory.mktemp("e2e-instance")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    env["CLINIC_INSTANCE_PATH"] = str(instance)
    flask = [sys.executable, "-m", "flask", "--app", "clinic"]

    def cli(*args: str) -> str:
        done = subprocess.run(
            [*flask, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
        return done.stdout

    cli("db", "upgrade")
    printed = cli(
        "create-admin", "--email", ADMIN_EMAIL, "--name", "Ada Admin",
        "--practice", "Harbour Street Practice",
    )  # fmt: skip
    found = re.search(r"^Password: (\S.*)$", printed, re.MULTILINE)
    assert found, printed
    port = int(os.environ.get("CLINIC_E2E_PORT") or _free_port())
    with served(env, instance, port) as base_url:
        yield Site(base_url, ADMIN_EMAIL, found.group(1).strip(), instance / "server.log")


@contextmanager
def served(env: dict[str, str], instance: Path, port: int) -> Iterator[str]:
    """`flask run` on 127.0.0.1:port with this environment, its output in
    instance/server.log; yields the base URL once /sign-in answers, and stops the server."""
    base_url = f"http://127.0.0.1:{port}"
    log = instance / "server.log"
    command = [sys.executable, "-m", "flask", "--app", "clinic", "run"]
    with log.open("w") as out:
        server = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not _answers(f"{base_url}/sign-in"):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start at {base_url}:\n{log.read_text()}")
            time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless; Playwright never downloads one of its own here."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def _pattern(url: str, base_url: str) -> str:
    """The page's path with record ids and one-time tokens replaced, for the list of pages."""
    path = url.removeprefix(base_url).split("#")[0]
    path = re.sub(r"/invitation/[^/?]+", "/invitation/<token>", path)
    return re.sub(r"/\d+(?=/|$|\?)", "/<id>", path)


@dataclass
class Browsing:
    """The people in one test, each in their own browser context, and the axe checks."""

    browser: Any
    site: Site
    shots: Path
    axe_source: str
    contexts: list[Any] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    count: int = 0

    def person(self, name: str, viewport: dict[str, int] = DESKTOP) -> Any:
        """A new browser window for one person (own cookies), at the given size."""
        context = self.browser.new_context(
            base_url=self.site.base_url,
            viewport=viewport,
            locale="en-GB",
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.person = name  # type: ignore[attr-defined]
        # A script error, or the Content-Security-Policy refusing something, is a failure.
        page.on("pageerror", lambda error: self.problems.append(f"{name}: script error {error}"))
        page.on("console", lambda message: self._console(name, page, message))
        return page

    def _console(self, name: str, page: Any, message: Any) -> None:
        # An error status is the page's own business (a form with errors answers 422).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"{name}: console error on {page.url}: {message.text}")

    def check(self, page: Any, name: str) -> None:
        """Run axe-core on the page at phone and desktop widths and keep a screenshot of each.
        Serious or critical violations fail the test, listed with their elements."""
        page.wait_for_load_state("load")
        self.count += 1
        original = page.viewport_size
        found: list[str] = []
        for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page.set_viewport_size(size)
            # A long page photographed whole on a busy machine can take a while: this is a
            # record of what axe checked, not a speed test.
            page.screenshot(
                path=self.shots / f"{self.count:02d}-{name}-{size_name}.png",
                full_page=True,
                timeout=60_000,
            )
            # WCAG 1.4.10 reflow: nothing makes the whole page scroll sideways.
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                found.append(f"[{size_name}] the page is {overflow}px wider than the window")
            if not page.evaluate("() => typeof axe !== 'undefined'"):
                page.evaluate(self.axe_source)  # evaluate() is not subject to the page's CSP
            result = page.evaluate(
                "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
            )
            for violation in result["violations"]:
                if violation["impact"] in FAILING_IMPACTS:
                    targets = "; ".join(
                        " ".join(map(str, node["target"])) for node in violation["nodes"][:5]
                    )
                    found.append(
                        f"[{size_name}] {violation['id']} ({violation['impact']}): "
                        f"{violation['help']} -> {targets}"
                    )
            CHECKED.setdefault(name, (_pattern(page.url, self.site.base_url), set()))[1].add(
                f"{size['width']}x{size['height']}"
            )
        page.set_viewport_size(original)
        assert not found, f"axe-core on {name} ({page.url}):\n" + "\n".join(found)


@pytest.fixture
def browsing(
    request: pytest.FixtureRequest, browser: Any, site: Site, tmp_path: Path
) -> Iterator[Browsing]:
    """The test's browser windows; on failure every window is photographed at phone and
    desktop sizes and, with the pages checked so far, saved under test-output/e2e/."""
    shots = tmp_path / "screenshots"
    shots.mkdir()
    state = Browsing(browser, site, shots, AXE.read_text(encoding="utf-8"))
    yield state
    report = request.node.stash.get(REPORT_KEY, None)
    failed = report is not None and report.failed
    if failed:
        for n, context in enumerate(state.contexts):
            for page in context.pages:
                for size_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
                    try:
                        page.set_viewport_size(size)
                        page.screenshot(
                            path=shots / f"failed-{n}-{page.person}-{size_name}.png",
                            full_page=True,
                        )
                    except Exception:
                        continue
    for context in state.contexts:
        context.close()
    if failed or os.environ.get("CLINIC_E2E_SCREENSHOTS") == "always":
        target = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.name)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(shots, target)
        shutil.copy(site.log, target / "server.log")
    assert not state.problems or failed, "\n".join(state.problems)


@pytest.fixture
def check(browsing: Browsing) -> Callable[[Any, str], None]:
    return browsing.check
