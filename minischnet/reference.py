"""The reference: equations (1)-(6) of the thesis summary in NumPy + autograd, float64.

Read this file next to the paper. Every function computes one thing, named for it, with the
equation number in its docstring. Pairs are flat lists (idx_i, idx_j, offsets) from
``minischnet.neighbors``; sums over neighbours j are scatter-adds over those lists, so there is
no Python loop over atoms. Forces come from autograd (eq. 5), never by hand.

Units: Å, eV, eV/Å. Row-vector convention: a dense layer is ``x @ W + b`` with W of shape
(in, out). ``minischnet.SchNet`` / ``minischnet.DTNN`` (PyTorch) compute the same functions
from the same parameters; ``from_reference`` / ``to_reference`` move weights across.

Deviation from the summary, stated once: DTNN's interaction (2) is multiplied by the cosine
cutoff f(d_ij), so that a neighbour crossing the finite cutoff changes the energy continuously.
"""

from __future__ import annotations

import autograd.numpy as np
import numpy as onp
from autograd import grad
from autograd.extend import defvjp, primitive
from autograd.tracer import getval

from .neighbors import brute_force_pairs, check_structure

__all__ = [
    "init_schnet",
    "init_dtnn",
    "schnet_energy",
    "schnet_forces",
    "dtnn_energy",
    "dtnn_forces",
    "energy_force_loss",
    "shifted_softplus",
    "cosine_cutoff",
    "gaussian_expansion",
    "scatter_add",
]


# ---------------------------------------------------------------------------------------------
# Building blocks, each forward next to its gradient where autograd does not know it.


@primitive
def scatter_add(values, index, n):
    """out[k] = sum of values[p] over all p with index[p] == k: the sum over neighbours j in (1)."""
    out = onp.zeros((n,) + values.shape[1:])
    onp.add.at(out, index, values)
    return out


# d out[k] / d values[p] = 1 if index[p] == k: the gradient just gathers.
defvjp(scatter_add, lambda ans, values, index, n: lambda g: g[index])


def shifted_softplus(x):
    """ssp(x) = ln(0.5 e^x + 0.5): softplus shifted so that ssp(0) = 0 (SchNet's activation)."""
    return np.logaddexp(x, 0.0) - np.log(2.0)


def cosine_cutoff(d, cutoff):
    """f(d) = (cos(pi d / r_c) + 1) / 2 below r_c, 0 beyond: value and slope vanish at r_c."""
    return np.where(d < cutoff, 0.5 * (np.cos(np.pi * d / cutoff) + 1.0), 0.0)


def gaussian_expansion(d, centers, gamma):
    """d̂_k = exp(-gamma (d - mu_k)^2): a distance as a soft one-hot vector, (P,) -> (P, K)."""
    return np.exp(-gamma * (d[:, None] - centers[None, :]) ** 2)


def pair_distances(R, idx_i, idx_j, offsets):
    """d_ij = ‖r_j - r_i + offset_ij‖ for each pair; offset = shift @ cell (zero for molecules)."""
    r_ij = R[idx_j] - R[idx_i] + offsets
    return np.sqrt(np.sum(r_ij**2, axis=1))


def dense(params, name, x):
    """An atom-wise (or pair-wise) linear layer x @ W + b; layers without a bias have no b."""
    y = np.dot(x, params[name + ".W"])
    return y + params[name + ".b"] if name + ".b" in params else y


# ---------------------------------------------------------------------------------------------
# Parameters


def _glorot(rng, n_in, n_out):
    limit = onp.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def _common(rng, n_features, n_rbf, cutoff, max_z):
    return {
        "cutoff": onp.array(float(cutoff)),
        "rbf_centers": onp.linspace(0.0, cutoff, n_rbf),
        # width = spacing of the centres, as in SchNet and DTNN: gamma = 1 / (2 width^2)
        "rbf_gamma": onp.array(0.5 / (cutoff / (n_rbf - 1)) ** 2),
        "embedding": rng.standard_normal((max_z + 1, n_features)),  # row Z is A[Z]; row 0 unused
        # E = std * sum_i NN_E(x_i) + mean per atom + atomref[Z_i]; set by training
        "mean": onp.array(0.0),
        "std": onp.array(1.0),
        "atomref": onp.zeros(max_z + 1),
    }


def init_schnet(n_features, n_interactions, n_rbf, cutoff, max_z=100, seed=0):
    """Random SchNet parameters (Glorot-uniform weights, zero biases) as a dict of arrays."""
    if n_rbf < 2:
        raise ValueError(f"n_rbf must be at least 2, got {n_rbf}")
    rng = onp.random.default_rng(seed)
    F = n_features
    p = _common(rng, F, n_rbf, cutoff, max_z)
    for t in range(n_interactions):
        b = f"interaction{t}."
        p[b + "in2f.W"] = _glorot(rng, F, F)  # atom-wise, no bias
        p[b + "filter1.W"], p[b + "filter1.b"] = _glorot(rng, n_rbf, F), onp.zeros(F)
        p[b + "filter2.W"], p[b + "filter2.b"] = _glorot(rng, F, F), onp.zeros(F)
        p[b + "f2out.W"], p[b + "f2out.b"] = _glorot(rng, F, F), onp.zeros(F)
        p[b + "dense.W"], p[b + "dense.b"] = _glorot(rng, F, F), onp.zeros(F)
    p["output1.W"], p["output1.b"] = _glorot(rng, F, F // 2), onp.zeros(F // 2)
    p["output2.W"], p["output2.b"] = _glorot(rng, F // 2, 1), onp.zeros(1)
    return p


def init_dtnn(n_features, n_interactions, n_rbf, cutoff, max_z=100, seed=0, n_factors=None):
    """Random DTNN parameters; ``n_factors`` is the factor space of (2), n_features by default."""
    if n_rbf < 2:
        raise ValueError(f"n_rbf must be at least 2, got {n_rbf}")
    rng = onp.random.default_rng(seed)
    F, Ff = n_features, n_factors or n_features
    p = _common(rng, F, n_rbf, cutoff, max_z)
    for t in range(n_interactions):
        b = f"interaction{t}."
        p[b + "fx.W"], p[b + "fx.b"] = _glorot(rng, F, Ff), onp.zeros(Ff)  # W^fx, b^f1
        p[b + "fd.W"], p[b + "fd.b"] = _glorot(rng, n_rbf, Ff), onp.zeros(Ff)  # W^fd, b^f2
        p[b + "xf.W"] = _glorot(rng, Ff, F)  # W^xf, no bias in (2)
    p["output1.W"], p["output1.b"] = _glorot(rng, F, F // 2), onp.zeros(F // 2)
    p["output2.W"], p["output2.b"] = _glorot(rng, F // 2, 1), onp.zeros(1)
    return p


def n_interactions(params):
    """T, the number of refinement steps stored in ``params``."""
    return len({k.split(".")[0] for k in params if k.startswith("interaction")})


# ---------------------------------------------------------------------------------------------
# The equations


def dtnn_interaction(params, t, x, d_hat, fcut, idx_i, idx_j):
    """Eq. (2), summed over j: sum_j f(d_ij) tanh[W^xf((W^fx x_j + b^f1) o (W^fd d̂_ij + b^f2))]."""
    b = f"interaction{t}."
    factors = dense(params, b + "fx", x[idx_j]) * dense(params, b + "fd", d_hat)  # (P, Ff)
    v_ij = np.tanh(dense(params, b + "xf", factors)) * fcut[:, None]  # (P, F)
    return scatter_add(v_ij, idx_i, len(x))  # (n, F)


def schnet_interaction(params, t, x, rbf, fcut, idx_i, idx_j):
    """Eq. (4) inside SchNet's interaction block: atom-wise -> cfconv -> atom-wise, ssp ->
    atom-wise.

    cfconv: y_i = sum_j h_j o W(d_ij), with the filter-generating network
    W(d) = ssp(ssp(rbf(d) W1 + b1) W2 + b2) * f(d) of the radial basis expansion.
    """
    b = f"interaction{t}."
    h = dense(params, b + "in2f", x)  # (n, F)
    hidden = shifted_softplus(dense(params, b + "filter1", rbf))
    W = shifted_softplus(dense(params, b + "filter2", hidden)) * fcut[:, None]  # (P, F)
    y = scatter_add(h[idx_j] * W, idx_i, len(x))  # (n, F)
    return dense(params, b + "dense", shifted_softplus(dense(params, b + "f2out", y)))


def atomwise_energies(params, x, Z, activation):
    """NN_E(x_i) of eq. (3), scaled and shifted: std * NN_E(x_i) + mean + atomref[Z_i]."""
    out = dense(params, "output2", activation(dense(params, "output1", x)))[:, 0]
    return params["std"] * out + params["mean"] + params["atomref"][Z]


def _energy(params, Z, R, pairs, interaction, activation):
    """Eqs. (1) and (3): embed, refine T times with residual updates, sum atom-wise energies."""
    idx_i, idx_j, offsets = pairs
    d = pair_distances(R, idx_i, idx_j, offsets)
    rbf = gaussian_expansion(d, params["rbf_centers"], params["rbf_gamma"])
    fcut = cosine_cutoff(d, params["cutoff"])
    x = params["embedding"][Z]  # x_i^(0) = A[Z_i]
    for t in range(n_interactions(params)):
        x = x + interaction(params, t, x, rbf, fcut, idx_i, idx_j)  # eq. (1)
    return np.sum(atomwise_energies(params, x, Z, activation))  # eq. (3)


def _prepare(params, Z, R, cell, pbc):
    """Check the input and build the pair list (outside autograd: it does not depend on R
    smoothly)."""
    Z, R, cell, pbc = check_structure(Z, R, cell, pbc)
    max_z = len(params["embedding"]) - 1
    if Z.max() > max_z:
        raise ValueError(
            f"element number {Z.max()} is outside 1..{max_z} (max_z of these parameters)"
        )
    idx_i, idx_j, S = brute_force_pairs(R, float(getval(params["cutoff"])), cell, pbc)
    return Z, R, (idx_i, idx_j, S @ cell)


def schnet_energy(params, Z, R, cell=None, pbc=None):
    """SchNet energy E (eV) of one structure: eqs. (1), (3), (4)."""
    Z, R, pairs = _prepare(params, Z, R, cell, pbc)
    return _energy(params, Z, R, pairs, schnet_interaction, shifted_softplus)


def dtnn_energy(params, Z, R, cell=None, pbc=None):
    """DTNN energy E (eV) of one structure: eqs. (1), (2), (3)."""
    Z, R, pairs = _prepare(params, Z, R, cell, pbc)
    return _energy(params, Z, R, pairs, dtnn_interaction, np.tanh)


def _forces(params, Z, R, cell, pbc, interaction, activation):
    """Eq. (5): F_i = -dE/dr_i, by reverse-mode autograd through the whole energy."""
    Z, R, pairs = _prepare(params, Z, R, cell, pbc)
    return -grad(lambda R_: _energy(params, Z, R_, pairs, interaction, activation))(R)


def schnet_forces(params, Z, R, cell=None, pbc=None):
    """SchNet forces (n, 3) in eV/Å, eq. (5)."""
    return _forces(params, Z, R, cell, pbc, schnet_interaction, shifted_softplus)


def dtnn_forces(params, Z, R, cell=None, pbc=None):
    """DTNN forces (n, 3) in eV/Å, eq. (5)."""
    return _forces(params, Z, R, cell, pbc, dtnn_interaction, np.tanh)


MODELS = {
    "schnet": (schnet_interaction, shifted_softplus),
    "dtnn": (dtnn_interaction, np.tanh),
}


def energy_force_loss(params, structures, rho, model="schnet"):
    """Eq. (6) averaged over a batch of structures.

    structures: iterable of dicts with Z, R, energy, forces (and optionally cell, pbc).
    loss = mean over structures of  rho (E - Ê)^2 + (1/n_atoms) sum_i ‖F_i - (-dÊ/dr_i)‖^2.
    Differentiable with respect to ``params`` (autograd), second derivatives included.
    """
    interaction, activation = MODELS[model]
    total = 0.0
    structures = list(structures)
    for s in structures:
        Z, R, pairs = _prepare(params, s["Z"], s["R"], s.get("cell"), s.get("pbc"))

        def energy(R_):
            return _energy(params, Z, R_, pairs, interaction, activation)

        E_hat = energy(R)
        F_hat = -grad(energy)(R)
        total = (
            total + rho * (s["energy"] - E_hat) ** 2 + np.sum((s["forces"] - F_hat) ** 2) / len(Z)
        )
    return total / len(structures)
