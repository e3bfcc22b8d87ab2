"""The book's own Sphinx extension: repeated script tags leave the head, nothing else changes."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))

from dedupe_scripts import drop_repeated_scripts  # noqa: E402


def test_a_repeated_inline_script_is_dropped_from_the_head_only():
    thebe = '    <script>const THEBE_JS_URL = "x";</script>\n'
    other = '    <script src="a.js"></script>\n'
    body = '<body><script>const THEBE_JS_URL = "x";</script></body>'
    html = f"<html><head>\n{thebe}{other}{thebe}{other}</head>{body}</html>"
    fixed = drop_repeated_scripts(html)
    assert fixed == f"<html><head>\n{thebe}{other}</head>{body}</html>"
    assert drop_repeated_scripts(fixed) == fixed
