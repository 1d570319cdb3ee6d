"""Small Sphinx fixes for the rendered book, loaded from _config.yml (``sphinx.local_extensions``).

* sphinx-thebe and sphinx-togglebutton register inline scripts twice with Sphinx 7 (``const THEBE_JS_URL`` declared
  twice: a SyntaxError in every page's console); each page keeps one copy of every script.

* Sphinx 7.4 never overwrites a file already in ``_build/html/_static``, so an edited stylesheet or a new vendor
  bundle would not reach an existing build: stale copies of ``book/_static`` files are refreshed first.

Book: every page (tests/test_book_browser.py checks the console).
"""
from __future__ import annotations

import filecmp
import shutil
from pathlib import Path


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = (str(getattr(js, "filename", js) or ""), repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(js)
    scripts[:] = kept


def _drop_stale_static(app):
    if app.builder.format != "html":
        return
    out = Path(app.outdir) / "_static"
    for entry in app.config.html_static_path:
        src = Path(app.confdir) / entry
        for f in src.rglob("*") if src.is_dir() else []:
            dst = out / f.relative_to(src)
            if f.is_file() and dst.is_file() and not filecmp.cmp(f, dst, shallow=False):
                shutil.copyfile(f, dst)


def setup(app):
    app.connect("builder-inited", _drop_stale_static)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
