"""Open every page of the built book in headless Chromium, as a reader would, and fail on any
uncaught JavaScript error, on MathJax loaded more than once, or on equations left unrendered.

    python book/check_in_browser.py [book/_build/html]

The pages are served on localhost; Chromium runs with its network features off (nothing is
fetched from outside). Needs Debian's chromium (``apt-get install chromium``).
"""

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000", "--dump-dom",
]  # fmt: skip


def serve(folder: Path) -> http.server.ThreadingHTTPServer:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def problems_of(page: Path, html_dir: Path, port: int, browser: str) -> list[str]:
    """What is wrong with one page as Chromium shows it (an empty list: nothing)."""
    url = f"http://127.0.0.1:{port}/{page.relative_to(html_dir).as_posix()}"
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    found = []
    for line in done.stderr.splitlines():
        if "CONSOLE" in line and re.search(r"Uncaught|Error:|SyntaxError|TypeError", line):
            found.append(line.split("] ", 1)[-1][:300])
    source = page.read_text(encoding="utf-8")
    loads = len(re.findall(r"<script[^>]*src=\"[^\"]*tex-svg\.js", source))
    if loads > 1:
        found.append(f"MathJax is loaded {loads} times")
    has_math = 'class="math' in source
    if has_math and "mjx-container" not in done.stdout:
        found.append("the page has equations but MathJax rendered none")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", type=Path, default=Path("book/_build/html"))
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium is not installed: apt-get install chromium", file=sys.stderr)
        return 2
    pages = sorted(p for p in args.html.rglob("*.html") if "_static" not in p.parts)
    pages = [p for p in pages if p.name not in ("genindex.html", "search.html")]
    if not pages:
        print(f"no pages under {args.html}: build the book first", file=sys.stderr)
        return 2
    server = serve(args.html)
    failed = 0
    try:
        for page in pages:
            found = problems_of(page, args.html, server.server_address[1], browser)
            print(f"{'FAIL' if found else 'ok  '} {page.relative_to(args.html)}")
            for problem in found:
                print(f"       {problem}")
            failed += bool(found)
    finally:
        server.shutdown()
    print(f"{len(pages) - failed} of {len(pages)} pages without a problem in Chromium")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
