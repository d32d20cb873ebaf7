"""Headless Chromium (Debian ``chromium``, driven by Playwright) on the dashboard page:
open it, record every request it makes, and compare what it shows with the API's JSON."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]  # fmt: skip


@dataclass
class BrowserSession:
    """An open dashboard page and what it loaded."""

    page: Page
    base_url: str
    requests: list[str] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def external_requests(self) -> list[str]:
        """Requests to anything but the API's origin (``data:`` URLs are local)."""
        return [
            u
            for u in self.requests
            if not u.startswith(self.base_url) and not u.startswith("data:")
        ]

    def external_resources(self) -> list[str]:
        """Resource timing entries of the page pointing elsewhere than the API."""
        names: list[str] = self.page.evaluate(
            "performance.getEntriesByType('resource').map(e => e.name)"
        )
        return [n for n in names if not n.startswith(self.base_url) and not n.startswith("data:")]


@contextmanager
def open_dashboard(
    base_url: str, width: int = 1600, height: int = 1500
) -> Iterator[BrowserSession]:
    """Open ``{base_url}/dashboard`` in headless Chromium."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            session = BrowserSession(page, base_url)
            page.on("request", lambda r: session.requests.append(r.url))
            page.on(
                "framenavigated",
                lambda f: session.navigations.append(f.url) if f == page.main_frame else None,
            )
            page.on(
                "console",
                lambda m: session.console_errors.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: session.console_errors.append(str(e)))
            page.goto(f"{base_url}/dashboard", wait_until="domcontentloaded")
            yield session
            page.close()
            context.close()
        finally:
            browser.close()


def figures(page: Page) -> dict[str, str]:
    """``data-figure`` name -> ``data-value`` of every figure on the page."""
    found: dict[str, str] = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('[data-figure]'))"
        ".map(e => [e.dataset.figure, e.dataset.value ?? '']))"
    )
    return found


def texts(page: Page) -> dict[str, str]:
    """``data-figure`` name -> text shown."""
    found: dict[str, str] = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('[data-figure]'))"
        ".map(e => [e.dataset.figure, e.textContent]))"
    )
    return found


def _value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def expected_figures(base_url: str) -> dict[str, str]:
    """The figures the page should show, computed from the documented endpoints (the
    latest pass), formatted as the page stores them in ``data-value`` (JS ``String``)."""

    def get(path: str, **params: Any) -> Any:
        r = httpx.get(base_url + path, params=params, timeout=10)
        r.raise_for_status()
        return r.json()

    passes = get("/dashboard/api/passes")
    pass_key = passes[0]["pass_key"]
    total = next(
        s for s in get("/dashboard/api/latency", pass_key=pass_key)["segments"]
        if s["stage"] == "total"
    )  # fmt: skip
    sel = get("/dashboard/api/selection")["per_pass"][pass_key]
    tp = get("/dashboard/api/throughput", window_s=15, windows=40)
    topics = get("/dashboard/api/backlog")["topics"]
    jobs = next((t for t in topics if t["bursts"] is not None and "focus" in t["topic"]), None)
    workers = get("/dashboard/api/workers")
    events = passes[0]["events"]
    errors = sum(events.get(k, 0) for k in ("focus-failed", "rejected-chunk", "burst-dropped",
                                             "corrupt"))  # fmt: skip
    out = {
        "total-p50": total["p50_s"], "total-p95": total["p95_s"], "total-p99": total["p99_s"],
        "total-count": total["count"], "total-late": total["late"],
        "total-budget": total["budget_s"], "focused": sel["product"], "skipped": sel["skipped"],
        "failed": sel["failed"], "pending": sel["pending"], "chunks-per-s": tp["chunks_per_s"],
        "chunks-total": tp["chunks_total"], "backlog-bursts": jobs and jobs["bursts"],
        "backlog-sensing": jobs and jobs["sensing_s"], "workers-running": workers["running"],
        "workers-concurrent": workers["max_concurrent_focus"],
        "events-gap": events.get("gap", 0), "events-incomplete": events.get("burst-incomplete", 0),
        "events-errors": errors,
    }  # fmt: skip
    return {k: _value(v) for k, v in out.items()}


def wait_until_figures_match(page: Page, base_url: str, timeout_s: float = 30.0) -> dict[str, str]:
    """Wait until the page's figures equal the API's (the page is live: it catches up
    with the timeline on its own); return them."""
    deadline = time.monotonic() + timeout_s
    shown: dict[str, str] = {}
    expected: dict[str, str] = {}
    while time.monotonic() < deadline:
        expected = expected_figures(base_url)
        shown = figures(page)
        if shown == expected:
            return shown
        time.sleep(0.5)
    raise AssertionError(f"page figures {shown} != API {expected}")
