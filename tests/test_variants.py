"""SchNet's implementation choices (tutorial 4): each computes its own closed form, forces stay
gradients."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_forces import finite_difference_forces

import minischnet
from conftest import CUTOFF, random_molecule
from minischnet import reference
from minischnet.data import collate

LN2 = math.log(2.0)


def ssp(x):
    return F.softplus(x) - LN2


def model(**variant):
    torch.manual_seed(3)
    m = minischnet.SchNet(
        n_features=12, n_interactions=2, n_rbf=15, cutoff=CUTOFF, max_z=9, **variant
    ).double()
    with torch.no_grad():  # nonzero biases so that every term matters
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m.eval()


def explicit_filter(block, d, centers, gamma, cutoff, cosine, activation):
    """The filter network written out from its formula."""
    rbf = torch.exp(-gamma * (d[:, None] - centers) ** 2)
    W = (
        ssp(rbf @ block.filter1.weight.T + block.filter1.bias) @ block.filter2.weight.T
        + block.filter2.bias
    )
    W = ssp(W) if activation else W
    f = 0.5 * (torch.cos(math.pi * d / cutoff) + 1) if cosine else torch.ones_like(d)
    return W * (f * (d < cutoff))[:, None]


@pytest.mark.parametrize(
    "variant",
    [
        {},
        {"rbf_width": 0.22},
        {"cosine_cutoff": False},
        {"filter_activation": False},
        {"rbf_width": 0.5, "cosine_cutoff": False, "filter_activation": False},
    ],
)
def test_filter_matches_its_formula(variant):
    m = model(**variant)
    d = torch.linspace(0.5, CUTOFF + 0.5, 57, dtype=torch.float64)
    width = variant.get("rbf_width", CUTOFF / 14)
    # the basis is stored in the model's construction dtype (float32), so compare to it at that
    # precision
    torch.testing.assert_close(
        m.rbf_centers, torch.linspace(0, CUTOFF, 15, dtype=torch.float64), rtol=1e-7, atol=0
    )
    assert m.rbf_gamma.item() == pytest.approx(0.5 / width**2, rel=1e-7)
    for block in m.interactions:
        got = block.filter(*m.expand(d))
        want = explicit_filter(
            block,
            d,
            m.rbf_centers,
            m.rbf_gamma,
            CUTOFF,
            variant.get("cosine_cutoff", True),
            variant.get("filter_activation", True),
        )
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["ssp", "silu", "tanh"])
def test_output_activation_matches_its_formula(name):
    m = model(output_activation=name)
    x = torch.randn(7, 12, dtype=torch.float64)
    act = {"ssp": ssp, "silu": lambda v: v * torch.sigmoid(v), "tanh": torch.tanh}[name]
    want = act(x @ m.output1.weight.T + m.output1.bias) @ m.output2.weight.T + m.output2.bias
    torch.testing.assert_close(
        m.atomwise_energies(x, torch.ones(7, dtype=torch.long)), want[:, 0], rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize(
    "variant",
    [
        {"rbf_width": 0.3},
        {"cosine_cutoff": False},
        {"filter_activation": False},
        {"output_activation": "silu"},
    ],
)
def test_variant_forces_are_gradients(variant, rng):
    m = model(**variant)
    Z, R = random_molecule(6, rng)
    batch = collate([(Z, R)], CUTOFF)
    _, forces = m.energy_and_forces(batch)

    def energy(R_):
        return m(collate([(Z, R_)], CUTOFF)).item()

    np.testing.assert_allclose(forces.numpy(), finite_difference_forces(energy, R), atol=1e-7)


def test_rbf_width_travels_to_the_reference(rng):
    m = model(rbf_width=0.3)
    params = m.to_reference()
    assert params["rbf_gamma"] == pytest.approx(0.5 / 0.3**2)
    Z, R = random_molecule(8, rng)
    assert m(collate([(Z, R)], CUTOFF)).item() == pytest.approx(
        reference.schnet_energy(params, Z, R), rel=1e-12
    )


def test_pytorch_only_variants_refuse_the_reference_and_survive_save(tmp_path, rng):
    m = model(cosine_cutoff=False, output_activation="tanh")
    with pytest.raises(ValueError, match="PyTorch only"):
        m.to_reference()
    minischnet.save(m, tmp_path / "v.pt")
    back = minischnet.load(tmp_path / "v.pt")
    assert back.variant == m.variant
    Z, R = random_molecule(5, rng)
    batch = collate([(Z, R)], CUTOFF)
    assert back(batch).item() == m(batch).item()


def test_hard_cutoff_jumps_and_cosine_does_not():
    """Two atoms pulled across r_c: a jump in the energy without the cosine cutoff, none with it."""
    eps = 1e-7
    for cosine in (True, False):
        m = model(cosine_cutoff=cosine)
        E = [
            m(
                collate([(np.array([6, 8]), np.array([[0, 0, 0], [0, 0, CUTOFF + s]]))], CUTOFF)
            ).item()
            for s in (-eps, eps)
        ]
        jump = abs(E[1] - E[0])
        assert (jump < 1e-9) if cosine else (jump > 1e-3)


def test_bad_variant_options():
    with pytest.raises(ValueError, match="output_activation"):
        minischnet.SchNet(output_activation="relu")
    with pytest.raises(ValueError, match="rbf_width"):
        minischnet.SchNet(rbf_width=0.0)
