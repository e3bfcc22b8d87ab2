"""Each checker passes a right answer written independently of the reference (plain loops, finite
differences), and rejects the typical wrong answers with the message that names the mistake."""

import numpy as np
import pytest
from test_forces import finite_difference_forces  # the same finite differences

from minischnet import exercises as ex
from minischnet.md import normal_mode_frequencies, normal_mode_matrix


def rejects(check, f, message):
    with pytest.raises(AssertionError, match=message):
        check(f)


# -- radial basis and cutoff -------------------------------------------------------------------


def gaussians(d, centers, gamma):
    return np.array([[np.exp(-gamma * (dp - mu) ** 2) for mu in centers] for dp in d])


def test_gaussian_expansion():
    ex.check_gaussian_expansion(gaussians)
    rejects(ex.check_gaussian_expansion, lambda d, c, g: gaussians(d, c, g).T, "transposed")
    rejects(ex.check_gaussian_expansion, lambda d, c, g: 1 / gaussians(d, c, g), "negative")
    rejects(ex.check_gaussian_expansion, lambda d, c, g: gaussians(d, c, 1.0), "gamma is missing")
    rejects(ex.check_gaussian_expansion, lambda d, c, g: gaussians(d, c, g) + 0.1, "wrong values")


def cutoff(d, rc):
    return np.array([0.5 * (np.cos(np.pi * x / rc) + 1) if x < rc else 0.0 for x in d])


def test_cosine_cutoff():
    ex.check_cosine_cutoff(cutoff)
    rejects(ex.check_cosine_cutoff, lambda d, rc: 0.5 * (np.cos(np.pi * d / rc) + 1), "beyond")
    rejects(ex.check_cosine_cutoff, lambda d, rc: 1.0 * (d < rc), "hard step")
    rejects(
        ex.check_cosine_cutoff, lambda d, rc: np.cos(np.pi * d / rc) * (d < rc), r"\(cos \+ 1\)"
    )


# -- cfconv (4) and DTNN (2) -------------------------------------------------------------------


def cfconv(h, W, idx_i, idx_j):
    y = np.zeros_like(h)
    for p, (i, j) in enumerate(zip(idx_i, idx_j)):
        y[i] += h[j] * W[p]
    return y


def test_cfconv():
    ex.check_cfconv(cfconv)
    rejects(ex.check_cfconv, lambda h, W, i, j: cfconv(h, W, i, i), r"h\[idx_j\], not h\[idx_i\]")
    rejects(ex.check_cfconv, lambda h, W, i, j: cfconv(h, W, j, j), "scatter over idx_i")
    rejects(ex.check_cfconv, lambda h, W, i, j: cfconv(h, W, j, i), "swapped")
    rejects(ex.check_cfconv, lambda h, W, i, j: h[j] * W, r"shape \(P, F\)")
    rejects(ex.check_cfconv, lambda h, W, i, j: h + cfconv(h, W, i, j), "residual")


def dtnn(x, d_hat, fcut, idx_i, idx_j, W_fx, b_f1, W_fd, b_f2, W_xf, gather="j", cut=True):
    v = np.zeros_like(x)
    for p, (i, j) in enumerate(zip(idx_i, idx_j)):
        k = j if gather == "j" else i
        factors = (x[k] @ W_fx + b_f1) * (d_hat[p] @ W_fd + b_f2)
        v[i] += np.tanh(factors @ W_xf) * (fcut[p] if cut else 1.0)
    return v


def test_dtnn_interaction():
    ex.check_dtnn_interaction(dtnn)
    rejects(ex.check_dtnn_interaction, lambda *a: dtnn(*a, gather="i"), r"x\[idx_j\]")
    rejects(ex.check_dtnn_interaction, lambda *a: dtnn(*a, cut=False), "cutoff")


# -- forces (5) and loss (6) -------------------------------------------------------------------


def test_forces():
    ex.check_forces(finite_difference_forces)
    rejects(ex.check_forces, lambda e, R: -finite_difference_forces(e, R), "sign")
    rejects(ex.check_forces, lambda e, R: finite_difference_forces(e, R).T, "shape")
    rejects(ex.check_forces, lambda e, R: 0.5 * finite_difference_forces(e, R), "wrong values")


def loss(E, E_hat, F, F_hat, rho):
    n = len(F)
    return (
        rho * (E - E_hat) ** 2 + sum(np.dot(F[i] - F_hat[i], F[i] - F_hat[i]) for i in range(n)) / n
    )


def test_energy_force_loss():
    ex.check_energy_force_loss(loss)
    rejects(
        ex.check_energy_force_loss,
        lambda E, Eh, F, Fh, rho: rho * (E - Eh) ** 2 + np.sum((F - Fh) ** 2),
        "number of atoms",
    )
    rejects(
        ex.check_energy_force_loss,
        lambda E, Eh, F, Fh, rho: rho * (E - Eh) ** 2 + np.mean((F - Fh) ** 2),
        "not 3n",
    )
    rejects(
        ex.check_energy_force_loss,
        lambda E, Eh, F, Fh, rho: (E - Eh) ** 2 + rho * np.sum((F - Fh) ** 2) / len(F),
        "rho weighs the energy",
    )


# -- one RPMD step -----------------------------------------------------------------------------


def rpmd_step(q, p, forces, masses, omega_P, dt, kick=0.5, springs=True):
    """Written with an eigen-decomposition of the spring matrix, not the package's transform."""
    P = len(q)
    m = masses[None, :, None]
    p = p + kick * dt * forces(q)
    if springs:
        K = 2 * np.eye(P) - np.roll(np.eye(P), 1, 0) - np.roll(np.eye(P), -1, 0)
        lam, C = np.linalg.eigh(K)  # springs: omega_k^2 = omega_P^2 lambda_k
        w = omega_P * np.sqrt(np.clip(lam, 0, None))[:, None, None]
        qk, pk = np.einsum("jk,jna->kna", C, q), np.einsum("jk,jna->kna", C, p)
        c, s = np.cos(w * dt), np.sin(w * dt)
        safe = np.where(w > 0, w, 1.0)
        qk, pk = (
            c * qk + np.where(w > 0, s / (m * safe), dt / m) * pk,
            c * pk - m * w * s * qk,
        )
        q, p = np.einsum("jk,kna->jna", C, qk), np.einsum("jk,kna->jna", C, pk)
    else:
        q = q + dt * p / m
    return q, p + kick * dt * forces(q)


def test_rpmd_step():
    # the spring matrix's eigenvalues are the package's normal-mode frequencies (squared)
    K = 2 * np.eye(6) - np.roll(np.eye(6), 1, 0) - np.roll(np.eye(6), -1, 0)
    np.testing.assert_allclose(
        np.sort(np.linalg.eigvalsh(K)), np.sort(normal_mode_frequencies(6, 1.0) ** 2), atol=1e-12
    )
    assert normal_mode_matrix(6).shape == (6, 6)
    ex.check_rpmd_step(rpmd_step)
    rejects(ex.check_rpmd_step, lambda *a: rpmd_step(*a, kick=1.0), "half steps")
    rejects(ex.check_rpmd_step, lambda *a: rpmd_step(*a, springs=False), "springs")
    rejects(ex.check_rpmd_step, lambda *a: rpmd_step(*a)[0], "tuple")


def test_the_reference_passes_its_own_checkers():
    from minischnet import reference

    ex.check_gaussian_expansion(reference.gaussian_expansion)
    ex.check_cosine_cutoff(reference.cosine_cutoff)
    ex.check_cfconv(lambda h, W, i, j: reference.scatter_add(h[j] * W, i, len(h)))


def notebook_solutions():
    """(notebook, imports of the exercise cell, solution code) for every hidden solution."""
    import json
    import re
    from pathlib import Path

    found = []
    for notebook in sorted((Path(__file__).parents[1] / "tutorials").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        for before, cell in zip(cells, cells[1:]):
            text = "".join(cell["source"])
            if cell["cell_type"] == "markdown" and text.startswith(":::{dropdown} A solution"):
                code = re.search(r"```python\n(.*?)```", text, flags=re.S).group(1)
                exercise = "".join(before["source"])
                imports = exercise[: exercise.index("\ndef ")]  # the cell's imports
                found.append((notebook.name, imports, code))
    return found


@pytest.mark.parametrize("name, imports, code", notebook_solutions())
def test_the_notebooks_solutions_pass_their_checkers(name, imports, code):
    assert "check_" in code  # each solution ends by running its checker
    exec(compile(imports + "\n" + code, f"{name} solution", "exec"), {})


def test_every_checked_exercise_has_a_solution():
    names = [name for name, _, _ in notebook_solutions()]
    assert names == ["03_dtnn.ipynb", "04_schnet.ipynb", "06_forces.ipynb", "07_md_and_rpmd.ipynb"]
    checkers = "".join(code for _, _, code in notebook_solutions())
    for checker in [n for n in dir(ex) if n.startswith("check_")]:
        assert checker + "(" in checkers, f"no notebook exercise uses {checker}"


def test_an_unwritten_function_gets_a_hint_not_a_traceback(capsys):
    def cfconv(h, W, idx_i, idx_j):
        raise NotImplementedError("your code here: replace this line")

    assert ex.check_cfconv(cfconv) is False
    assert "cfconv is not written yet" in capsys.readouterr().out
    assert ex.check_cfconv(lambda h, W, i, j: reference_cfconv(h, W, i, j)) is True
    assert "agrees with the reference" in capsys.readouterr().out


def reference_cfconv(h, W, idx_i, idx_j):
    from minischnet import reference

    return reference.scatter_add(h[idx_j] * W, idx_i, len(h))
