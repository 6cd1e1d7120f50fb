"""What a tablet downloads for the step screen: cold (empty cache) at most 150 KB in all, warm at
most 20 KB in at most 5 requests (issue 14). Counted by Chromium itself (bytes on the wire,
headers included), the way a workshop's Wi-Fi carries them."""

import pytest

from tests.browser.test_step_nothing_lost import test_car_job  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

COLD_MAX_BYTES = 150_000
WARM_MAX_BYTES = 20_000
WARM_MAX_REQUESTS = 5


class _Wire:
    """Requests and bytes of one page load, from Chromium's network events (DevTools)."""

    def __init__(self, page):
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.sent: dict[str, str] = {}
        self.cached: set[str] = set()
        self.bytes: dict[str, float] = {}
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.requestServedFromCache", lambda e: self.cached.add(e["requestId"]))
        self.cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event):
        self.sent[event["requestId"]] = event["request"]["url"]

    def _finished(self, event):
        self.bytes[event["requestId"]] = event["encodedDataLength"]

    def clear_cache(self):
        self.cdp.send("Network.clearBrowserCache")

    def reset(self):
        self.sent.clear()
        self.cached.clear()
        self.bytes.clear()

    def over_the_network(self) -> dict[str, float]:
        """URL -> bytes of every request that was not answered from the browser's cache."""
        return {
            url: self.bytes.get(rid, 0)
            for rid, url in self.sent.items()
            if rid not in self.cached and not url.startswith("data:")
        }


def test_step_screen_is_light_cold_and_lighter_warm(test_car_job, live_server, new_page, log_in):  # noqa: F811
    job, _tech = test_car_job
    page = new_page("portrait")
    log_in(page, "somchai")
    wire = _Wire(page)
    url = f"{live_server}/jobs/{job.id}/steps/intake-01"

    wire.clear_cache()
    wire.reset()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    cold = wire.over_the_network()
    assert sum(".woff2" in u for u in cold) == 3, cold  # the fonts came too
    assert sum(cold.values()) <= COLD_MAX_BYTES, cold

    wire.reset()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    warm = wire.over_the_network()
    assert len(warm) <= WARM_MAX_REQUESTS, warm
    assert sum(warm.values()) <= WARM_MAX_BYTES, warm
    # fingerprinted files and fonts are not downloaded again (Chromium may look up the favicon)
    assert not any(("/static/" in u or "/fonts/" in u) and n for u, n in warm.items()), warm
