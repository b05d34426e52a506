"""The web console in a real browser (Debian's chromium and chromedriver via
python3-selenium): log in with the token, see a message delivered after the
page loaded appear live, open it, and watch a POP3 retrieve-and-delete in
hide mode change its POP3 state while IMAP still lists it. Screenshots go to
<pytest basetemp>/screenshots."""

import os
import imaplib
import poplib
import shutil
import smtplib

import pytest

from conftest import message, wait_for

# A missing client is a failure, not a skip (scripts/deps.sh --test installs it).
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def token_of(srv):
    with open(os.path.join(srv.data_dir, "http-token")) as f:
        return f.read().strip()


@pytest.fixture
def browser(tmp_path):
    assert os.path.exists(CHROMEDRIVER), "chromedriver missing: scripts/deps.sh --test installs it"
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'chrome'}",
                "--no-first-run", "--disable-background-networking"):
        opts.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=opts, service=service)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def shots(tmp_path_factory):
    d = tmp_path_factory.getbasetemp() / "screenshots"
    d.mkdir(exist_ok=True)
    return d


def texts(driver, css):
    """The texts of the elements; [] while the page re-renders them."""
    try:
        return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]
    except StaleElementReferenceException:
        return []


def text_of(driver, element_id):
    try:
        return driver.find_element(By.ID, element_id).text
    except (StaleElementReferenceException, Exception):
        return ""


def click(driver, css):
    """Clicks the element, retrying while the page replaces it."""
    def attempt():
        try:
            driver.find_element(By.CSS_SELECTOR, css).click()
            return True
        except StaleElementReferenceException:
            return False
    wait_for(attempt, what=f"clicking {css}")


def test_console_live_delivery_and_pop3_hide(make_server, browser, shots):
    srv = make_server()
    srv.cli("user", "set", "alice", "pop3.delete_mode=hide")
    srv.deliver("alice", message(subject="Already here"))
    browser.get(f"http://127.0.0.1:{srv.ports['http']}/")
    wait_for(lambda: browser.find_element(By.ID, "login").is_displayed(), what="the login form")
    browser.find_element(By.ID, "login-token").send_keys(token_of(srv))
    browser.find_element(By.ID, "login-button").click()
    wait_for(lambda: "alice" in " ".join(texts(browser, "#users li")), what="the user list")
    wait_for(lambda: browser.find_element(By.ID, "live").text == "live", what="the live stream")
    wait_for(lambda: any("Already here" in t for t in texts(browser, "#messages tbody tr")),
             what="the first message")
    browser.save_screenshot(str(shots / "1-logged-in.png"))

    # Delivered after the page loaded: appears without a reload.
    with smtplib.LMTP("127.0.0.1", srv.ports["lmtp"], timeout=10) as lmtp:
        lmtp.sendmail("bob@example.org", ["alice@example.org"], message(subject="Live arrival").encode())
    wait_for(lambda: any("Live arrival" in t for t in texts(browser, "#messages tbody tr")),
             timeout=5, what="the live delivery in the message list")
    browser.save_screenshot(str(shots / "2-live-delivery.png"))

    click(browser, '#messages tr[data-uid="2"]')
    wait_for(lambda: "Live arrival" in text_of(browser, "message-detail"), what="the message detail")
    wait_for(lambda: "delivered" in text_of(browser, "lifecycle"), what="the lifecycle")
    wait_for(lambda: "visible" in text_of(browser, "detail-pop3-state"), what="POP3 state visible")
    browser.save_screenshot(str(shots / "3-message.png"))

    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    pop.user("alice")
    pop.pass_("secret")
    pop.retr(2)
    pop.dele(2)
    pop.quit()

    def pop3_state_of_uid2():
        cells = texts(browser, '#messages tr[data-uid="2"] td.pop3-state')
        return cells[0] if cells else ""
    wait_for(lambda: pop3_state_of_uid2() == "hidden", timeout=5, what="POP3 state hidden")
    # IMAP still lists it; POP3 does not.
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, '#imap-view tr[data-uid="2"]'),
             what="IMAP view row")
    wait_for(lambda: "Already here" in " ".join(texts(browser, "#pop3-view tr"))
             and "Live arrival" not in " ".join(texts(browser, "#pop3-view tr")),
             what="the POP3 view without the hidden message")
    wait_for(lambda: "retrieved by POP3" in text_of(browser, "lifecycle")
             and "mode hide applied" in text_of(browser, "lifecycle"),
             timeout=5, what="the lifecycle after QUIT")
    assert "stays in the INBOX" in text_of(browser, "delete-mode-sentence")
    browser.save_screenshot(str(shots / "4-pop3-hidden.png"))

    # Phone width: one column, nothing wider than the screen.
    browser.set_window_size(390, 844)
    wait_for(lambda: browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth + 1"), what="no overflow")
    browser.save_screenshot(str(shots / "5-phone.png"))


def test_console_keeps_messages_that_left_the_inbox(make_server, browser):
    srv = make_server()
    srv.cli("user", "set", "alice", "pop3.delete_mode=expunge")
    srv.deliver("alice", message(subject="Stays"))
    srv.deliver("alice", message(subject="Downloaded and deleted"))
    browser.get(f"http://127.0.0.1:{srv.ports['http']}/")
    wait_for(lambda: browser.find_element(By.ID, "login").is_displayed(), what="the login form")
    browser.find_element(By.ID, "login-token").send_keys(token_of(srv))
    browser.find_element(By.ID, "login-button").click()
    wait_for(lambda: browser.find_element(By.ID, "live").text == "live", what="the live stream")
    wait_for(lambda: len(texts(browser, "#messages tbody tr")) == 2, what="both messages")

    pop = poplib.POP3("127.0.0.1", srv.ports["pop3"], timeout=10)
    pop.user("alice")
    pop.pass_("secret")
    pop.retr(2)
    pop.dele(2)
    pop.quit()

    # Gone from the store, still listed (greyed) with what happened to it.
    gone_row = '#messages tr.gone[data-uid="2"]'
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, gone_row), timeout=5,
             what="the expunged message as a gone row")
    assert texts(browser, gone_row + " td.pop3-state") == ["expunged"]
    assert "1, 1 gone" in text_of(browser, "messages-title")
    click(browser, gone_row)
    wait_for(lambda: "No longer in INBOX" in text_of(browser, "message-detail"),
             what="the gone message's detail")
    wait_for(lambda: "retrieved by POP3" in text_of(browser, "lifecycle")
             and "mode expunge applied" in text_of(browser, "lifecycle"),
             what="its lifecycle")


def test_console_follows_a_live_transcript(make_server, browser):
    srv = make_server(config={"dev": {"transcripts": True}})
    browser.get(f"http://127.0.0.1:{srv.ports['http']}/")
    wait_for(lambda: browser.find_element(By.ID, "login").is_displayed(), what="the login form")
    browser.find_element(By.ID, "login-token").send_keys(token_of(srv))
    browser.find_element(By.ID, "login-button").click()
    wait_for(lambda: browser.find_element(By.ID, "live").text == "live", what="the live stream")
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=10)
    imap.login("alice", "secret")
    live = "#transcripts li"
    wait_for(lambda: any("imap" in t and "live" in t for t in texts(browser, live)), timeout=5,
             what="the live IMAP session among the transcripts")
    entry = [e for e in browser.find_elements(By.CSS_SELECTOR, live)
             if "imap" in e.text and "live" in e.text][0]
    entry.click()
    wait_for(lambda: "LOGIN alice ***" in text_of(browser, "transcript"), what="the transcript")
    assert "secret" not in text_of(browser, "transcript")
    imap.select("INBOX")  # followed without another click
    wait_for(lambda: "SELECT INBOX" in text_of(browser, "transcript"), timeout=5,
             what="the transcript growing")
    imap.logout()


def test_console_wrong_token_stays_on_login(make_server, browser):
    srv = make_server()
    browser.get(f"http://127.0.0.1:{srv.ports['http']}/")
    wait_for(lambda: browser.find_element(By.ID, "login").is_displayed(), what="the login form")
    browser.find_element(By.ID, "login-token").send_keys("wrong")
    browser.find_element(By.ID, "login-button").click()
    wait_for(lambda: browser.find_element(By.ID, "login-error").text == "Wrong token.", what="error")
    assert not browser.find_element(By.ID, "app").is_displayed()
