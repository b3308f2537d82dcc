"""Figures placed in the report: each SVG inlined (alt text, ids made unique) and numbered in report order.

``figures({"fig_lab_he_relu": Path(".../fig_lab_he_relu.svg")})`` gives
``{"fig_lab_he_relu": {"number": 1, "caption": ..., "alt": ..., "svg": Markup("<svg ...")}}``,
which the templates' ``figure`` and ``ref`` macros place.
"""

from __future__ import annotations

import re
from pathlib import Path

from markupsafe import Markup, escape

from initbench import figures as figs


def inline_svg(svg_text: str, name: str, alt: str) -> Markup:
    """An SVG file's text made fit to sit inline in HTML, with alt text.

    Drops the XML prolog and metadata, prefixes every id (and every reference to it) with the
    figure's name so that several figures can share one page, and adds ``role="img"``, an
    ``aria-label`` and a ``<title>``.
    """
    text = svg_text[svg_text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', text)
    text = re.sub(
        r'(url\(#|href="#)([^")]+)',
        lambda m: f"{m.group(1)}{name}-{m.group(2)}" if m.group(2) in ids else m.group(0),
        text,
    )
    head_end = text.index(">") + 1
    head = text[:head_end].replace(
        "<svg ", f'<svg role="img" aria-label="{escape(alt)}" class="figure-svg" ', 1
    )
    return Markup(f"{head}\n <title>{escape(alt)}</title>{text[head_end:]}")


def figures(paths: dict[str, Path]) -> dict[str, dict]:
    """The drawn figures (name -> SVG file), numbered 1, 2, ... in the catalog's (report) order."""
    out = {}
    for name in [n for n in figs.FIGURES if n in paths]:
        alt = figs.FIGURES[name].alt
        out[name] = {
            "number": len(out) + 1,
            "caption": figs.CAPTIONS[name],
            "alt": alt,
            "svg": inline_svg(Path(paths[name]).read_text(encoding="utf-8"), name, alt),
        }
    return out
