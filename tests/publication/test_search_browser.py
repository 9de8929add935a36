"""Search as people use it (issue 14): headless Chromium (Debian's) on a real server over a copy of the real
build types a misspelt establishment name into the search box in the header of the home page, submits it,
reads the corrected, marked result and follows its link. A screenshot goes to test-artifacts/ (git-ignored)."""

from __future__ import annotations

from typing import Any

from support.browser import ARTIFACTS


def test_a_misspelt_establishment_is_found_from_the_header_box(browser: Any, real_server: str) -> None:
    server = real_server  # the session's server on a copy of the real build (tests/publication/conftest.py)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server + "/", timeout=120_000)
    box = page.get_by_role("search", name="Site search").get_by_role("searchbox")
    box.fill("Harmondsworht")
    box.press("Enter")
    page.wait_for_url("**/search?q=Harmondsworht", timeout=60_000)
    assert page.title() == "Search: Harmondsworht · Remit"
    assert "Showing results for harmondsworth" in page.locator(".search-corrected").inner_text()
    first = page.locator("ol.search-results > li").first
    link = first.locator(".search-title a")
    assert link.inner_text() == "Harmondsworth Immigration Removal Centre"
    assert first.locator("mark").first.inner_text() == "Harmondsworth"
    assert first.locator(".search-kind").inner_text() == "establishment"
    page.screenshot(path=str(ARTIFACTS / "search-harmondsworth.png"), full_page=True)
    # the same box on the results page, and a page at most as wide as the window
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    link.click(no_wait_after=True)
    page.wait_for_url("**/id/setting/harmondsworth-irc.html", wait_until="commit", timeout=180_000)
