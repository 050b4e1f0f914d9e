"""The viewer in a real headless chromium (Debian's ``chromium`` + ``chromium-driver``), via Selenium.

One server on a collected database and one browser for the module. Screenshots of each
page go to ``tests/output/screenshots/``. Without a browser these tests are skipped,
unless ``CI=true`` or ``SESSIONDB_REQUIRE_BROWSER=1``: then they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from viewer_helpers import (AGENT_ID, HOSTILE_ID, LIVE_ID, LONG_ID, LONG_MESSAGES, RARE_INDEX, RARE_WORD, SHORT_ID,
                            ServerProcess, append_live_message, build_viewer_db)

from sessiondb import DbConfig, SessionDB

SCREENSHOTS = Path(__file__).resolve().parent / "output" / "screenshots"
REQUIRED = os.environ.get("CI", "").lower() == "true" or os.environ.get("SESSIONDB_REQUIRE_BROWSER") == "1"
WAIT = 15


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (name if os.path.isfile(name) else None)
        if found:
            return found
    return None


def _browser_parts() -> tuple[str | None, str | None, str]:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return None, None, "selenium is not installed (pip install '.[test]')"
    chromium = _find("chromium", "chromium-browser", "/usr/lib/chromium/chromium")
    driver = _find("chromedriver", "/usr/lib/chromium/chromedriver")
    missing = [n for n, p in (("chromium", chromium), ("chromium-driver", driver)) if p is None]
    return chromium, driver, (f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver)"
                              if missing else "")


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path, problem = _browser_parts()
    if problem:
        if REQUIRED:
            pytest.fail(f"browser tests are required here but {problem}", pytrace=False)
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,900", "--hide-scrollbars", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    db_path, root, files = build_viewer_db(tmp)
    server = ServerProcess(db_path)
    yield server, root, files
    code, _, err = server.stop()
    assert code == 0, err


def shot(driver, name: str) -> None:
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def wait_for(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(lambda d: condition(d), message)


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def assert_nothing_ran(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018
    counts = driver.execute_script("""
        const main = document.querySelector('main');
        return {
          scripts: Array.from(document.scripts).filter(s => !s.src.endsWith('/static/viewer.js')).length,
          markup: main.querySelectorAll('img, svg, iframe, style, script, object, embed').length,
          handlers: Array.from(main.querySelectorAll('*')).filter(
              el => Array.from(el.attributes).some(a => a.name.startsWith('on'))).length,
          jsLinks: Array.from(document.querySelectorAll('a[href]')).filter(
              a => a.href.trim().toLowerCase().startsWith('javascript:')).length,
          bodyShown: getComputedStyle(document.body).display !== 'none',
        };""")
    assert counts == {"scripts": 0, "markup": 0, "handlers": 0, "jsLinks": 0, "bodyShown": True}


def test_search_a_word_and_open_the_transcript_at_that_message(browser, site) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    server, _, _ = site
    browser.get(server.url + "/")
    box = browser.find_element(By.CSS_SELECTOR, ".search-form input[name=q]")
    box.send_keys("database locked", Keys.ENTER)
    wait_for(browser, lambda d: "q=database" in d.current_url, "the search did not run")
    hits = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "li.hit"), "no search results")
    assert len(hits) >= 4 and all(h.find_elements(By.TAG_NAME, "mark") for h in hits)
    shot(browser, "search")
    box = browser.find_element(By.CSS_SELECTOR, ".search-form input[name=q]")
    box.clear()
    box.send_keys(RARE_WORD, Keys.ENTER)
    wait_for(browser, lambda d: RARE_WORD in d.current_url, "the search did not run")
    hits = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "li.hit"), "no search results")
    assert len(hits) == 1
    assert browser.find_element(By.CSS_SELECTOR, "li.hit mark").text.lower() == RARE_WORD
    shot(browser, "search-rare-word")
    hits[0].find_element(By.CSS_SELECTOR, "a.hit-link").click()
    wait_for(browser, lambda d: f"/session/{LONG_ID}" in d.current_url, "did not open the transcript")
    target_id = browser.current_url.rsplit("#", 1)[1]
    target = wait_for(browser, lambda d: d.find_element(By.ID, target_id), "message not on the page")
    assert RARE_WORD in target.text
    assert int(target.get_attribute("data-pos")) == RARE_INDEX
    assert "target" in target.get_attribute("class")
    top = browser.execute_script("return arguments[0].getBoundingClientRect().top", target)
    assert 0 <= top < browser.execute_script("return window.innerHeight")       # scrolled to it
    shot(browser, "transcript-at-message")


def test_expand_a_tool_call_and_its_subagent(browser, site) -> None:
    from selenium.webdriver.common.by import By

    server, _, _ = site
    browser.get(f"{server.url}/session/{SHORT_ID}")
    shot(browser, "transcript")
    calls = {c.find_element(By.CSS_SELECTOR, ".tool-name").text: c
             for c in browser.find_elements(By.CSS_SELECTOR, "details.tool")}
    assert set(calls) >= {"Read", "Bash", "Task"}
    bash = calls["Bash"]
    result = bash.find_element(By.CSS_SELECTOR, ".tool-result pre")
    assert bash.get_attribute("open") is None and not result.is_displayed()
    thinking = browser.find_element(By.CSS_SELECTOR, "details.thinking")
    assert thinking.get_attribute("open") is None
    bash.find_element(By.TAG_NAME, "summary").click()
    wait_for(browser, lambda d: result.is_displayed(), "result did not show")
    assert "database is locked" in result.text
    assert "pytest -q tests/test_checkout.py" in bash.find_element(By.CSS_SELECTOR, ".tool-args").text
    assert bash.find_element(By.CSS_SELECTOR, ".tool-state").text == "error"
    # Only one copy of each result on the page: inside its call.
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.role-tool")) == 0
    task = calls["Task"]
    task.find_element(By.TAG_NAME, "summary").click()
    sub = task.find_element(By.CSS_SELECTOR, "details.subagent")
    assert sub.get_attribute("data-session") == f"agent-{AGENT_ID}"
    sub.find_element(By.TAG_NAME, "summary").click()
    wait_for(browser, lambda d: sub.find_elements(By.CSS_SELECTOR, ".subagent-body article.msg"),
             "subagent transcript did not load")
    assert "checkout.py and api/orders.py call parse_order_total" in sub.text
    browser.set_window_size(1280, 1700)
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "transcript-tool-call")
    browser.set_window_size(1280, 900)
    assert console_errors(browser) == []


def _positions(browser) -> list[int]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#transcript > .messages > article.msg'))"
        ".map(a => parseInt(a.dataset.pos, 10))")


def test_page_through_a_long_session(browser, site) -> None:
    from selenium.webdriver.common.by import By

    server, _, _ = site
    browser.get(f"{server.url}/session/{LONG_ID}")
    first = _positions(browser)
    assert first[0] == 0 and len(first) < LONG_MESSAGES
    for _ in range(40):
        if not browser.find_elements(By.CSS_SELECTOR, ".load-after"):
            break
        count = len(_positions(browser))
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        wait_for(browser, lambda d: len(_positions(d)) > count or not d.find_elements(By.CSS_SELECTOR, ".load-after"),
                 "scrolling to the end loaded nothing")
    positions = _positions(browser)
    assert positions == sorted(set(positions)) and positions[-1] == LONG_MESSAGES - 1
    with SessionDB.connect(DbConfig.local(server.db_path, read_only=True)) as db:
        results = {i for i, m in enumerate(db.list_messages(LONG_ID)) if m.type.value == "tool"}
    assert set(positions) | results == set(range(LONG_MESSAGES)) and not set(positions) & results
    assert len(browser.find_elements(By.CSS_SELECTOR, "#transcript details.tool .tool-result")) == len(results)
    shot(browser, "long-session-end")

    # Opened in the middle, the earlier page loads above without moving what is on screen.
    browser.get(f"{server.url}/session/{LONG_ID}?offset=600")
    before = _positions(browser)
    assert before[0] >= 600
    anchor = browser.find_element(By.CSS_SELECTOR, "#transcript article.msg")
    top = browser.execute_script("return arguments[0].getBoundingClientRect().top", anchor)
    browser.find_element(By.CSS_SELECTOR, ".load-before").click()
    wait_for(browser, lambda d: _positions(d)[0] < before[0], "earlier messages did not load")
    after = _positions(browser)
    assert after == sorted(set(after)) and after[0] == 400
    assert abs(browser.execute_script("return arguments[0].getBoundingClientRect().top", anchor) - top) < 60
    shot(browser, "long-session-middle")


def test_a_newly_collected_message_appears(browser, site) -> None:
    from selenium.webdriver.common.by import By

    server, root, files = site
    browser.get(f"{server.url}/session/{LIVE_ID}")
    wait_for(browser, lambda d: d.find_element(By.ID, "transcript").get_attribute("data-live-state") == "open",
             "event stream did not open")
    before = len(browser.find_elements(By.CSS_SELECTOR, "article.msg"))
    text = "A freshly collected line about the ocelot migration"
    append_live_message(files[LIVE_ID], text)
    with SessionDB.connect(DbConfig.local(server.db_path)) as writer:
        assert writer.collect_by_path(files[LIVE_ID], roots={"claude": str(root)}).messages_inserted == 1
    fresh = wait_for(browser, lambda d: [a for a in d.find_elements(By.CSS_SELECTOR, "article.msg") if text in a.text],
                     "the new message did not appear")
    assert len(browser.find_elements(By.CSS_SELECTOR, "article.msg")) == before + 1
    assert browser.find_element(By.ID, "msg-count").text == str(before + 1)
    assert "fresh" in fresh[0].get_attribute("class")
    shot(browser, "live-update")


def test_hostile_messages_execute_nothing(browser, site, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    server, _, _ = site
    browser.get(f"{server.url}/session/{HOSTILE_ID}")
    for button in browser.find_elements(By.CSS_SELECTOR, "button.toggle-all"):
        button.click()
    for summary in browser.find_elements(By.CSS_SELECTOR, "details:not([open]) > summary"):
        summary.click()
    assert_nothing_ran(browser)
    main = browser.find_element(By.TAG_NAME, "main").text
    assert '<script>window.__pwned = "script";</script>' in main
    assert "[click me](javascript:window.__pwned='mdlink')" in main
    assert "<img src=x onerror=\"window.__pwned='toolname'\">" in main
    shot(browser, "hostile-transcript")
    browser.get(f"{server.url}/search?q=hostilemarker")
    assert len(browser.find_elements(By.CSS_SELECTOR, "li.hit")) >= 5
    assert_nothing_ran(browser)
    shot(browser, "hostile-search")
    for link in browser.find_elements(By.CSS_SELECTOR, "main a[href]"):
        assert link.get_attribute("href").startswith((server.url, "https://", "http://", "mailto:"))

    export = tmp_path / "hostile.html"
    with SessionDB.connect(DbConfig.local(server.db_path, read_only=True)) as db:
        from sessiondb.viewer.export import transcript_html
        export.write_text(transcript_html(db, db.get_session_overview(HOSTILE_ID)), encoding="utf-8")
    browser.get(export.as_uri())
    for summary in browser.find_elements(By.CSS_SELECTOR, "details:not([open]) > summary"):
        summary.click()
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert browser.execute_script("return document.scripts.length") == 0
    assert browser.execute_script("return getComputedStyle(document.querySelector('.msg')).borderLeftStyle") == "solid"
    shot(browser, "hostile-export")


@pytest.mark.parametrize("page, heading", [("/sessions", "Sessions"), ("/projects", "Projects"), ("/status", "Status")])
def test_list_and_status_pages(browser, site, page: str, heading: str) -> None:
    from selenium.webdriver.common.by import By

    server, _, _ = site
    browser.get(server.url + page)
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith(heading)
    rows = browser.find_elements(By.CSS_SELECTOR, "table.list tbody tr")
    assert rows and "No " not in rows[0].text
    if page == "/sessions":
        titles = [r.find_element(By.CSS_SELECTOR, "td.title a").text for r in rows]
        assert titles[0].startswith("Watch this session grow")        # newest first
        times = [r.find_elements(By.CSS_SELECTOR, "td.time")[1].text for r in rows]
        assert times == sorted(times, reverse=True)
        assert any(r.find_elements(By.CSS_SELECTOR, ".badge") for r in rows)   # the subagent is marked
    shot(browser, page.strip("/"))
    assert console_errors(browser) == []
