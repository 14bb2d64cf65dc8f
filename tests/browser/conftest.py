"""A headless Chromium for the dashboard tests: a missing browser fails them loudly, never skips them."""

from __future__ import annotations

import pytest

from tests.browser.cdp import Browser, BrowserUnavailable


@pytest.fixture(scope="session")
def browser():
    try:
        opened = Browser()
    except BrowserUnavailable as error:
        pytest.fail(f"the dashboard tests need a headless Chromium: {error}", pytrace=False)
    yield opened
    opened.close()
