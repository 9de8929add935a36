"""Headless Chromium (Debian's, never a downloaded one) over the real server: home → agreement, matrix,
and a query run in YASGUI. Screenshots go to test-artifacts/ (git-ignored)."""

from __future__ import annotations

from support.browser import ARTIFACTS


def test_home_to_agreement_and_matrix(browser: object, server: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/", wait_until="load")
    assert page.title().startswith("Remit")
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Agreements").click()
    page.wait_for_url("**/agreements.html")
    page.get_by_role("link", name="Fixture memorandum of understanding between Alpha and Beta").click()
    page.wait_for_url("**/id/agreement/fixture-alpha-beta.html")
    assert page.get_by_role("heading", level=1).inner_text() == "Fixture memorandum of understanding between Alpha and Beta"
    assert page.get_by_text("No lead named").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "agreement.png"), full_page=True)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Remit matrix").click()
    page.wait_for_url("**/matrix.html")
    cell = page.get_by_role("link", name="inspection for prison", exact=False)
    assert cell.count() == 1
    page.screenshot(path=str(ARTIFACTS / "matrix.png"), full_page=True)
    cell.click()
    page.wait_for_url("**/matrix/prison/inspection.html")
    page.get_by_role("link", name="Joint inspection of prison healthcare").first.click()
    page.wait_for_url("**/area-1.html")
    assert page.get_by_text("Areas for joint work, item 1").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "area.png"), full_page=True)
    # the skip link is the first thing a keyboard user reaches
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    assert not errors, errors
    page.close()


def test_yasgui_runs_a_query_and_shows_rows(browser: object, server: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    query = "SELECT ?body ?label WHERE { ?body a <https://w3id.org/remit/def/Inspectorate> ; <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?label"
    from urllib.parse import quote

    page.goto(server + "/ui?query=" + quote(query), wait_until="load")
    page.wait_for_function("window.remitYasgui !== undefined", timeout=20_000)
    page.wait_for_selector(".yasr:visible table tbody tr", timeout=30_000)
    rows = page.locator(".yasr:visible table tbody tr")
    assert rows.count() == 2
    text = page.locator(".yasr:visible").inner_text()
    assert "Fixture Inspectorate Alpha" in text and "Fixture Inspectorate Gamma" in text
    tab_names = page.locator(".tabsList a, .tabsList [role=tab]").all_inner_texts()
    assert any("overlaps" in t for t in tab_names), tab_names
    page.screenshot(path=str(ARTIFACTS / "yasgui.png"), full_page=True)
    page.close()
