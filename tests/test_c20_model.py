"""The shipped C20 model: its recorded test errors are true, and it conserves energy in NVE
dynamics."""

import os
from pathlib import Path

import numpy as np
import pytest
from ase import units

import minischnet
from minischnet.data import c20, c20_minimum
from minischnet.md import RingPolymerMD
from minischnet.train import evaluate

MODEL = Path(
    os.environ.get(
        "MINISCHNET_C20_MODEL", Path(__file__).parents[1] / "data" / "models" / "c20_schnet.pt"
    )
)


@pytest.fixture
def model():
    return minischnet.load(MODEL)


@pytest.mark.artifacts
@pytest.mark.slow
def test_recorded_test_errors_are_true(model):
    test_set = c20("test")
    errors = evaluate(model, test_set)  # all 2,000 test structures
    assert len(test_set) == model.info["n_test"] == 2000
    assert errors["energy_mae"] == pytest.approx(model.info["test_energy_mae"], rel=1e-4)
    assert errors["force_mae"] == pytest.approx(model.info["test_force_mae"], rel=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("tabulated", [False, True])
def test_nve_energy_drift(model, tabulated):
    """Velocity Verlet (P = 1, no thermostat) at 0.5 fs from the minimum with 300 K velocities.

    The total energy's drift (slope of a linear fit) must stay below 0.5 meV/ps and its fluctuation
    below 0.2 % of the kinetic energy. float64 with exact filters tests the model and integrator;
    float32 with tabulated filters is what the C20 study runs.
    """
    m = model.double() if not tabulated else model.float()
    if tabulated:
        m.tabulate_filters()
    md = RingPolymerMD(
        c20_minimum(),
        minischnet.Calculator(m),
        nbeads=1,
        temperature_K=300.0,
        timestep_fs=0.5,
        tau_fs=None,
        seed=0,
    )
    out = md.run(400, record_every=2, quiet=True)
    total = out["conserved"]
    slope_eV_per_ps = np.polyfit(out["time_fs"] / 1000, total, 1)[0]
    assert abs(slope_eV_per_ps) < 5e-4
    kinetic = 1.5 * 20 * units.kB * 300.0
    assert total.std() < 0.002 * kinetic
