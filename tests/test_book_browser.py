"""Every page of the rendered book (``_build/html``) in headless Chromium, offline.

Run by ``make test`` (target ``browser``, which builds the book first if ``_build/html`` is missing or stale).
Serves ``_build/html`` on 127.0.0.1 and resolves every other host name to nothing, so a page that needs the network
(a CDN script, a remote image) fails here. For each page: no console error, every image loaded (naturalWidth > 0),
every internal link (and its #fragment) resolves, math typeset by MathJax (no raw ``\\(`` / ``$$`` left), no code or
output line wider than the text column at 1400 px, and the executed widgets rendered from their saved state (views
present; their figures loaded where the saved state holds an Output or Image widget, not only progress bars). The landing page's sidebar lists every chapter of ``_toc.yml``. Screenshots of the
landing page and chapters 6, 7, 12, 13, 14 and 15 go to ``_build/screenshots/``.

Book: every page (``book/intro.md``, ``book/NN_*.ipynb``).
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", shutil.which("chromedriver") or "/usr/bin/chromedriver")
WIDTH, HEIGHT = 1400, 1000
SCREENSHOT_PAGES = {"book/intro": "landing", "book/06_neuralogram": "06", "book/07_pitch": "07",
                    "book/12_reproduced": "12", "book/13_audioset_net": "13", "book/14_real_world": "14",
                    "book/15_hear": "15"}

if not (HTML / "index.html").is_file():
    pytest.skip("no rendered book: _build/html is missing (`make browser` builds it, then runs this test)",
                allow_module_level=True)
if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
    pytest.skip(f"headless Chromium not found ({CHROMIUM}, {CHROMEDRIVER}); apt-get install chromium "
                "chromium-driver", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
yaml = pytest.importorskip("yaml")


def toc_pages() -> list[str]:
    """Docnames in reading order, from _toc.yml (root first)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for e in entries or []:
            if "file" in e:
                pages.append(e["file"])
            walk(e.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages


PAGES = toc_pages()
CHAPTERS = [p for p in PAGES if p != yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]]


def page_file(docname: str) -> str:
    return "index.html" if docname == "index" else f"{docname}.html"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # noqa: D401  (no request log on stderr)
        pass


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(_Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def driver():
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars", "--mute-audio",
                # offline: every host but this machine resolves to nothing, so a CDN request is an error here
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(60)
    drv.set_script_timeout(60)
    yield drv
    drv.quit()


_IDS: dict[Path, set[str]] = {}


def _ids(path: Path) -> set[str]:
    if path not in _IDS:
        _IDS[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text(errors="replace")))
    return _IDS[path]


# Waits for the page's MathJax (when it has math) and for the widget manager to replace every saved widget view.
_SETTLE = """
const done = arguments[arguments.length - 1];
const deadline = Date.now() + 45000;
async function settle() {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const want = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length;
  let last = '', stable = 0;
  while (Date.now() < deadline) {
    const views = document.querySelectorAll('.jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox,'
                                            + ' .jupyter-widgets.widget-inline-vbox, .widget-box').length;
    const imgs = Array.from(document.images);
    const now = views + '/' + imgs.length;
    stable = (now === last) ? stable + 1 : 0;
    last = now;
    // settled: widgets drawn (if any), every image finished, nothing new for a second
    if ((want === 0 || views > 0) && imgs.every(i => i.complete) && stable >= 4) break;
    await new Promise(r => setTimeout(r, 250));
  }
  done(want);
}
settle().catch(e => done(-1));
"""

_CHECK = """
const text = (() => {
  const body = document.querySelector('main') || document.body;
  const copy = body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, .highlight, mjx-container, .MathJax').forEach(e => e.remove());
  return copy.textContent;
})();
const mathSources = document.querySelectorAll('span.math, div.math').length;
const typeset = document.querySelectorAll('mjx-container').length;
const badImages = Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
                       .map(i => (i.currentSrc || i.src || '').slice(0, 120));
const wide = Array.from(document.querySelectorAll('main pre, main div.cell_output, main .jupyter-widgets img'))
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 2)
  .map(e => e.tagName + '.' + (e.className || '').toString().slice(0, 40) + ': ' + e.scrollWidth + ' > '
            + e.clientWidth);
const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
const widgetViews = document.querySelectorAll('.jupyter-widgets.widget-container, .widget-box').length;
const widgetImgs = Array.from(document.querySelectorAll('.widget-output img, .jupyter-widgets img'))
                       .filter(i => i.naturalWidth > 0).length;
const widgetErrors = Array.from(document.querySelectorAll('.jupyter-widgets'))
                         .filter(e => /Error displaying widget|model not found/i.test(e.textContent)).length;
const sidebar = Array.from(document.querySelectorAll('.bd-sidebar-primary a[href], nav.bd-docs-nav a[href]'))
                     .map(a => a.href);
return {rawMath: /\\\\\\(|\\\\\\[|\\$\\$/.test(text), mathSources, typeset, badImages, wide, links, widgetViews,
        widgetImgs, widgetErrors, sidebar, title: document.title};
"""


def _is_noise(entry: dict) -> bool:
    return "favicon.ico" in entry.get("message", "")


@pytest.mark.parametrize("docname", PAGES)
def test_page(docname, server, driver):
    url = urljoin(server, page_file(docname))
    driver.get_log("browser")  # drop what earlier pages left
    driver.get(url)
    want_views = driver.execute_async_script(_SETTLE)
    info = driver.execute_script(_CHECK)

    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE" and not _is_noise(e)]
    assert not errors, f"{docname}: console errors: {errors[:5]}"
    assert not info["badImages"], f"{docname}: images that did not load: {info['badImages'][:5]}"
    assert not info["rawMath"], f"{docname}: raw TeX delimiters left in the text (MathJax did not typeset)"
    if info["mathSources"]:
        assert info["typeset"] > 0, f"{docname}: {info['mathSources']} math elements but no MathJax output"
    assert not info["wide"], f"{docname}: lines wider than the text column at {WIDTH} px: {info['wide'][:5]}"

    # internal links: the file exists and so does the #fragment
    broken = []
    page = HTML / page_file(docname)
    for href in set(info["links"]):
        u = urlparse(href)
        if not href.startswith(server) or u.scheme not in ("http", "https"):
            continue
        target = HTML / unquote(u.path.lstrip("/"))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(href)
        elif u.fragment and target.suffix == ".html" and unquote(u.fragment) not in _ids(target):
            broken.append(href)
    assert not broken, f"{docname} ({page.name}): internal links that do not resolve: {sorted(broken)[:8]}"

    if want_views:
        assert info["widgetErrors"] == 0, f"{docname}: a widget failed to render from its saved state"
        assert info["widgetViews"] > 0, f"{docname}: {want_views} saved widget views, none rendered"
        # progress bars (tqdm, shown when a cold build computes a cache) are widgets without figures; a page whose
        # saved widget state holds an Output or Image model must show its figure
        saved = (HTML / page_file(docname)).read_text(encoding="utf-8")
        if re.search(r'"model_name":\s*"(OutputModel|ImageModel)"', saved):
            assert info["widgetImgs"] > 0, f"{docname}: the widgets rendered without their saved figures"

    if docname in SCREENSHOT_PAGES:
        SHOTS.mkdir(parents=True, exist_ok=True)
        name = SCREENSHOT_PAGES[docname]
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(SHOTS / f"{name}_top.png"))
        for what, css in (("math", "mjx-container[display='true'], mjx-container"),
                          ("figure", "div.cell_output img"),
                          ("widget", ".jupyter-widgets.widget-container, .widget-box")):
            found = driver.find_elements("css selector", css)
            if found:
                driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", found[0])
                driver.save_screenshot(str(SHOTS / f"{name}_{what}.png"))


def test_sidebar_lists_every_chapter(server, driver):
    driver.get(urljoin(server, "index.html"))
    info = driver.execute_script(_CHECK)
    listed = {urlparse(h).path.lstrip("/") for h in info["sidebar"]}
    missing = [c for c in CHAPTERS if page_file(c) not in listed]
    assert not missing, f"chapters missing from the sidebar: {missing}"
