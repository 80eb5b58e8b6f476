"""Headless Chromium against the stack of ``make airflow-ui`` (``airflow/imdb_ui/stack.py``).

The browser is the distribution's Chromium and chromedriver (``make setup-browser``), driven
with Selenium; without them every browser test skips and says why. Each user gets a fresh
browser profile; screenshots go to the test's own ``tmp_path``.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
for _path in ("airflow", "dags"):  # as Airflow puts them on sys.path
    sys.path.insert(0, str(REPO_ROOT / _path))

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # we are root here; Chromium's sandbox refuses to run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)
WAIT_SECONDS = 30
DAG_LINK = re.compile(r"/dags/([A-Za-z0-9_.-]+)$")
DAG_COUNT = re.compile(r"\b(\d+) Dags?\b")
NO_DAGS = "No Dags found"


def _binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("headless Chromium or chromedriver is not installed (make setup-browser installs them)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (make setup)")
    return chromium, driver


class Ui:
    """One logged-in user in one headless Chromium."""

    def __init__(self, driver: Any, base_url: str, shots: Path, user: str) -> None:
        self.driver = driver
        self.base_url = base_url
        self.shots = shots
        self.user = user
        self._shot = 0

    def screenshot(self, what: str) -> Path:
        self._shot += 1
        path = self.shots / f"{self._shot:02d}-{self.user}-{what}.png"
        self.driver.save_screenshot(str(path))
        return path

    def wait(self, condition: Callable[[Any], Any], what: str, timeout: float = WAIT_SECONDS) -> Any:
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.25).until(condition)
        except TimeoutException:
            shot = self.screenshot(f"timeout-{what}")
            pytest.fail(f"{self.user}: no {what} within {timeout:.0f}s; screenshot {shot}")

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def login(self, password: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.get(self.base_url + "auth/login/")
        self.wait(lambda d: d.find_elements(By.NAME, "username"), "login form")
        self.driver.find_element(By.NAME, "username").send_keys(self.user)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
        self.wait(lambda d: "/auth/login" not in d.current_url, "redirect after login")

    def open(self, path: str, until_text: str | re.Pattern[str], what: str) -> str:
        """Open ``path`` and wait until the page shows ``until_text``; the page's text."""
        self.driver.get(self.base_url + path.lstrip("/"))

        def shown(_: Any) -> bool:
            text = self.text()
            return bool(until_text.search(text)) if isinstance(until_text, re.Pattern) else until_text in text

        self.wait(shown, what)
        return self.text()

    def listed_dags(self) -> set[str]:
        """The DAG ids on the DAG list page, once it has loaded.

        While loading, the page says "0 Dags" over grey placeholders; it is done when it says
        "No Dags found", or when it shows as many DAG links as its count.
        """
        from selenium.webdriver.common.by import By

        self.driver.get(self.base_url + "dags")

        # A 1-tuple, since WebDriverWait takes an empty set for "not yet".
        def loaded(d: Any) -> tuple[set[str]] | None:
            text = self.text()
            if NO_DAGS in text:
                return (set(),)
            count = DAG_COUNT.search(text)
            found = {
                m.group(1)
                for a in d.find_elements(By.CSS_SELECTOR, "a[href*='/dags/']")
                if (m := DAG_LINK.search(a.get_attribute("href") or ""))
            }
            return (found,) if count and int(count.group(1)) == len(found) > 0 else None

        (found,) = self.wait(loaded, "loaded DAG list")
        self.screenshot("dag-list")
        return found


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    return _binaries()


@pytest.fixture(scope="module")
def _sessions(chromium: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Ui]]:
    """One logged-in browser per user for a test module (a Chromium start and login cost seconds)."""
    sessions: dict[str, Ui] = {}
    yield sessions
    for ui in sessions.values():
        ui.driver.quit()


@pytest.fixture
def browser(
    chromium: tuple[str, str], _sessions: dict[str, Ui], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Any, str], Ui]:
    """``browser(stack, user)``: ``user`` logged in to ``stack``; screenshots go to this test's ``tmp_path``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium

    def open_as(stack: Any, user: str) -> Ui:
        ui = _sessions.get(user)
        if ui is None:
            options = webdriver.ChromeOptions()
            options.binary_location = binary
            for flag in CHROMIUM_FLAGS:
                options.add_argument(flag)
            profile = tempfile.mkdtemp(prefix=f"chromium-{user}-", dir=tmp_path_factory.getbasetemp())
            options.add_argument(f"--user-data-dir={profile}")
            driver = webdriver.Chrome(options=options, service=Service(driver_path))
            driver.set_page_load_timeout(WAIT_SECONDS)
            ui = _sessions[user] = Ui(driver, stack.url, tmp_path, user)
            ui.login(stack.login(user).password)
        ui.shots = tmp_path
        return ui

    return open_as
