"""Nothing leaves the machine: the page Chainlit serves loads no outside fonts or styles.

Chainlit 2.12's index.html preconnects to Google Fonts and links KaTeX's stylesheet from a
CDN whatever the config says. Web fonts are replaced through public/theme.json
(``custom_fonts`` points at a local, empty stylesheet; the theme sets system font stacks)
and maths rendering is off (``latex = false``), so those outside links are removed here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# <link ...> tags whose href is on another host: preconnects, the KaTeX stylesheet, fonts.
_OUTSIDE_LINK = re.compile(r"<link\b[^>]*\bhref=\"https?://[^\"]*\"[^>]*/?>\s*", re.DOTALL)


def local_only(html: str) -> str:
    """The page without <link> tags that would fetch from (or connect to) other hosts."""
    return _OUTSIDE_LINK.sub("", html)


def install() -> None:
    """Make Chainlit's page template local-only (wraps chainlit.server.get_html_template)."""
    import chainlit.server as server

    original: Callable[[str], str] = server.get_html_template
    if getattr(original, "atelier_local_only", False):
        return

    def template(root_path: str) -> str:
        return local_only(original(root_path))

    template.atelier_local_only = True  # type: ignore[attr-defined]
    server.get_html_template = template
