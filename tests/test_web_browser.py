"""The web page in a real browser (Chromium from the OS packages, driven by Playwright).

Each step is screenshotted into the test's tmp_path and copied to /tmp/web-screenshots/.
Without Chromium these tests FAIL with the command that installs it: they are never skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from batch_uploader.paths import CONFIG_DIR_ENV
from tests.web_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    INSTALL_CHROMIUM,
    LiveServer,
    live_server,
    sandbox_settings,
    save_screenshot,
    shipments_csv,
)

VIEWPORT = {"width": 1280, "height": 800}
SEND_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(INSTALL_CHROMIUM, pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(sandbox_settings(tmp_path)) as live:
        yield live


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    opened = context.new_page()
    opened.goto(server.url)
    yield opened
    context.close()


def progress_of(page: Page) -> tuple[int, int]:
    bar = page.get_by_role("progressbar")
    return int(bar.get_attribute("aria-valuenow") or 0), int(
        bar.get_attribute("aria-valuemax") or 0
    )


def test_choose_files_see_columns_and_invalid_rows_then_remap(
    page: Page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Choosing a file shows format, Columns, counts and Invalid rows; a new column re-checks."""
    monkeypatch.setenv(CONFIG_DIR_ENV, str(tmp_path / "config"))
    source = shipments_csv(tmp_path / "orders.csv", 6, invalid=2)
    page.get_by_label("Shipment files").set_input_files(source)
    columns = page.get_by_role("table", name="Columns")
    expect(columns).to_be_visible()
    expect(page.get_by_text("Detected format")).to_be_visible()
    tracking = page.get_by_label("Column for Tracking Number")
    expect(tracking).to_have_value("Tracking Number")
    invalid = page.get_by_role("table", name="Invalid rows")
    expect(invalid.get_by_role("row")).to_have_count(1 + 2)  # header + the two bad rows
    expect(invalid).to_contain_text("Quantity")
    expect(invalid).to_contain_text("two")
    expect(page.locator("#count-rows")).to_have_text("8")
    expect(page.locator("#count-invalid")).to_have_text("2")
    save_screenshot(page, tmp_path, "01-chosen-file-columns-invalid-rows")

    tracking.select_option("Alt Tracking")
    expect(page.locator("#count-invalid")).to_have_text("5")  # 3 blank Alt Tracking + 2 bad
    expect(invalid.get_by_role("row")).to_have_count(1 + 5)
    expect(page.get_by_label("Column for Tracking Number")).to_be_focused()
    page.get_by_label("Profile name").fill("my-warehouse")
    page.get_by_role("button", name="Save as profile").click()
    expect(page.get_by_text('Saved profile "my-warehouse"')).to_be_visible()
    assert (tmp_path / "config" / "profiles" / "my-warehouse.toml").is_file()
    save_screenshot(page, tmp_path, "02-mapping-changed-and-saved-as-profile")

    # Keyboard: Tab reaches the buttons, and the focused one shows a visible outline.
    page.get_by_role("button", name="Send").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_focused()
    outline = send.evaluate("b => getComputedStyle(b).outlineStyle")
    assert outline != "none"
    expect(page.get_by_role("button", name="Save as profile")).to_be_visible()
    expect(page.get_by_role("button", name="Check against Flxpoint")).to_be_visible()


def test_send_watch_progress_reload_and_download(page: Page, tmp_path: Path) -> None:
    """Send to the sandbox: the bar reaches the total across a reload; the workbook reads back."""
    source = shipments_csv(tmp_path / "reload.csv", 12)
    page.get_by_label("Shipment files").set_input_files(source)
    expect(page.get_by_role("table", name="Columns")).to_be_visible()
    page.get_by_role("button", name="Send").click()
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuemax", "12")
    expect(bar).not_to_have_attribute("aria-valuenow", "0", timeout=10_000)
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(page.get_by_text(re.compile(r"requests/s"))).to_be_visible()
    save_screenshot(page, tmp_path, "03-sending")

    page.reload()
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuemax", "12")
    done_before, _ = progress_of(page)
    assert done_before < 12, "the reload happened while sending"
    save_screenshot(page, tmp_path, "04-reloaded-while-sending")

    expect(bar).to_have_attribute("aria-valuenow", "12", timeout=SEND_TIMEOUT_MS)
    link = page.get_by_role("link", name="Download results workbook")
    expect(link).to_be_visible(timeout=SEND_TIMEOUT_MS)
    save_screenshot(page, tmp_path, "05-sent-download-link")
    with page.expect_download() as info:
        link.click()
    saved = tmp_path / "downloaded.xlsx"
    info.value.save_as(saved)
    assert info.value.suggested_filename.endswith("-results.xlsx")
    workbook = openpyxl.load_workbook(saved, read_only=True)
    results = list(workbook["Results"].iter_rows(values_only=True))
    status = results[0].index("Status")
    assert [row[status] for row in results[1:]] == ["created"] * 12
    past = page.get_by_role("region", name="Past runs")
    expect(past).to_contain_text("reload.csv")


def test_retry_failed_rows_from_past_runs(page: Page, tmp_path: Path) -> None:
    """A run with bad rows shows them inline; Retry failed rows in Past runs re-sends them."""
    source = shipments_csv(tmp_path / "with-bad-rows.csv", 3, invalid=2)
    page.get_by_label("Shipment files").set_input_files(source)
    expect(page.get_by_role("table", name="Invalid rows")).to_be_visible()
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("link", name="Download results workbook")).to_be_visible(
        timeout=SEND_TIMEOUT_MS
    )
    failed = page.get_by_role("table", name="Failed rows")
    expect(failed.get_by_role("row")).to_have_count(1 + 2)
    expect(failed).to_contain_text("invalid")
    save_screenshot(page, tmp_path, "06-done-with-failed-rows")

    past = page.get_by_role("region", name="Past runs")
    expect(past.get_by_role("row")).to_have_count(1 + 1)
    past.get_by_role("button", name="Retry failed rows").first.click()
    expect(page.get_by_role("link", name="Download results workbook")).to_be_visible(
        timeout=SEND_TIMEOUT_MS
    )
    expect(past.get_by_role("row")).to_have_count(1 + 2, timeout=SEND_TIMEOUT_MS)
    # The retry read the first run's workbook (its Failed sheet).
    expect(past).to_contain_text(re.compile(r"with-bad-rows-\d{8}-\d{6}-results\.xlsx"))
    save_screenshot(page, tmp_path, "07-retried-from-past-runs")


def test_stop_writes_the_workbook(page: Page, tmp_path: Path) -> None:
    """Stop ends sending like Ctrl-C: rows not sent are marked, the workbook is offered."""
    source = shipments_csv(tmp_path / "stop.csv", 12)
    page.get_by_label("Shipment files").set_input_files(source)
    page.get_by_role("button", name="Send").click()
    bar = page.get_by_role("progressbar")
    expect(bar).not_to_have_attribute("aria-valuenow", "0", timeout=10_000)
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text(re.compile(r"^Stopped\. What was sent"))).to_be_visible(
        timeout=SEND_TIMEOUT_MS
    )
    expect(page.get_by_role("link", name="Download results workbook")).to_be_visible()
    expect(page.get_by_role("table", name="Failed rows")).to_contain_text("not sent")
    save_screenshot(page, tmp_path, "08-stopped")


def test_token_field_and_check_against_flxpoint(browser: Browser, tmp_path: Path) -> None:
    """Without a configured token the page asks for one (password field) before a check."""
    from batch_uploader.sandbox import Sandbox

    with Sandbox() as api:
        settings = sandbox_settings(tmp_path, sandbox=False, base_url=api.url)
        with live_server(settings) as live:
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.goto(live.url)
            source = shipments_csv(tmp_path / "check.csv", 4)
            page.get_by_label("Shipment files").set_input_files(source)
            token = page.get_by_label("API token")
            expect(token).to_have_attribute("type", "password")
            token.fill(api.account_token)
            save_screenshot(page, tmp_path, "09-token-field")
            page.get_by_role("button", name="Check against Flxpoint").click()
            expect(page.get_by_text(re.compile("^Checked: nothing was sent"))).to_be_visible(
                timeout=SEND_TIMEOUT_MS
            )
            expect(page.get_by_label("API token")).to_be_hidden()
            assert api.account_token not in page.content()
            save_screenshot(page, tmp_path, "10-checked")
            context.close()


def test_drop_files_onto_the_page(page: Page, tmp_path: Path) -> None:
    """Files dropped anywhere on the page are read at once, like the file input's."""
    text = shipments_csv(tmp_path / "dropped.csv", 3).read_text(encoding="utf-8")
    transfer = page.evaluate_handle(
        """text => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([text], "dropped.csv", { type: "text/csv" }));
            return transfer;
        }""",
        text,
    )
    page.dispatch_event("body", "dragenter", {"dataTransfer": transfer})
    save_screenshot(page, tmp_path, "00-dragging-files")
    page.dispatch_event("body", "drop", {"dataTransfer": transfer})
    expect(page.get_by_role("table", name="Columns")).to_be_visible()
    expect(page.locator("#count-shipments")).to_have_text("3")
    expect(page.get_by_role("status").first).to_contain_text("dropped.csv")
