"""Checks of a rendered report in a real browser (headless Chromium) and of its PDF (poppler).

Reusable on any report: every function takes the file's path, and the HTML checks take the list of
section ids to expect, e.g. ``assert_html_ok(Path("results/report/report.html"), report.SECTION_IDS)``.
Tests skip, with the reason, where chromium or poppler-utils is missing.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
RESULT_ID = "__initbench_check__"

# Runs in the page after load and writes what it found into the DOM, which --dump-dom prints.
CHECK_SCRIPT = """<script>
window.addEventListener('load', () => {
  const ids = %s;
  const r = {
    title: document.title,
    images: [...document.images].map(i => ({src: i.src.slice(0, 80), complete: i.complete, width: i.naturalWidth})),
    figures: [...document.querySelectorAll('figure')].map(f => {
      const s = f.querySelector('svg');
      const b = s ? s.getBoundingClientRect() : null;
      return {id: f.id, svg: !!s, role: s ? s.getAttribute('role') : null,
              label: s ? (s.getAttribute('aria-label') || '') : '', title: s && s.querySelector('title') ? s.querySelector('title').textContent : '',
              width: b ? b.width : 0, height: b ? b.height : 0,
              caption: f.querySelector('figcaption') ? f.querySelector('figcaption').textContent.trim() : ''};
    }),
    missing_sections: ids.filter(id => !document.getElementById(id)),
    external: performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:')),
  };
  const pre = document.createElement('pre');
  pre.id = '%s';
  pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>"""


def require_chromium() -> str:
    if not CHROMIUM:
        pytest.skip("chromium is not installed (Debian package 'chromium')")
    return CHROMIUM


def require_poppler() -> None:
    for tool in ("pdftoppm", "pdftotext", "pdfinfo"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed (Debian package 'poppler-utils')")


def browser_check(html_path: Path, section_ids, timeout: float = 90) -> dict:
    """Load a copy of ``html_path`` (plus a checking script) in headless Chromium; return what it found.

    Keys: ``title``, ``images`` (src, complete, width), ``figures`` (id, svg, role, label, title,
    width, height, caption), ``missing_sections`` and ``external`` (URLs the page fetched).
    """
    chromium = require_chromium()
    text = Path(html_path).read_text(encoding="utf-8")
    script = CHECK_SCRIPT % (json.dumps(list(section_ids)), RESULT_ID)
    text = text.replace("</body>", script + "\n</body>") if "</body>" in text else text + script
    with tempfile.TemporaryDirectory(prefix="initbench-browser-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(text, encoding="utf-8")
        profile = Path(tmp) / "profile"
        out = subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=10000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    m = re.search(rf'<pre id="{RESULT_ID}">(.*?)</pre>', out.stdout, flags=re.S)
    if not m:
        raise AssertionError(
            f"the checking script did not run; chromium exit {out.returncode}: {out.stderr[-2000:]}"
        )
    return json.loads(html.unescape(m.group(1)))


def assert_html_ok(html_path: Path, section_ids, min_figures: int = 1) -> dict:
    """No broken image, every figure an inline SVG with alt text and a caption, every section present,
    nothing fetched from outside the file."""
    r = browser_check(html_path, section_ids)
    broken = [i for i in r["images"] if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"broken images: {broken}"
    assert not r["missing_sections"], f"sections missing: {r['missing_sections']}"
    assert len(r["figures"]) >= min_figures, f"{len(r['figures'])} figures, expected at least {min_figures}"
    for f in r["figures"]:
        assert f["svg"], f"figure {f['id']!r} has no inline <svg>"
        assert f["role"] == "img" and f["label"] and f["title"], f"figure {f['id']!r} lacks alt text"
        assert f["width"] > 50 and f["height"] > 20, (
            f"figure {f['id']!r} renders at {f['width']}x{f['height']}"
        )
        assert f["caption"], f"figure {f['id']!r} has no caption"
    assert not r["external"], f"the page fetched external resources: {r['external']}"
    return r


def pdf_page_count(pdf: Path) -> int:
    require_poppler()
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, flags=re.M).group(1))


def pdf_pages(pdf: Path, out_dir: Path, dpi: int = 50) -> list[Path]:
    """Every page of ``pdf`` as a PNG in ``out_dir`` (pdftoppm), in page order."""
    require_poppler()
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / "page")], check=True)
    return sorted(out_dir.glob("page-*.png"))


def page_std(png: Path) -> float:
    """Standard deviation of a page's grey levels: near 0 for a blank page."""
    import matplotlib.image

    img = matplotlib.image.imread(png)
    return float(np.asarray(img[..., :3], dtype=float).mean(axis=-1).std())


def pdf_text(pdf: Path) -> str:
    """The PDF's text, whitespace collapsed to single spaces (so a caption broken over lines still matches)."""
    require_poppler()
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())


def assert_pdf_ok(
    pdf: Path, min_pages: int, max_pages: int, expected_texts=(), dpi: int = 50, min_std: float = 0.01
) -> int:
    """Page count in range, no blank page, every expected text (figure numbers, captions) present."""
    n = pdf_page_count(pdf)
    assert min_pages <= n <= max_pages, f"{n} pages, expected {min_pages} to {max_pages}"
    with tempfile.TemporaryDirectory(prefix="initbench-pdf-") as tmp:
        pages = pdf_pages(pdf, Path(tmp), dpi)
        assert len(pages) == n
        blank = [i + 1 for i, p in enumerate(pages) if page_std(p) < min_std]
    assert not blank, f"blank pages: {blank}"
    text = pdf_text(pdf)
    missing = [t for t in expected_texts if " ".join(t.split()) not in text]
    assert not missing, f"not in the PDF's text: {missing}"
    return n
