"""Done-when of the tablet issue: every page each demo role can reach, walked at 800x1280 in Thai.

For each demo login the walk follows the links of the pages it can reach (same site, GET only, no
downloads, no log-out, no language switch), breadth first, and on every page checks:
- no horizontal overflow (the page is never wider than the tablet);
- every button, form control and menu link is at least 44x44 px (a checkbox or radio counts with
  its label; links inside running text are excepted);
- no English sentence (five or more Latin words in a row) and no raw code (``snake_case``) in the
  visible text, outside an allow-list of product names, abbreviations and units (text shown as
  ``<code>``, such as CSV column names, is not prose).
Screenshots of the pages people review (step screen, inspector's record, certificate, projector)
are saved under tests/_artifacts/screenshots at both tablet sizes.
"""

import re
from collections import deque
from urllib.parse import urldefrag, urlparse

import pytest

from workshop.demo import DEMO_LOGINS, seed_demo

pytestmark = pytest.mark.browser

MAX_PAGES = 45
SKIP = re.compile(
    r"/logout|/lang/|/language|\.(pdf|csv|zip|blf|asc|png|jpe?g|woff2|css|js)(\?|$)|"
    r"/download|/trace(\?|$)|/export|/photos/|/report(\?|$)|/evidence|/qr"
)
# Names that stay Latin in the Thai interface: car and product names, the trade's abbreviations.
ALLOWED_LATIN = {
    "toyota", "vios", "honda", "jazz", "isuzu", "d-max", "max", "ncp93", "ge", "ev", "eol", "bms",
    "ecu", "can", "hvil", "vin", "pdf", "csv", "qr", "sha", "dc", "ac", "soc", "lfp", "nmc",
    "kw", "kwh", "ah", "nm", "kpa", "mm", "kg", "km", "thb", "bkk01", "cnx01", "sim", "blf",
    "gb", "mb", "kb", "id", "url", "https", "http", "dlt", "un", "r100", "iso", "ipx", "ip67",
}  # fmt: skip
LATIN_RUN = re.compile(r"(?:\b[A-Za-z][A-Za-z'’-]*\b[ ,]+){4}\b[A-Za-z][A-Za-z'’-]*\b")
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")

MEASURE = """() => {
  const doc = document.documentElement;
  const overflow = doc.scrollWidth - doc.clientWidth;
  const visible = el => {
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none') return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  };
  const inText = a => {
    const p = a.parentElement;
    if (!p || a.closest('nav, .menu, .actions, .button-row, .tabs, table')) return false;
    const text = (p.innerText || '').trim();
    return text.length > (a.innerText || '').trim().length + 20;
  };
  const small = [];
  const targets = document.querySelectorAll(
    'button, input:not([type=hidden]), select, textarea, nav a, .menu a, a.button, .tabs a');
  for (const el of targets) {
    if (!visible(el) && !(el.type === 'checkbox' || el.type === 'radio' || el.type === 'file')) continue;
    if (el.tagName === 'A' && inText(el)) continue;
    let box = el.getBoundingClientRect();
    const styled = el.type === 'file' && getComputedStyle(el).opacity === '0';
    if (el.type === 'checkbox' || el.type === 'radio' || styled) {
      // the finger lands on the label (or the styled button around a hidden file input)
      const label = el.closest('label, .file-btn') ||
        (el.id && document.querySelector(`label[for="${el.id}"]`));
      if (label && visible(label)) {
        // a label beside the box (not around it): the finger may land on either
        const l = label.getBoundingClientRect(), b = el.getBoundingClientRect();
        box = label.contains(el) ? l : {
          width: Math.max(l.right, b.right) - Math.min(l.left, b.left),
          height: Math.max(l.bottom, b.bottom) - Math.min(l.top, b.top)};
      } else if (!visible(el)) continue;
    }
    if (box.width < 44 - 0.5 || box.height < 44 - 0.5) {
      const name = el.name || el.id || (el.innerText || '').trim().slice(0, 30) || el.tagName;
      small.push(`${el.tagName.toLowerCase()} ${name} ${Math.round(box.width)}x${Math.round(box.height)}`);
    }
  }
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  // The visible text, less what is shown as code on purpose (CSV column names, data dumps).
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    if (!parent || parent.closest('code, kbd, samp, pre, script, style, noscript, template')) continue;
    if (!parent.getClientRects().length || !node.textContent.trim()) continue;
    parts.push(node.textContent.trim());
  }
  const text = parts.join('\\n');
  return {overflow, small, links, text};
}"""


def english_sentences(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        for match in LATIN_RUN.finditer(line):
            words = re.findall(r"[A-Za-z][A-Za-z'’-]*", match.group())
            if sum(w.lower() not in ALLOWED_LATIN for w in words) >= 5:
                found.append(match.group().strip())
    return found


def raw_codes(text: str) -> list[str]:
    return sorted({m.group() for m in SNAKE.finditer(text)})


@pytest.fixture
def demo(app):
    seed_demo()


def _walk(page, base: str, start: str, limit: int = MAX_PAGES):
    seen, queue, problems, pages = {start}, deque([start]), [], []
    while queue and len(pages) < limit:
        url = queue.popleft()
        response = page.goto(url)
        if response is None or response.status >= 400:
            problems.append(f"{url}: HTTP {response.status if response else '?'}")
            continue
        if not page.url.startswith(base):
            continue
        pages.append(url)
        found = page.evaluate(MEASURE)
        where = urlparse(url).path + (f"?{urlparse(url).query}" if urlparse(url).query else "")
        if found["overflow"] > 1:
            problems.append(f"{where}: {found['overflow']} px wider than the tablet")
        if found["small"]:
            problems.append(f"{where}: targets under 44 px: {found['small'][:6]}")
        english = english_sentences(found["text"])
        if english:
            problems.append(f"{where}: English: {english[:3]}")
        codes = raw_codes(found["text"])
        if codes:
            problems.append(f"{where}: raw codes: {codes[:6]}")
        for link in found["links"]:
            link = urldefrag(link)[0]
            if link.startswith(base) and link not in seen and not SKIP.search(link):
                seen.add(link)
                queue.append(link)
    return pages, problems


@pytest.mark.parametrize("login", DEMO_LOGINS, ids=[d.username for d in DEMO_LOGINS])
def test_every_page_fits_the_tablet_in_thai(demo, live_server, new_page, log_in, login):
    page = new_page("portrait")
    log_in(page, login.username, login.password)
    pages, problems = _walk(page, live_server, f"{live_server}/")
    assert len(pages) >= 3, pages
    assert problems == [], "\n".join(problems)


REVIEW_PAGES = {
    # name: (login, a path pattern the walk reaches)
    "step-screen": ("technician", re.compile(r"/jobs/\d+/steps/[\w-]+$")),
    "inspection-record": ("inspector", re.compile(r"/inspection/jobs/\d+$")),
    "certificate": ("inspector", re.compile(r"/certificates/\d+$")),
    "projector": ("trainer", re.compile(r"/sessions/\d+/projector$")),
}


@pytest.mark.parametrize("name", list(REVIEW_PAGES))
def test_review_screenshots_at_both_sizes(demo, live_server, new_page, log_in, shot, name):
    username, pattern = REVIEW_PAGES[name]
    login = next(d for d in DEMO_LOGINS if d.username == username)
    page = new_page("portrait")
    log_in(page, login.username, login.password)
    seen, queue, target = {live_server + "/"}, deque([live_server + "/"]), None
    while queue and target is None and len(seen) < 200:
        page.goto(queue.popleft())
        for link in page.evaluate(
            "() => [...document.querySelectorAll('a[href]')].map(a => a.href)"
        ):
            link = urldefrag(link)[0]
            if pattern.search(urlparse(link).path):
                target = link
                break
            if link.startswith(live_server) and link not in seen and not SKIP.search(link):
                seen.add(link)
                queue.append(link)
    assert target, f"no {name} page reachable by {username}"
    for viewport in ("portrait", "landscape"):
        tablet = new_page(viewport)
        log_in(tablet, login.username, login.password)
        tablet.goto(target)
        overflow = tablet.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        shot(tablet, f"review-{name}-{viewport}-th")
        assert overflow <= 1, f"{target} at {viewport}: {overflow} px too wide"
