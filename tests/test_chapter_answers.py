"""Every hidden answer runs in its chapter, as for a student who opens each dropdown and runs its
code after the chapter: each notebook is executed with its answers' code appended, at the `ci`
scale. An answer that names a variable the chapter never defines, or calls the package wrongly,
fails here. (The implementation exercises' solutions are run through their checkers in
test_exercises.py.)"""

import re

import nbformat
import pytest
from nbclient import NotebookClient
from test_chapters import CHAPTERS


def answers_of(notebook) -> list[str]:
    return [
        block
        for cell in notebook.cells
        if cell.cell_type == "markdown" and ":::{dropdown} Answer" in cell.source
        for block in re.findall(r"```python\n(.*?)```", cell.source, flags=re.S)
    ]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_answer_runs_after_its_chapter_and_prints_its_result(path, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setenv("MINISCHNET_SCALE", "ci")
    notebook = nbformat.read(path, as_version=4)
    answers = answers_of(notebook)
    assert answers, f"{path.name} has no answer with code"
    n = len(notebook.cells)
    notebook.cells += [nbformat.v4.new_code_cell(code) for code in answers]
    client = NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": path.parent}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    for cell in notebook.cells[n:]:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert printed.strip(), f"an answer of {path.name} prints nothing:\n{cell.source}"
