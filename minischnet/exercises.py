"""Checkers for the implement-it-yourself exercises of the tutorials.

Each ``check_...`` runs your function and the reference on random inputs. It prints a line and
returns True when they agree; it raises ``AssertionError`` with a message that names the likely
mistake (a wrong shape, a sum over the wrong index, a missing cutoff, the sign of the force...),
found by comparing your answer with the answers those mistakes give. A function that still
raises ``NotImplementedError`` (the skeleton in the notebook) gets a hint and False, not a
traceback::

    check_gaussian_expansion(f)   f(d, centers, gamma) -> (P, K)         the radial basis of (4)
    check_cosine_cutoff(f)        f(d, cutoff) -> (P,)                   the smooth cutoff
    check_cfconv(f)               f(h, W, idx_i, idx_j) -> (n, F)        cfconv, eq. (4)
    check_dtnn_interaction(f)     f(x, d_hat, fcut, idx_i, idx_j, W_fx, b_f1, W_fd, b_f2, W_xf)
                                  -> (n, F)                              DTNN's layer, eq. (2)
    check_forces(f)               f(energy, R) -> (n, 3)                 F = -dE/dR, eq. (5)
    check_energy_force_loss(f)    f(E, E_hat, F, F_hat, rho) -> float    loss (6), one structure
    check_rpmd_step(f)            f(q, p, forces, masses, omega_P, dt) -> (q, p)
                                  one velocity-Verlet ring-polymer step, springs exact (BAB)

Everything in eV, Å and the ASE time unit, as in the rest of the package.
"""

from __future__ import annotations

import functools

import autograd.numpy as anp
import numpy as np
from autograd import grad

from . import reference
from .md import free_ring_propagator, normal_mode_frequencies, normal_mode_matrix


def _as_array(value, name):
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{name} returned {type(value).__name__}, not an array of numbers"
        ) from None


def _judge(name, mine, truth, mistakes, rtol=1e-6, atol=1e-9):
    """Pass if ``mine`` equals ``truth``; else name the first known mistake that ``mine`` equals."""
    mine = _as_array(mine, name)
    truth = np.asarray(truth, dtype=float)
    if mine.shape != truth.shape:
        if mine.shape == truth.shape[::-1] and mine.ndim == 2:
            hint = " (transposed: rows should run over the first input, columns over the second)"
        else:
            hint = ""
        raise AssertionError(f"{name}: shape {mine.shape}, expected {truth.shape}{hint}")
    if np.allclose(mine, truth, rtol=rtol, atol=atol):
        return
    for wrong, message in mistakes:
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == mine.shape and np.allclose(mine, wrong, rtol=rtol, atol=atol):
            raise AssertionError(f"{name}: {message}")
    worst = np.max(np.abs(mine - truth))
    raise AssertionError(
        f"{name}: right shape {truth.shape}, wrong values (largest difference {worst:.3g}); "
        "compare your formula with the one written out above the exercise"
    )


def _checker(check):
    """Turn a check into what the notebook calls: a hint for a function not written yet, a line
    of confirmation for a right one, the AssertionError of the check for a wrong one."""

    @functools.wraps(check)
    def run(f, *args, **kwargs):
        name = getattr(f, "__name__", "your function")
        try:
            check(f, *args, **kwargs)
        except NotImplementedError:
            print(f"{name} is not written yet: replace its `raise` line, then run the cell again")
            return False
        print(f"{name} agrees with the reference")
        return True

    return run


def _pairs(rng, n_atoms, n_pairs):
    """A random directed pair list with i != j (both directions of a bond appear separately)."""
    idx_i = rng.integers(0, n_atoms, n_pairs)
    idx_j = (idx_i + rng.integers(1, n_atoms, n_pairs)) % n_atoms
    return idx_i, idx_j


# ---------------------------------------------------------------------------------------------
# SchNet's pieces


@_checker
def check_gaussian_expansion(f, seed=0):
    """``f(d, centers, gamma)``: exp(-gamma (d_p - mu_k)^2) for every pair p and centre k."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.5, 5.0, 7)
    centers, gamma = np.linspace(0.0, 5.0, 11), 2.0
    truth = reference.gaussian_expansion(d, centers, gamma)
    diff = d[:, None] - centers[None, :]
    mistakes = [
        (np.exp(gamma * diff**2), "the exponent must be negative: exp(-gamma (d - mu)^2)"),
        (np.exp(-gamma * np.abs(diff)), "square the distance to the centre: (d - mu)^2"),
        (np.exp(-(diff**2)), "gamma is missing in the exponent"),
    ]  # fmt: skip
    _judge("gaussian_expansion", f(d, centers, gamma), truth, mistakes)


@_checker
def check_cosine_cutoff(f, seed=0):
    """``f(d, cutoff)``: (cos(pi d / r_c) + 1) / 2 below the cutoff and 0 beyond it."""
    rng = np.random.default_rng(seed)
    cutoff = 5.0
    d = np.concatenate([rng.uniform(0.1, cutoff, 8), rng.uniform(cutoff, 8.0, 4)])
    truth = reference.cosine_cutoff(d, cutoff)
    smooth = 0.5 * (np.cos(np.pi * d / cutoff) + 1)
    mistakes = [
        (smooth, "beyond the cutoff the function must be 0 (you return the cosine there too)"),
        (np.cos(np.pi * d / cutoff) * (d < cutoff), "(cos + 1) / 2: a bare cosine goes negative"),
        (0.5 * (np.cos(2 * np.pi * d / cutoff) + 1) * (d < cutoff),
         "pi d / r_c, not 2 pi d / r_c: the function falls from 1 to 0 once, over the cutoff"),
        (1.0 * (d < cutoff), "a hard step: the cutoff must fall smoothly, with zero slope at r_c"),
    ]  # fmt: skip
    _judge("cosine_cutoff", f(d, cutoff), truth, mistakes)


@_checker
def check_cfconv(f, seed=0):
    """``f(h, W, idx_i, idx_j)``: y_i = sum over pairs (i, j) of h_j * W_ij (element-wise), eq. (4).

    h (n, F) are the atoms' features, W (P, F) the filter of each pair, idx_i and idx_j (P,) the
    receiving and the sending atom of each pair.
    """
    rng = np.random.default_rng(seed)
    n, F, P = 6, 4, 20
    h, W = rng.normal(size=(n, F)), rng.normal(size=(P, F))
    idx_i, idx_j = _pairs(rng, n, P)
    truth = reference.scatter_add(h[idx_j] * W, idx_i, n)
    mistakes = [
        (reference.scatter_add(h[idx_i] * W, idx_i, n),
         "the message of pair (i, j) carries h of the neighbour j: h[idx_j], not h[idx_i]"),
        (reference.scatter_add(h[idx_j] * W, idx_j, n),
         "sum each message into its receiving atom i: scatter over idx_i, not idx_j"),
        (reference.scatter_add(h[idx_i] * W, idx_j, n),
         "i and j are swapped: gather h[idx_j], sum into idx_i"),
        (h + reference.scatter_add(h[idx_j] * W, idx_i, n),
         "cfconv is the sum alone; the residual x + v of eq. (1) is added outside"),
    ]  # fmt: skip
    mine = f(h, W, idx_i, idx_j)
    if np.shape(mine) == (P, F):
        raise AssertionError(
            "cfconv: shape (P, F), one row per pair: sum the messages of each atom's pairs "
            "into that atom (np.add.at or scatter_add over idx_i) to get (n_atoms, F)"
        )
    _judge("cfconv", mine, truth, mistakes)


# ---------------------------------------------------------------------------------------------
# DTNN's layer


@_checker
def check_dtnn_interaction(f, seed=0):
    """``f(x, d_hat, fcut, idx_i, idx_j, W_fx, b_f1, W_fd, b_f2, W_xf)``: eq. (2) summed over j,
    v_i = sum_j fcut_ij tanh[((x_j W_fx + b_f1) * (d_hat_ij W_fd + b_f2)) W_xf]."""
    rng = np.random.default_rng(seed)
    n, F, Ff, K, P = 5, 4, 3, 6, 16
    x, d_hat = rng.normal(size=(n, F)), rng.uniform(0, 1, (P, K))
    fcut = rng.uniform(0.1, 1.0, P)
    idx_i, idx_j = _pairs(rng, n, P)
    W_fx, b_f1 = rng.normal(size=(F, Ff)), rng.normal(size=Ff)
    W_fd, b_f2 = rng.normal(size=(K, Ff)), rng.normal(size=Ff)
    W_xf = rng.normal(size=(Ff, F))
    params = {
        "interaction0.fx.W": W_fx, "interaction0.fx.b": b_f1, "interaction0.fd.W": W_fd,
        "interaction0.fd.b": b_f2, "interaction0.xf.W": W_xf,
    }  # fmt: skip
    truth = reference.dtnn_interaction(params, 0, x, d_hat, fcut, idx_i, idx_j)

    def variant(gather=idx_j, cut=fcut, act=np.tanh, combine=np.multiply):
        factors = combine(x[gather] @ W_fx + b_f1, d_hat @ W_fd + b_f2)
        return reference.scatter_add(act(factors @ W_xf) * cut[:, None], idx_i, n)

    mistakes = [
        (variant(gather=idx_i), "the factor of pair (i, j) takes x of the neighbour j: x[idx_j]"),
        (variant(cut=np.ones(P)), "multiply each pair's term by the cutoff fcut_ij"),
        (variant(act=lambda z: z), "the tanh of eq. (2) is missing"),
        (variant(combine=np.add), "the factors are multiplied element-wise (o), not added"),
    ]
    _judge(
        "dtnn_interaction",
        f(x, d_hat, fcut, idx_i, idx_j, W_fx, b_f1, W_fd, b_f2, W_xf),
        truth,
        mistakes,
    )


# ---------------------------------------------------------------------------------------------
# Forces and the loss


def _morse_energy(R):
    """A smooth test energy (eV): Morse bonds between all pairs of a small cluster."""
    diff = R[:, None, :] - R[None, :, :]
    iu = np.triu_indices(len(R), 1)
    d = anp.sqrt(anp.sum(diff[iu] ** 2, axis=-1))
    return anp.sum((1 - anp.exp(-1.5 * (d - 1.2))) ** 2) - len(d)


@_checker
def check_forces(f, seed=0):
    """``f(energy, R)``: the forces -dE/dR (n, 3) of a function ``energy(R)`` (eV) at R (Å).

    Autograd (``autograd.grad``) or central finite differences both pass.
    """
    rng = np.random.default_rng(seed)
    R = rng.normal(scale=0.9, size=(4, 3))
    truth = -grad(_morse_energy)(R)
    mistakes = [
        (-truth, "the sign: a force points downhill, F = -dE/dR"),
        (-truth.T, "transposed: one row per atom, one column per Cartesian direction"),
    ]
    _judge("forces", f(_morse_energy, R.copy()), truth, mistakes, rtol=1e-4, atol=1e-6)


@_checker
def check_energy_force_loss(f, seed=0):
    """``f(E, E_hat, F, F_hat, rho)``: loss (6) of one structure,
    ``rho (E - E_hat)^2 + (1/n) sum_i |F_i - F_hat_i|^2``, with F (n, 3)."""
    rng = np.random.default_rng(seed)
    n, rho = 5, 0.1
    E, E_hat = -3.2, -2.9
    F, F_hat = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    force_term = np.sum((F - F_hat) ** 2)
    truth = rho * (E - E_hat) ** 2 + force_term / n
    mistakes = [
        (rho * (E - E_hat) ** 2 + force_term, "divide the force term by the number of atoms n"),
        (rho * (E - E_hat) ** 2 + force_term / (3 * n),
         "(1/n) sum over atoms of the squared vector |F_i - F_hat_i|^2: divide by n, not 3n"),
        ((E - E_hat) ** 2 + rho * force_term / n, "rho weighs the energy term, not the forces"),
        (rho * abs(E - E_hat) + np.sum(np.linalg.norm(F - F_hat, axis=1)) / n,
         "both terms are squared errors, not absolute ones"),
        (rho * (E - E_hat) ** 2 + np.sum(np.linalg.norm(F - F_hat, axis=1)) / n,
         "square the length of each force error: |F_i - F_hat_i|^2"),
    ]  # fmt: skip
    _judge("energy_force_loss", f(E, E_hat, F.copy(), F_hat.copy(), rho), truth, mistakes)


# ---------------------------------------------------------------------------------------------
# One ring-polymer step


def _harmonic_forces(q):
    """Forces (P, N, 3) of an anharmonic external well on every bead (eV/Å)."""
    return -2.0 * q - 0.3 * q**3


def _bab(q, p, masses, omega_P, dt, half=0.5, exact_springs=True):
    """The reference step: half kick, exact free ring polymer for dt, half kick."""
    P = len(q)
    m = masses[None, :, None]
    p = p + half * dt * _harmonic_forces(q)
    if exact_springs:
        C = normal_mode_matrix(P)
        U = free_ring_propagator(normal_mode_frequencies(P, omega_P), masses, dt)
        pk, qk = np.einsum("jk,jna->kna", C, p), np.einsum("jk,jna->kna", C, q)
        pk, qk = (U[..., 0, 0, None] * pk + U[..., 0, 1, None] * qk,
                  U[..., 1, 0, None] * pk + U[..., 1, 1, None] * qk)  # fmt: skip
        p, q = np.einsum("jk,kna->jna", C, pk), np.einsum("jk,kna->jna", C, qk)
    else:  # free flight, springs forgotten
        q = q + dt * p / m
    p = p + half * dt * _harmonic_forces(q)
    return q, p


@_checker
def check_rpmd_step(f, seed=0):
    """``f(q, p, forces, masses, omega_P, dt)``: one ring-polymer velocity-Verlet step (BAB):
    a half kick p += dt/2 forces(q), the free ring polymer (springs of frequency omega_P between
    neighbouring beads) propagated exactly for dt in its normal modes, another half kick.

    q, p (P, N, 3) are the beads' positions and momenta, ``forces(q)`` the external forces on all
    beads (P, N, 3), masses (N,).
    """
    rng = np.random.default_rng(seed)
    P, N = 6, 2
    masses = np.array([1.0, 2.5])
    q = rng.normal(scale=0.3, size=(P, N, 3))
    p = rng.normal(size=(P, N, 3)) * np.sqrt(masses)[None, :, None]
    omega_P, dt = 1.3, 0.2
    truth = _bab(q, p, masses, omega_P, dt)
    out = f(q.copy(), p.copy(), _harmonic_forces, masses, omega_P, dt)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise AssertionError("rpmd_step: return the new positions and momenta as a tuple (q, p)")
    for name, k in (("positions", 0), ("momenta", 1)):
        mistakes = [
            (_bab(q, p, masses, omega_P, dt, half=1.0)[k],
             "the kicks are half steps: p += (dt / 2) F before and after the free propagation"),
            (_bab(q, p, masses, omega_P, dt, exact_springs=False)[k],
             "the free propagation must include the springs between neighbouring beads "
             "(each normal mode k oscillates with omega_k = 2 omega_P sin(k pi / P))"),
            (_bab(q, p, masses, 2 * omega_P, dt)[k],
             "your normal-mode frequencies are twice omega_k = 2 omega_P sin(k pi / P)"),
        ]  # fmt: skip
        _judge(f"rpmd_step {name}", out[k], truth[k], mistakes, rtol=1e-6, atol=1e-9)
