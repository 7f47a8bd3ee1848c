"""The web console in a real browser: Debian's chromium driven by Playwright.

Signs in from an invite, visits every console page in English and in Chinese (axe-core
on each: any "serious" or "critical" WCAG 2 A/AA violation fails; a full-page screenshot
of each), then does what a customer does: buys a pack, makes API calls with the
official Tencent Cloud SDK and sees them counted on the overview, downloads the month's
bill as CSV, creates and rotates an API key, enrols persons from a zip and searches them
on the "try it" page, and switches the language back and forth.

Run by crates/renlian/tests/it/console_browser.rs, which starts the server and passes
everything on the command line (scripts/browser-env prints the python, chromium and
axe.min.js paths). Exits 1 with the failing step named; prints "console_flow: OK" at the
end. Writes the screenshots, the downloads and summary.json to --out.
"""

import argparse
import base64
import csv
import io
import json
import os
import re
import sys
import time
import traceback
import zipfile
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException,
)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.iai.v20200303 import iai_client, models

# Accounts bill in Asia/Shanghai by default (RENLIAN_BILLING_TZ), which has no DST.
BILLING_TZ = timezone(timedelta(hours=8))
# Uploads run face detection on the server's CPU: give them time.
SLOW_MS = 180_000
FAILING_IMPACTS = ("serious", "critical")


class FlowError(Exception):
    """A check that failed; the message says what was expected and what was seen."""


def check(condition, message):
    if not condition:
        raise FlowError(message)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--server", required=True, help="host:port of `renlian serve`")
    p.add_argument("--invite", required=True, help="the console user's invite link")
    p.add_argument("--email", required=True, help="that user's e-mail")
    p.add_argument("--account", required=True, type=int, help="the user's account id")
    p.add_argument("--operator", action="store_true", help="the user is an operator")
    p.add_argument("--secret-id", required=True, help="an API key of the account")
    p.add_argument("--secret-key", required=True)
    p.add_argument("--fixtures", required=True,
                   help="folder with obama.jpg, obama2.jpg, biden.jpg (small photos)")
    p.add_argument("--out", required=True, help="screenshots, downloads, summary.json")
    p.add_argument("--chromium", required=True, help="the browser executable")
    p.add_argument("--axe", required=True, help="axe.min.js")
    p.add_argument("--customer-pages", required=True, help="comma-separated page keys")
    p.add_argument("--operator-pages", required=True, help="comma-separated page keys")
    p.add_argument("--skip-missing", action="store_true",
                   help="development only: report pages that answer 404 and skip the "
                        "steps that need them, instead of failing")
    return p.parse_args()


class Flow:
    def __init__(self, args, page, strict_context):
        self.args = args
        self.page = page
        # A second context that keeps the CSP (axe needs it bent in the first): the
        # pages must not need it bent.
        self.strict_context = strict_context
        self.strict = strict_context.new_page()
        self.base = f"http://{args.server}"
        self.acct = f"/console/a/{args.account}"
        self.out = args.out
        self.audited = []
        self.violations = []  # (page name, violation) with a failing impact
        self.missing = []
        self.skipped = []
        self.csp_errors = []
        self.sdk_calls = 0
        cred = credential.Credential(args.secret_id, args.secret_key)
        self.sdk = self.client(cred)
        with open(args.axe, encoding="utf-8") as f:
            self.axe_source = f.read()

    # ---- helpers -------------------------------------------------------------------

    def client(self, cred):
        http = HttpProfile(protocol="http", endpoint=self.args.server, reqTimeout=120)
        return iai_client.IaiClient(cred, "ap-guangzhou", ClientProfile(httpProfile=http))

    def photo(self, name):
        return os.path.join(self.args.fixtures, name)

    def goto(self, path, expect=200):
        """Opens a console path; the answer's status must be `expect`."""
        r = self.page.goto(self.base + path, wait_until="load")
        check(r is not None, f"GET {path}: no response")
        check(r.status == expect, f"GET {path}: status {r.status}, expected {expect}")
        return r

    def exists(self, path):
        """Whether a page is there yet (only asked with --skip-missing)."""
        r = self.page.request.get(self.base + path, max_redirects=0)
        return r.status != 404

    def submit(self, selector, timeout=30_000, expect=200):
        """Clicks a submit button and waits for the page the form leads to."""
        with self.page.expect_navigation(wait_until="load", timeout=timeout) as nav:
            self.page.click(selector)
        r = nav.value
        check(r is not None, f"submit {selector}: no response")
        if expect is not None:
            check(r.status == expect,
                  f"submit {selector}: status {r.status} at {self.page.url}, expected "
                  f"{expect}; page says: {self.text('main')[:500]!r}")
        return r

    def text(self, selector):
        loc = self.page.locator(selector)
        return loc.first.inner_text() if loc.count() else ""

    def lang(self):
        return self.page.get_attribute("html", "lang") or ""

    def switch_language(self, to):
        """The header's language button; the same page comes back in `to`."""
        before = self.page.url
        button = self.page.locator('header button[name="lang"]')
        check(button.count() == 1, "no language button (name=lang) in the header")
        value = button.get_attribute("value")
        check(value == to, f"the language button offers {value!r}, wanted {to!r}")
        self.submit('header button[name="lang"]')
        check(self.page.url == before,
              f"switching language moved from {before} to {self.page.url}")
        check(self.lang().startswith(to), f"<html lang={self.lang()!r}> after switching to {to}")
        nav = self.text("nav.side")
        if to == "zh":
            check("概览" in nav, f"Chinese navigation without 概览: {nav[:200]!r}")
            self.check_cjk_glyphs()
        else:
            check("Overview" in nav, f"English navigation without Overview: {nav[:200]!r}")

    def check_cjk_glyphs(self):
        """The Chinese text is drawn with a real CJK font: the glyph of 概 in the nav's
        font is a full em wide and differs from the missing-glyph box (a codepoint no
        font has)."""
        widths = self.page.evaluate(
            """() => {
                const a = document.querySelector('nav.side a');
                const style = getComputedStyle(a);
                const ctx = document.createElement('canvas').getContext('2d');
                ctx.font = style.fontSize + ' ' + style.fontFamily;
                return {size: parseFloat(style.fontSize),
                        cjk: ctx.measureText('概览').width / 2,
                        tofu: ctx.measureText('\\u{10FFFD}').width};
            }"""
        )
        check(widths["cjk"] >= 0.9 * widths["size"] and abs(widths["cjk"] - widths["tofu"]) > 0.5,
              f"CJK glyphs look missing (widths {widths}): is a CJK font installed?")

    def audit(self, name):
        """axe-core on the page as it is now, and a full-page screenshot."""
        self.page.wait_for_load_state("load")
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(content=self.axe_source)
        result = self.page.evaluate(
            """async () => {
                const r = await axe.run(document, {
                    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']},
                    resultTypes: ['violations'],
                });
                return r.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.map(n => ({target: n.target.join(' '),
                                              summary: n.failureSummary})),
                }));
            }"""
        )
        for v in result:
            print(f"  axe {name}: [{v['impact']}] {v['id']}: {v['help']}")
            for n in v["nodes"][:5]:
                print(f"      at {n['target']}: {(n['summary'] or '').splitlines()[-1:]}")
            if v["impact"] in FAILING_IMPACTS:
                self.violations.append((name, v))
        path = os.path.join(self.out, f"{name}.png")
        self.page.screenshot(path=path, full_page=True)
        self.audited.append({"page": name, "url": self.page.url, "lang": self.lang(),
                             "violations": [(v["impact"], v["id"]) for v in result]})

    def csp_check(self, path):
        """Opens `path` with the CSP in force; any CSP report in the console is a page
        that needs a script or an inline style."""
        messages = []

        def listen(msg):
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
                messages.append(msg.text)

        # Signed in as in the main context.
        self.strict_context.clear_cookies()
        self.strict_context.add_cookies(self.page.context.cookies())
        self.strict.on("console", listen)
        try:
            self.strict.goto(self.base + path, wait_until="load")
        finally:
            self.strict.remove_listener("console", listen)
        for m in messages:
            self.csp_errors.append(f"{path}: {m}")

    def today_calls(self):
        """Today's row of the overview's calls-per-day table (0 when there is none)."""
        today = datetime.now(BILLING_TZ).date().isoformat()
        table = self.page.locator("#calls-per-day-table")
        check(table.count() == 1, "the overview has no #calls-per-day-table")
        check(self.page.locator("svg#calls-per-day").count() == 1,
              "the overview has no svg#calls-per-day chart")
        cell = self.page.locator(f'#calls-per-day-table tr[data-day="{today}"] td.calls')
        if cell.count() == 0:
            return today, 0
        digits = re.sub(r"[^0-9]", "", cell.first.inner_text())
        check(digits != "", f"today's calls cell is not a number: {cell.first.inner_text()!r}")
        return today, int(digits)

    def detect(self, client=None):
        req = models.DetectFaceRequest()
        with open(self.photo("obama.jpg"), "rb") as f:
            req.from_json_string(json.dumps({"Image": base64.b64encode(f.read()).decode(),
                                             "MaxFaceNum": 1}))
        resp = (client or self.sdk).DetectFace(req)
        check(len(resp.FaceInfos or []) == 1, f"DetectFace found {len(resp.FaceInfos or [])} faces")
        return resp

    def group_list(self, client):
        req = models.GetGroupListRequest()
        req.from_json_string("{}")
        return client.GetGroupList(req)

    def page_needed(self, path, step):
        """With --skip-missing, whether the page exists (else the step is skipped)."""
        if not self.args.skip_missing or self.exists(path):
            return True
        self.skipped.append(f"{step} ({path} is missing)")
        print(f"  SKIPPED {step}: {path} answers 404")
        return False

    # ---- the steps ------------------------------------------------------------------

    def sign_in(self):
        """(a) The invite: set a password, land on the overview; then sign out and in
        again through the login form."""
        password = "a browser's long password 1"
        r = self.page.goto(self.args.invite, wait_until="load")
        check(r is not None and r.status == 200,
              f"invite page: status {r.status if r else None} at {self.args.invite}")
        self.audit("en-invite")
        self.page.fill("#password", password)
        self.page.fill("#password2", password)
        self.submit('main form button[type="submit"]')
        want = f"{self.base}{self.acct}/overview"
        check(self.page.url == want, f"after the invite: at {self.page.url}, expected {want}")
        check(self.args.email in self.text("header"),
              f"the header does not name {self.args.email}: {self.text('header')!r}")
        # Sign out, then in with the password just set.
        self.submit('header form[action$="/logout"] button')
        check("/console/login" in self.page.url, f"after signing out: at {self.page.url}")
        self.audit("en-login")
        self.page.fill("#email", self.args.email)
        self.page.fill("#password", password)
        self.submit('main form button[type="submit"]')
        check(self.page.url == want, f"after signing in: at {self.page.url}, expected {want}")

    def tour(self, lang):
        """(b) Every page of the navigation: axe-core, a screenshot, the CSP kept."""
        customer = self.args.customer_pages.split(",")
        operator = self.args.operator_pages.split(",") if self.args.operator else []
        self.goto(f"{self.acct}/overview")
        if not self.lang().startswith(lang):
            self.switch_language(lang)
        hrefs = self.page.eval_on_selector_all("nav.side a", "els => els.map(e => e.getAttribute('href'))")
        for key in customer:
            path = f"{self.acct}/{key}"
            check(path in hrefs, f"the navigation has no link to {path}: {hrefs}")
        for key in operator:
            path = f"/console/operator/{key}"
            check(path in hrefs, f"the navigation has no link to {path}: {hrefs}")
        pages = [(key, f"{self.acct}/{key}") for key in customer]
        pages += [(f"operator-{key}", f"/console/operator/{key}") for key in operator]
        for name, path in pages:
            if self.args.skip_missing and not self.exists(path):
                self.missing.append(path)
                print(f"  MISSING {path} (404)")
                continue
            self.goto(path)
            check(self.page.locator("h1").count() == 1,
                  f"{path}: {self.page.locator('h1').count()} <h1> elements, expected 1")
            check(self.lang().startswith(lang), f"{path}: <html lang={self.lang()!r}>, expected {lang}")
            current = self.page.locator('nav.side a[aria-current="page"]')
            check(current.count() == 1 and current.get_attribute("href") == path,
                  f"{path}: the navigation does not mark it as the current page")
            self.audit(f"{lang}-{name}")
            if lang == "en":
                self.csp_check(path)

    def buy_pack(self):
        """(c) A detection pack of 1m calls, then it is listed; resubmitting the same
        form (same client_token) does not buy twice."""
        path = f"{self.acct}/packs"
        if not self.page_needed(path, "buy a pack"):
            return
        self.goto(path)
        before = self.detection_packs()
        money_before = self.money("#available")
        price = self.money('#pack-prices tr[data-item="detect"] td[data-size="1m"]')
        self.page.select_option("#pack-item", "detect")
        self.page.select_option("#pack-size", "1m")
        form = {
            el["name"]: el["value"]
            for el in self.page.eval_on_selector_all(
                "#buy-pack input[type=hidden], #buy-pack select",
                "els => els.map(e => ({name: e.name, value: e.value}))")
        }
        check(form.get("client_token"), "#buy-pack has no client_token")
        self.submit("#buy-pack-submit")
        self.goto(path)
        check(self.page.locator("#own-packs").count() == 1, "no #own-packs table after buying")
        after = self.detection_packs()
        check(after == before + 1,
              f"#own-packs lists {before} detection packs before buying one and {after} after: "
              f"{self.text('#own-packs')[:400]!r}")
        money_after = self.money("#available")
        if None not in (money_before, price, money_after):
            check(money_before - money_after == price,
                  f"buying a ¥{price} pack took the available balance from ¥{money_before} "
                  f"to ¥{money_after}")
        self.audit("en-packs-bought")
        # The same form sent again, as a double click or a resubmission would.
        self.page.request.post(self.base + path, form=form,
                               headers={"Origin": self.base}, max_redirects=0)
        self.goto(path)
        again = self.detection_packs()
        check(again == after, f"resubmitting the same purchase form: {after} packs became {again}")

    def money(self, selector):
        """An amount like "¥1,234.50" shown at `selector`, or None if not on the page."""
        loc = self.page.locator(selector)
        if loc.count() == 0:
            return None
        digits = re.sub(r"[^0-9.\-]", "", loc.first.inner_text())
        try:
            return Decimal(digits)
        except InvalidOperation:
            raise FlowError(f"{selector} is not an amount: {loc.first.inner_text()!r}")

    def detection_packs(self):
        """Rows of #own-packs that name the detection item (an empty table may hold one
        "none yet" row)."""
        rows = self.page.eval_on_selector_all(
            "#own-packs tbody tr",
            "els => els.map(e => [e.dataset.item || '', e.innerText.toLowerCase()])")
        return sum(1 for item, text in rows if item == "detect" or (not item and "detect" in text))

    def calls_counted(self, n=3):
        """(d) DetectFace through the official SDK, counted on the overview's today row."""
        self.goto(f"{self.acct}/overview")
        day, before = self.today_calls()
        for _ in range(n):
            self.detect()
            self.sdk_calls += 1
        self.goto(f"{self.acct}/overview")
        day2, after = self.today_calls()
        if day2 != day:  # midnight in Shanghai between the two readings
            before = 0
        check(after == before + n,
              f"calls per day, {day2}: {before} before and {after} after {n} DetectFace calls")
        self.audit("en-overview-after-calls")

    def bill_csv(self):
        """(e) The month's bill (the preview) as CSV through a real download."""
        month = datetime.now(BILLING_TZ).strftime("%Y-%m")
        path = f"{self.acct}/bills"
        if not self.page_needed(path, "bill CSV"):
            return
        self.goto(path)
        link = f"#bill-csv-{month}"
        check(self.page.locator(link).count() == 1, f"the bills page has no {link}")
        with self.page.expect_download(timeout=30_000) as d:
            self.page.click(link)
        download = d.value
        check(download.failure() is None, f"bill download failed: {download.failure()}")
        name = download.suggested_filename
        check(name.endswith(".csv"), f"bill download named {name!r}")
        saved = os.path.join(self.out, f"bill-{month}.csv")
        download.save_as(saved)
        with open(saved, encoding="utf-8-sig") as f:
            body = f.read()
        rows = list(csv.reader(io.StringIO(body)))
        check(len(rows) >= 2, f"bill CSV has {len(rows)} rows: {body[:300]!r}")
        header = [c.strip().lower() for c in rows[0]]
        check("item" in header and "calls" in header,
              f"bill CSV header without item and calls columns: {rows[0]}")
        item, calls = header.index("item"), header.index("calls")
        detect = [r for r in rows[1:] if len(r) > calls and r[item] == "detect"]
        check(len(detect) == 1, f"bill CSV: {len(detect)} detect lines: {body[:500]!r}")
        check(detect[0][calls] == str(self.sdk_calls),
              f"bill CSV: detect calls {detect[0][calls]!r}, expected {self.sdk_calls}")
        # The month page itself.
        self.goto(f"{self.acct}/bills/{month}")
        self.audit("en-bill-month")
        # The usage page's CSV too.
        if self.exists(f"{self.acct}/usage"):
            self.goto(f"{self.acct}/usage?month={month}")
            check(self.page.locator("#usage-csv").count() == 1, "the usage page has no #usage-csv")
            self.audit("en-usage-after-calls")
            with self.page.expect_download(timeout=30_000) as d:
                self.page.click("#usage-csv")
            d.value.save_as(os.path.join(self.out, f"usage-{month}.csv"))

    def keys(self):
        """(f) A key made in the console works with the SDK; after rotation the old one
        is refused and the new one works."""
        path = f"{self.acct}/keys"
        if not self.page_needed(path, "keys"):
            return
        self.goto(path)
        self.submit("#create-key-submit")
        sid, skey = self.new_key("creating a key")
        check(self.page.locator(f'tr[data-secret-id="{sid}"]').count() == 1,
              f"the keys table has no row for {sid}")
        self.audit("en-keys-created")
        old = self.client(credential.Credential(sid, skey))
        self.group_list(old)  # raises if refused
        self.goto(path)  # the pair is shown once: gone on the next visit
        check(skey not in self.page.content(), "the SecretKey is shown again after leaving the page")
        self.submit(f'tr[data-secret-id="{sid}"] form.rotate-key [type="submit"]')
        sid2, skey2 = self.new_key("rotating the key")
        check((sid2, skey2) != (sid, skey), "rotation showed the same pair")
        try:
            self.group_list(old)
        except TencentCloudSDKException as e:
            check(e.get_code().startswith("AuthFailure"),
                  f"the rotated-out key failed with {e.get_code()}, expected AuthFailure.*")
        else:
            raise FlowError("the key is still accepted after rotation")
        self.group_list(self.client(credential.Credential(sid2, skey2)))

    def new_key(self, what):
        check(self.page.locator("#new-key").count() == 1, f"{what}: no #new-key on the page")
        sid = self.text("#new-secret-id").strip()
        skey = self.text("#new-secret-key").strip()
        check(sid.startswith("AKID") and len(skey) >= 16,
              f"{what}: #new-secret-id {sid!r}, #new-secret-key of {len(skey)} characters")
        return sid, skey

    def groups_and_try(self):
        """(g) A group, persons enrolled from a zip of person/photo.jpg, thumbnails; then
        a 1:N search from the try page finds the person."""
        path = f"{self.acct}/groups"
        if not self.page_needed(path, "groups"):
            return
        self.goto(path)
        self.page.fill("#group-id", "staff")
        self.page.fill("#group-name", "Staff")
        self.submit("#create-group-submit")
        group = f"{self.acct}/groups/staff"
        self.goto(path)
        check(self.page.locator(f'a[href="{group}"]').count() >= 1, f"the groups page does not link to {group}")
        self.goto(group)
        archive = os.path.join(self.out, "enrol.zip")
        with zipfile.ZipFile(archive, "w") as z:
            z.write(self.photo("obama.jpg"), "obama/obama.jpg")
            z.write(self.photo("biden.jpg"), "biden/biden.jpg")
        self.page.set_input_files("#enrol-file", archive)
        self.submit("#enrol-submit", timeout=SLOW_MS)
        enrolled_text = self.text("main")
        check(self.page.locator("#enrol-failures tbody tr").count() == 0,
              f"enrolment failures: {self.text('#enrol-failures')[:500]!r}")
        self.goto(group)
        for person in ("obama", "biden"):
            row = self.page.locator(f'#persons tr[data-person-id="{person}"]')
            check(row.count() == 1,
                  f"#persons has no row for {person}: {self.text('#persons')[:300]!r}; "
                  f"enrolment said: {enrolled_text[:500]!r}")
            img = row.locator("img")
            check(img.count() >= 1, f"{person}: no face thumbnail")
            alt = img.first.get_attribute("alt") or ""
            check(alt.strip() != "", f"{person}: thumbnail without alt text")
            loaded = img.first.evaluate("i => i.complete && i.naturalWidth > 0")
            check(loaded, f"{person}: the thumbnail did not load ({img.first.get_attribute('src')[:80]!r})")
        self.audit("en-group-staff")
        # The try page: search the group with another photo of one of them.
        try_path = f"{self.acct}/try"
        if not self.page_needed(try_path, "try search"):
            return
        self.goto(try_path)
        self.page.select_option("#try-action", "search")
        self.page.set_input_files("#try-photo", self.photo("obama2.jpg"))
        self.page.select_option("#try-group", "staff")
        self.submit("#try-submit", timeout=SLOW_MS)
        check(self.page.locator("#try-result").count() == 1, "no #try-result after searching")
        response = self.text("#try-response")
        try:
            answer = json.loads(response)
            best = answer["Response"]["Results"][0]["Candidates"][0]["PersonId"]
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise FlowError(f"#try-response is not a SearchFaces answer ({e}): {response[:500]!r}")
        check(best == "obama", f"the search's best candidate is {best!r}, expected 'obama'")
        check(self.page.locator("#try-figure svg, svg#try-figure").count() >= 1,
              "no drawing in #try-figure")
        check("RequestId" in self.text("#try-result") or "RequestId" in response,
              "the try result does not show the RequestId")
        self.audit("en-try-search")

    def languages(self):
        """(h) Back and forth between the languages, staying on the page."""
        self.goto(f"{self.acct}/overview")
        for lang in ("zh", "en", "zh", "en"):
            self.switch_language(lang)
        self.goto(f"{self.acct}/overview")
        check(self.lang().startswith("en"), "the language did not stay English")


@contextmanager
def step(flow, name, failures):
    print(f"console_flow: {name}", flush=True)
    started = time.monotonic()
    try:
        yield
    except Exception as e:
        failures.append(f"{name}: {e}")
        print(f"console_flow: FAILED {name} at {flow.page.url}: {e}", flush=True)
        traceback.print_exc()
        try:
            flow.page.screenshot(path=os.path.join(flow.out, f"FAILED-{name.split()[0]}.png"),
                                 full_page=True)
        except PlaywrightError:
            pass
        raise
    finally:
        print(f"console_flow: {name}: {time.monotonic() - started:.1f} s", flush=True)


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    # Chromium's sandbox refuses to start as root; a container's small /dev/shm crashes
    # tabs unless shared memory goes to /tmp.
    launch = ["--disable-dev-shm-usage"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        launch.append("--no-sandbox")
    failures = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, headless=True, args=launch)
        context = browser.new_context(bypass_csp=True, locale="en-US", accept_downloads=True,
                                      viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        strict = browser.new_context(locale="en-US")
        flow = Flow(args, context.new_page(), strict)
        steps = [
            ("sign-in from the invite", flow.sign_in),
            ("pages in English", lambda: flow.tour("en")),
            ("pages in Chinese", lambda: flow.tour("zh")),
            ("back to English", lambda: flow.switch_language("en")),
            ("buy a pack", flow.buy_pack),
            ("SDK calls counted", flow.calls_counted),
            ("bill CSV", flow.bill_csv),
            ("API keys", flow.keys),
            ("groups and try", flow.groups_and_try),
            ("language switch", flow.languages),
        ]
        try:
            for name, run in steps:
                with step(flow, name, failures):
                    run()
        except Exception:  # noqa: BLE001 - step() reported it; the summary is still written
            pass
        finally:
            summary = {"audited": flow.audited, "missing": flow.missing, "skipped": flow.skipped,
                       "csp_errors": flow.csp_errors, "sdk_calls": flow.sdk_calls,
                       "failures": failures,
                       "violations": [(n, v["impact"], v["id"]) for n, v in flow.violations]}
            with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
                json.dump(summary, f, indent=1, ensure_ascii=False)
            browser.close()
    problems = list(failures)
    for name, v in flow.violations:
        targets = "; ".join(n["target"] for n in v["nodes"][:5])
        problems.append(f"axe {name}: [{v['impact']}] {v['id']} ({v['help']}) at {targets}")
    problems += [f"CSP: {m}" for m in flow.csp_errors]
    print(f"console_flow: {len(flow.audited)} pages audited with axe-core, "
          f"{len(flow.violations)} serious/critical violations, {len(flow.csp_errors)} CSP reports")
    if flow.missing or flow.skipped:
        print(f"console_flow: missing pages {flow.missing}; skipped {flow.skipped}")
    if problems:
        print("console_flow: FAILED\n  " + "\n  ".join(problems))
        sys.exit(1)
    print("console_flow: OK")


if __name__ == "__main__":
    main()
