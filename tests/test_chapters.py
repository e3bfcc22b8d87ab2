"""The chapters as a course, checked on the committed notebooks.

Each chapter opens with what it teaches, what it needs and how long it takes; ends with a summary
and its references; has at least three numbered exercises whose answers are hidden (a dropdown in
the book, never executed in front of the student); keeps code and printed text inside the book's
column of 88 characters; shows no error; and draws its figures at twice the pixel density.
"""

import ast
import json
import re
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).parents[1] / "tutorials"
CHAPTERS = sorted(TUTORIALS.glob("0*.ipynb"))
COLUMN = 88  # characters of code that fit the book's column without scrolling


def cells_of(notebook: Path) -> list[dict]:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        cell["text"] = "".join(cell["source"])
    return cells


def exercises_of(cells: list[dict]) -> dict[str, list[dict]]:
    """Each exercise heading with the cells of its section (up to the next heading)."""
    sections, current = {}, None
    for cell in cells:
        heading = re.search(r"^#{2,3} (.*)$", cell["text"], flags=re.M)
        if cell["cell_type"] == "markdown" and heading:
            exercise = re.search(r"^### (Exercise \d+\.\d+)\b", cell["text"], flags=re.M)
            current = exercise.group(1) if exercise else None
            if current:
                sections[current] = []
        if current:
            sections[current].append(cell)
    return sections


def test_there_are_eight_chapters():
    assert [p.name[:2] for p in CHAPTERS] == [f"0{k}" for k in range(1, 9)]


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_a_chapter_opens_with_objectives_and_ends_with_a_summary(notebook):
    text = "\n".join(c["text"] for c in cells_of(notebook) if c["cell_type"] == "markdown")
    for part in ("**In this chapter**", "**You need**", "**Time**", "## Summary", "**References**"):
        assert part in text, f"{notebook.name} lacks {part}"
    assert text.index("**In this chapter**") < text.index("## Summary")


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_three_exercises_or_more_each_with_a_hidden_answer(notebook):
    chapter = int(notebook.name[:2])
    sections = exercises_of(cells_of(notebook))
    names = list(sections)
    assert len(names) >= 3, f"{notebook.name}: {names}"
    assert names == [f"Exercise {chapter}.{k}" for k in range(1, len(names) + 1)]
    for name, cells in sections.items():
        markdown = "".join(c["text"] for c in cells if c["cell_type"] == "markdown")
        assert ":::{dropdown}" in markdown, f"{notebook.name}, {name}: no hidden answer"
        for cell in cells:
            if cell["cell_type"] == "code":  # only the skeleton the student fills in runs
                assert "raise NotImplementedError" in cell["text"], f"{name} runs its answer"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_code_fits_the_column_and_answers_are_python(notebook):
    for cell in cells_of(notebook):
        blocks = [cell["text"]] if cell["cell_type"] == "code" else []
        blocks += re.findall(r"```python\n(.*?)```", cell["text"], flags=re.S)
        for block in blocks:
            for line in block.splitlines():
                assert len(line) <= COLUMN, f"{notebook.name}: {line}"
        for block in blocks[1 if cell["cell_type"] == "code" else 0 :]:
            ast.parse(block)  # every answer and solution is valid Python


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_outputs_fit_the_column_show_no_error_and_are_sharp(notebook):
    for cell in cells_of(notebook):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{notebook.name}: {cell['text'][:60]}"
            if "image/png" in output.get("data", {}):
                size = output.get("metadata", {}).get("image/png", {})
                assert "width" in size, f"{notebook.name}: a figure not drawn for retina"
            if "getsource" in cell["text"]:
                continue  # the package's own source, printed as it is (lines up to 100)
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            for line in "".join(text).splitlines():
                assert len(line) <= COLUMN, f"{notebook.name}: {line}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_a_cell_that_draws_shows_its_figure(notebook):
    # The book is built from the committed outputs (execute_notebooks: off): a notebook executed
    # where matplotlib cannot display (a non-inline backend) keeps the text and silently drops
    # every figure from the chapter.
    draws = re.compile(r"plt\.subplots\(|plt\.figure\(|_figure\(|\.plot\(|imshow\(")
    for cell in cells_of(notebook):
        if cell["cell_type"] == "code" and draws.search(cell["text"]):
            shown = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
            assert shown, f"{notebook.name}: no figure stored for {cell['text'][:60]!r}"


def chapter_table() -> list[tuple]:
    """Per chapter: words of prose (markdown without maths and code), exercises (implement),
    figures (PNG outputs) and display equations."""
    rows = []
    for notebook in CHAPTERS:
        markdown = [c["text"] for c in cells_of(notebook) if c["cell_type"] == "markdown"]
        prose = [re.sub(r"\$\$.*?\$\$|\$[^$]*\$|```.*?```", " ", m, flags=re.S) for m in markdown]
        exercises = sum(len(re.findall(r"^### Exercise \d+\.\d+", m, re.M)) for m in markdown)
        implement = sum(
            len(re.findall(r"^### Exercise \d+\.\d+ \(implement", m, re.M)) for m in markdown
        )
        figures = sum(
            "image/png" in output.get("data", {})
            for cell in cells_of(notebook)
            for output in cell.get("outputs", [])
        )
        equations = sum(m.count("$$") // 2 for m in markdown)
        words = sum(len(p.split()) for p in prose)
        rows.append((notebook.stem, words, exercises, implement, figures, equations))
    return rows


if __name__ == "__main__":  # python tests/test_chapters.py: the chapters in numbers
    print("| chapter | words | exercises (implement) | figures | display equations |")
    print("|---|---|---|---|---|")
    for name, words, exercises, implement, figures, equations in chapter_table():
        print(f"| {name} | {words:,} | {exercises} ({implement}) | {figures} | {equations} |")
