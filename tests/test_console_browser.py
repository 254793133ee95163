"""The web console in a real headless Chromium (Playwright driving Debian's ``chromium``).

A real server (``python -m server``, one worker process) and a capcut-mate-like draft host
run on 127.0.0.1. Each test records every request the page makes and checks that none leaves
the service's origin. Screenshots go to ``test-artifacts/console/`` (gitignored) for a person
to look at.
"""

from __future__ import annotations

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.server_fixtures import draft_host, new_draft_id  # noqa: F401 - fixtures
from tests.server_helpers import REPO, ServerProcess, make_clip, tiny_draft

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the `test` extra)")

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: no network but the local server: no QUIC, no component/safe-browsing/sync/update traffic
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=MediaRouter,OptimizationHints",
]
SHOTS = REPO / "test-artifacts" / "console"
TIMEOUT_MS = 30_000
KEY_A, KEY_B = "console-key-a", "console-key-b"

pytestmark = pytest.mark.slow


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does this)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        # launch() starts the browser on a new, empty profile (a fresh --user-data-dir) each time
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=TIMEOUT_MS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("console-media")
    return {
        "short": make_clip(d / "short.mp4", seconds=2.0, width=320, height=180),
        "long": make_clip(d / "long.mp4", seconds=4.0, width=320, height=180),
    }


@pytest.fixture(scope="module")
def servers(tmp_path_factory) -> dict[str, ServerProcess]:
    """Two real servers with one worker each, started side by side: ``open`` (no keys, as on
    loopback by default) and ``keyed`` (``--api-keys``: every job belongs to its key)."""
    common = ["--concurrency", "1", "--log-level", "WARNING"]
    procs = {
        "open": ServerProcess(tmp_path_factory.mktemp("console-open"), extra=common),
        "keyed": ServerProcess(
            tmp_path_factory.mktemp("console-keyed"), extra=[*common, "--api-keys", f"{KEY_A},{KEY_B}"]
        ),
    }
    with ThreadPoolExecutor(len(procs)) as pool:
        started = [pool.submit(p.start) for p in procs.values()]
    try:
        for f in started:
            f.result()
        yield procs
    finally:
        for p in procs.values():  # nothing to keep: the data dirs are temporary
            p.kill()
            p.stop()


@pytest.fixture(scope="module")
def server(servers) -> ServerProcess:
    return servers["open"]


class Page:
    """A browser context + page that records every request and response."""

    def __init__(self, browser, base: str, locale: str = "en-US"):
        self.base = base
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
        self.context = browser.new_context(
            locale=locale, viewport={"width": 1280, "height": 860}, service_workers="block"
        )
        self.requests: list[str] = []
        self.responses: list[tuple[str, int]] = []
        self.console_errors: list[str] = []
        #: HTTP statuses a test expects the page to meet (the browser logs them as errors)
        self.expected_statuses: tuple[int, ...] = ()
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.context.on("response", lambda r: self.responses.append((r.url, r.status)))
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))

    def goto(self, path: str) -> None:
        self.page.goto(self.base.rstrip("/") + path)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()
        foreign = [
            u for u in self.requests if not (u.startswith(self.origin + "/") or u.startswith(("data:", "blob:")))
        ]
        assert not foreign, f"the page contacted something other than the service: {foreign}"
        expected = tuple(f"status of {s} " for s in self.expected_statuses)
        errors = [
            e
            for e in self.console_errors
            if not (e.startswith("Failed to load resource") and any(x in e for x in expected))
        ]
        assert not errors, errors


@pytest.fixture
def open_page(browser):
    pages: list[Page] = []

    def make(base: str, locale: str = "en-US") -> Page:
        p = Page(browser, base, locale)
        pages.append(p)
        return p

    yield make
    for p in pages:
        p.close()


def add_draft(host, clip: Path, *, seconds: float, width: int = 320, height: int = 180, extra=None) -> str:
    did = new_draft_id()
    content = tiny_draft(did, seconds=seconds, width=width, height=height)
    if extra:
        extra(content)
    return host.add_content(did, content, {"assets/videos/clip.mp4": clip})


def with_unknown_effect(content: dict) -> None:
    content["materials"]["video_effects"] = [
        {"id": "fx", "type": "video_effect", "name": "未知特效", "resource_id": "900004"}
    ]
    content["tracks"].append(
        {
            "id": "e",
            "type": "effect",
            "segments": [
                {
                    "id": "E",
                    "material_id": "fx",
                    "target_timerange": {"start": 500_000, "duration": 1_000_000},
                    "render_index": 3,
                }
            ],
        }
    )


def submit_from_check_page(p: Page, url: str, *, preview: bool = False) -> str:
    """Check a draft on the check page, render it, return the job id of the job page."""
    page = p.page
    page.click("nav a[data-tab=check]")
    page.fill("[data-testid=draft-url]", url)
    page.click("[data-testid=check]")
    page.wait_for_selector("[data-testid=probe-track]")
    page.click("[data-testid=render-preview]" if preview else "[data-testid=render]")
    page.wait_for_url("**/#/job/*")
    return page.text_content("[data-testid=job-id]")


def wait_js(page, expression: str, timeout_ms: int = TIMEOUT_MS) -> None:
    """Wait until a JS expression is true. (``page.wait_for_function`` evaluates strings with
    ``eval`` in the page, which the console's Content-Security-Policy rightly refuses.)"""
    for _ in range(timeout_ms // 50):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"never true: {expression}")


def wait_until_played(p: Page) -> None:
    page = p.page
    page.wait_for_selector("[data-testid=player]")
    wait_js(page, "document.querySelector('[data-testid=player]').readyState >= 2")
    page.evaluate("document.querySelector('[data-testid=player]').play()")
    wait_js(page, "document.querySelector('[data-testid=player]').currentTime > 0.3")


def seek(p: Page, t_s: float) -> None:
    p.page.wait_for_selector("[data-testid=player]")
    p.page.evaluate(
        """(t) => new Promise((ok) => { const v = document.querySelector('[data-testid=player]');
        v.pause(); v.addEventListener('seeked', ok, {once: true}); v.currentTime = t; })""",
        t_s,
    )


# -- tests ------------------------------------------------------------------------------------------


def test_submit_watch_progress_and_play(server, draft_host, media, open_page):
    url = add_draft(draft_host, media["short"], seconds=2.0)
    p = open_page(server.base + "/")
    p.goto("/")
    assert p.page.text_content("nav a[data-tab=jobs]") == "Jobs"
    p.page.click("nav a[data-tab=check]")
    p.page.fill("[data-testid=draft-url]", url)
    p.page.click("[data-testid=check]")
    p.page.wait_for_selector("[data-testid=probe-track]")
    assert "320×180" in p.page.text_content("[data-testid=probe-result]")
    p.shot("check")
    p.page.click("[data-testid=render]")
    p.page.wait_for_url("**/#/job/*")
    job_id = p.page.text_content("[data-testid=job-id]")

    # the bar follows the SSE stream to 100 %, then the player appears and plays
    p.page.wait_for_selector('[data-testid=job-progress][aria-valuenow="100"][data-state=completed]')
    wait_until_played(p)
    wait_js(p.page, "document.querySelector('[data-testid=poster]').naturalWidth > 0")
    # seeking: the browser fetches the rest by Range
    seek(p, 1.5)
    assert p.page.evaluate("document.querySelector('[data-testid=player]').currentTime") >= 1.4
    assert any(urlsplit(u).path == f"/v1/renders/{job_id}/video.mp4" and s == 206 for u, s in p.responses), p.responses
    assert any(f"/v1/renders/{job_id}/events" in u for u in p.requests)
    p.shot("job")

    # the jobs table lists it, completed, with size and duration; the queue page counts it
    p.page.click("nav a[data-tab=jobs]")
    row = p.page.wait_for_selector(f"[data-testid=jobs-table] tr[data-id='{job_id}']")
    assert row.query_selector("[data-state=completed]") is not None
    assert "2.0 s" in row.text_content()
    p.shot("jobs")
    p.page.click("nav a[data-tab=queue]")
    p.page.wait_for_selector("[data-testid=hour-completed]")
    assert int(p.page.text_content("[data-testid=hour-completed] .value")) >= 1
    p.shot("queue")


def test_unknown_effect_is_listed_as_a_warning(server, draft_host, media, open_page):
    url = add_draft(draft_host, media["short"], seconds=2.0, extra=with_unknown_effect)
    p = open_page(server.base + "/")
    p.goto("/#/check")
    p.page.fill("[data-testid=draft-url]", url)
    p.page.click("[data-testid=check]")
    warning = p.page.wait_for_selector("[data-testid=probe-result] [data-testid=warning]")
    assert "未知特效" in warning.text_content()
    p.shot("check-warning")
    # render a low-resolution preview of it: the job page lists the same warning, grouped
    p.page.click("[data-testid=render-preview]")
    p.page.wait_for_url("**/#/job/*")
    p.page.wait_for_selector('[data-testid=job-progress][aria-valuenow="100"][data-state=completed]')
    item = p.page.wait_for_selector("[data-testid=warnings] [data-testid=warning]")
    assert "未知特效" in item.text_content() and item.get_attribute("data-kind") == "effect"
    assert p.page.query_selector("[data-testid=warnings] [data-testid=warning-strip] .mark") is not None
    assert "480×" in p.page.text_content("main")  # the preview's output size
    wait_until_played(p)
    p.page.evaluate("document.querySelector('[data-testid=player]').pause()")
    p.shot("job-warning")


def test_cancel_a_running_job_from_the_table(server, draft_host, media, open_page):
    # a long draft on a large canvas, so the render is still running when the button is clicked
    url = add_draft(draft_host, media["long"], seconds=40.0, width=1280, height=720)
    job = requests.post(f"{server.base}/v1/renders", json={"draft_url": url}, timeout=30).json()
    p = open_page(server.base + "/")
    p.goto("/#/jobs")
    row = f"[data-testid=jobs-table] tr[data-id='{job['id']}']"
    # progress arrives over SSE: frames are counted in the row before the cancel
    p.page.wait_for_selector(f"{row} [data-state=running]")
    wait_js(
        p.page,
        f"Number(document.querySelector(\"{row} [data-testid=job-progress]\").getAttribute('aria-valuenow')) >= 1",
    )
    p.shot("running")
    p.page.click(f"{row} [data-testid=cancel]")
    p.page.wait_for_selector(f"{row} .badge[data-state=cancelled]")
    state = requests.get(f"{server.base}/v1/renders/{job['id']}", timeout=10).json()
    assert state["state"] == "cancelled" and state["error"]["code"] == "CANCELLED"
    # the state filter shows it among the cancelled jobs only
    p.page.select_option("[data-testid=state-filter]", "cancelled")
    wait_js(
        p.page,
        "(() => { const b = [...document.querySelectorAll('[data-testid=jobs-table] .badge')];"
        " return b.length > 0 && b.every((e) => e.dataset.state === 'cancelled'); })()",
    )
    p.page.wait_for_selector(f"{row} .badge[data-state=cancelled]")
    p.page.click(f"{row} a")
    p.page.wait_for_selector("[data-testid=error][data-code=CANCELLED]")
    p.shot("cancelled")
    # re-submit makes a new job of the same draft and output options (then cancelled here too)
    p.page.click("[data-testid=resubmit]")
    p.page.wait_for_selector(".toast")
    newest = requests.get(f"{server.base}/v1/renders?limit=1", timeout=10).json()["items"][0]
    assert newest["id"] != job["id"] and newest["draft_url"] == url and newest["output"] == state["output"]
    requests.delete(f"{server.base}/v1/renders/{newest['id']}", timeout=30)


def test_drop_a_draft_content_json_and_check_it(server, draft_host, media, open_page, tmp_path):
    did = new_draft_id()
    draft_host.add_content(did, {"id": did}, {"assets/videos/clip.mp4": media["short"]})
    clip_url = f"{draft_host.base}/output/draft/{did}/assets/videos/clip.mp4"
    content = tmp_path / "draft_content.json"
    draft = tiny_draft(did, seconds=2.0, video=clip_url)
    with_unknown_effect(draft)
    content.write_text(json.dumps(draft, ensure_ascii=False))
    p = open_page(server.base + "/")
    p.goto("/#/check")
    p.page.set_input_files("[data-testid=draft-file]", str(content))
    assert "draft_content.json" in p.page.wait_for_selector("[data-testid=file-note]:not([hidden])").text_content()
    p.page.click("[data-testid=check]")
    warning = p.page.wait_for_selector("[data-testid=probe-result] [data-testid=warning]")
    assert "未知特效" in warning.text_content()
    assert "2.0 s" in p.page.text_content("[data-testid=probe-result]")


def test_chinese_ui_follows_the_browser_and_switches(server, open_page):
    p = open_page(server.base + "/", locale="zh-CN")
    p.goto("/")
    assert p.page.text_content("nav a[data-tab=jobs]") == "任务"
    p.page.wait_for_selector("[data-testid=jobs-table]")
    p.shot("jobs-zh")
    p.page.select_option("#lang", "en")
    assert p.page.text_content("nav a[data-tab=jobs]") == "Jobs"


def test_jobs_are_paged(server, open_page):
    everything = [j["id"] for j in requests.get(f"{server.base}/v1/renders", timeout=10).json()["items"]]
    assert len(everything) >= 3  # made by the tests above
    p = open_page(server.base + "/")
    p.goto("/#/jobs?limit=2")

    def shown() -> list[str]:
        p.page.wait_for_selector("[data-testid=jobs-table] tbody tr")
        return p.page.eval_on_selector_all("[data-testid=jobs-table] tbody tr", "rows => rows.map(r => r.dataset.id)")

    assert shown() == everything[:2]
    p.page.click("text=Older →")
    p.page.wait_for_selector(f"[data-testid=jobs-table] tr[data-id='{everything[2]}']")
    assert shown() == everything[2:4]
    p.page.click("text=← Newer")
    p.page.wait_for_selector(f"[data-testid=jobs-table] tr[data-id='{everything[0]}']")
    assert shown() == everything[:2]


def test_console_page_headers_and_files(server):
    r = requests.get(server.base + "/", timeout=10)
    csp = r.headers["Content-Security-Policy"]
    for part in ("default-src 'self'", "media-src 'self' blob:", "img-src 'self' data: blob:", "connect-src 'self'"):
        assert part in csp
    assert '<script type="module" src="static/console/console.js">' in r.text
    assert "<script>" not in r.text and " style=" not in r.text  # nothing inline for CSP to refuse
    for name in ("console.js", "console.css", "api.js", "i18n.js"):
        assert requests.get(f"{server.base}/static/console/{name}", timeout=10).status_code == 200
    assert requests.get(f"{server.base}/static/console/..%2Fapp.py", timeout=10).status_code == 404


# -- API keys (the auth work: keys from --api-keys, jobs per key, /k/<key>/ base) ----------------


@pytest.fixture(scope="module")
def keyed_server(servers) -> ServerProcess:
    return servers["keyed"]


def test_two_keys_each_see_only_their_own_jobs(keyed_server, draft_host, media, open_page):
    base = keyed_server.base
    assert requests.get(f"{base}/v1/renders", timeout=10).status_code == 401  # keys are enforced

    # A: the page itself needs no key; the first API call's 401 asks for it (kept per tab)
    a = open_page(base + "/")
    a.expected_statuses = (401, 404)
    a.goto("/")
    a.page.wait_for_selector("#key-dialog[open]")
    a.shot("key-prompt")
    a.page.fill("#key-input", KEY_A)
    a.page.click("#key-form button[type=submit]")
    a.page.wait_for_selector("[data-testid=jobs-table]")
    job_a = submit_from_check_page(a, add_draft(draft_host, media["short"], seconds=1.0))
    a.page.wait_for_selector('[data-testid=job-progress][aria-valuenow="100"][data-state=completed]')
    wait_until_played(a)  # a signed video_url plays without headers

    # B: through the /k/<key>/ base URL (EventSource included)
    b = open_page(f"{base}/k/{KEY_B}/")
    b.expected_statuses = (404,)
    b.goto("/#/jobs")
    b.page.wait_for_selector("[data-testid=jobs-table]")
    b.page.wait_for_selector(".empty:not([hidden])")
    job_b = submit_from_check_page(b, add_draft(draft_host, media["short"], seconds=1.0))
    b.page.wait_for_selector('[data-testid=job-progress][aria-valuenow="100"][data-state=completed]')
    assert any(f"/k/{KEY_B}/v1/renders/{job_b}/events" in u for u in b.requests)

    for p, mine, theirs in ((a, job_a, job_b), (b, job_b, job_a)):
        p.page.click("nav a[data-tab=jobs]")
        p.page.wait_for_selector(f"[data-testid=jobs-table] tr[data-id='{mine}']")
        ids = p.page.eval_on_selector_all("[data-testid=jobs-table] tbody tr", "rows => rows.map(r => r.dataset.id)")
        assert ids == [mine]
        p.shot(f"key-{'a' if p is a else 'b'}-jobs")
        p.page.goto(p.base.rstrip("/") + f"/#/job/{theirs}")
        p.page.wait_for_selector("[data-testid=error][data-code=NOT_FOUND]")
    assert not any(KEY_A in u for u in b.requests) and not any(KEY_B in u for u in a.requests)


@pytest.fixture(scope="session", autouse=True)
def _fresh_artifacts():
    shutil.rmtree(SHOTS, ignore_errors=True)
    yield
