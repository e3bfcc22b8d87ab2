"""A Sphinx extension: each page loads each script once.

Jupyter Book 1 sets up sphinx-thebe and sphinx-togglebutton so that their inline snippets appear
twice in every page's head, which throws ``SyntaxError: Identifier 'THEBE_JS_URL' has already
been declared`` in the browser. When the build has finished, this removes from each page's head
every ``<script>`` tag that is an exact repeat of one before it.
"""

import re
from pathlib import Path

SCRIPT = re.compile(r"[ \t]*<script\b[^>]*>.*?</script>[ \t]*\n?", flags=re.S)


def drop_repeated_scripts(html: str) -> str:
    head_end = html.find("</head>")
    if head_end < 0:
        return html
    seen = set()

    def keep_first(match):
        tag = match.group(0).strip()
        if tag in seen:
            return ""
        seen.add(tag)
        return match.group(0)

    return SCRIPT.sub(keep_first, html[:head_end]) + html[head_end:]


def _after_build(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = drop_repeated_scripts(text)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
