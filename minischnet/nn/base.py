"""What DTNN and SchNet share: embedding, the refinement loop (1), read-out (3), forces (5).

A model is an embedding, T interaction blocks and a read-out network. A subclass defines
``interactions`` (a ModuleList of blocks), its output activation and, where needed, how the
reference names its parameters; the loop of eq. (1) and everything else lives here, once.

An interaction block is a module with two methods:

    block.pair_input(rbf, fcut)       what the block needs of each pair's distance, computed once
                                      per forward pass: rbf (P, K), fcut (P,) -> anything
    block(x, pair_input, idx_i, idx_j) the update v_i of eq. (1): x (n_atoms, F) -> (n_atoms, F)

Pairs are stored once (idx_i < idx_j, or an atom and its own periodic image): a block sends each
pair's messages both ways, j -> i and i -> j, since everything it computes from d_ij is symmetric.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from ase.data import chemical_symbols
from torch import nn

from .layers import cosine_cutoff, gaussian_expansion, pair_vectors


def _element_names(numbers) -> str:
    return ", ".join(f"{chemical_symbols[z]} ({z})" for z in numbers)


def _whole(value) -> bool:
    """An int (or NumPy integer), not a bool and not a float such as 64.0: a layer size."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _on_device(model, batch):
    """``batch`` in the model's device and dtype; a TypeError that says what to pass instead of
    an ase.Atoms or a list of them."""
    if not hasattr(batch, "idx_i"):
        raise TypeError(
            f"a model takes a Batch, not {type(batch).__name__}: "
            f"minischnet.collate([atoms], model.cutoff) makes one "
            f"(and minischnet.Calculator(model) is the ASE calculator)"
        )
    return batch.to(model.device, model.dtype)


def _check_interactions(n_interactions) -> None:
    """T, the number of refinement steps (1): 0 (atoms counted by their embedding alone) or more."""
    if not _whole(n_interactions) or n_interactions < 0:
        raise ValueError(f"n_interactions must be a whole number >= 0, got {n_interactions!r}")


class AtomisticModel(nn.Module):
    """Base of the PyTorch twins of ``minischnet.reference``."""

    #: name of the model in the reference ("schnet" / "dtnn")
    kind: str = ""

    def __init__(self, n_features: int, n_rbf: int, cutoff: float, max_z: int):
        super().__init__()
        for name, value, low in (("n_features", n_features, 2), ("n_rbf", n_rbf, 2)):
            # 2 features at least: the read-out halves them (F -> F/2 -> 1)
            if not _whole(value) or value < low:
                raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
        if not _whole(max_z) or not 1 <= max_z <= 118:
            raise ValueError(f"max_z must be an atomic number 1-118, got {max_z!r}")
        if not (np.isfinite(cutoff) and cutoff > 0):
            raise ValueError(f"cutoff must be a positive number of Å, got {cutoff}")
        self.n_features, self.n_rbf, self.cutoff, self.max_z = (
            n_features,
            n_rbf,
            float(cutoff),
            max_z,
        )
        self.embedding = nn.Embedding(max_z + 1, n_features)  # x_i^(0) = A[Z_i]; row 0 unused
        self.register_buffer(
            "rbf_centers", torch.linspace(0.0, cutoff, n_rbf, dtype=torch.float64).float()
        )
        self.register_buffer("rbf_gamma", torch.tensor(0.5 / (cutoff / (n_rbf - 1)) ** 2))
        # Read-out scale and shift (set by the trainer): E_i = std * NN_E(x_i) + mean + atomref[Z_i]
        self.register_buffer("mean", torch.tensor(0.0))
        self.register_buffer("std", torch.tensor(1.0))
        self.register_buffer("atomref", torch.zeros(max_z + 1))
        self.output1 = nn.Linear(n_features, n_features // 2)
        self.output2 = nn.Linear(n_features // 2, 1)
        #: element numbers the model was trained on (None: not recorded). Other elements have
        #: untrained embeddings, so their energies mean nothing: ``check`` refuses them, or
        #: only warns where ``unseen_elements = "warn"``.
        self.elements: list[int] | None = None
        self.unseen_elements = "error"

    # -- the model ------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.embedding.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.embedding.weight.dtype

    def output_activation(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def pair_inputs(self, d: torch.Tensor) -> list:
        """What each interaction block takes from the pair distances d (P,): one entry per block."""
        rbf, fcut = self.expand(d)  # (P, K), (P,)
        return [block.pair_input(rbf, fcut) for block in self.interactions]

    def refine(self, x: torch.Tensor, d: torch.Tensor, idx_i, idx_j) -> torch.Tensor:
        """Eq. (1), T times: x_i^(t+1) = x_i^(t) + v_t(x^(t), d)_i, from x^(0) (n, F) to x^(T)."""
        for block, pair_input in zip(self.interactions, self.pair_inputs(d)):
            x = x + block(x, pair_input, idx_i, idx_j)  # (n, F)
        return x

    def expand(self, d: torch.Tensor):
        """Radial basis (P, K) and cosine cutoff (P,) of the pair distances d (P,)."""
        return gaussian_expansion(d, self.rbf_centers, self.rbf_gamma), cosine_cutoff(
            d, self.cutoff
        )

    def atomwise_energies(self, x: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
        """Eq. (3)'s NN_E(x_i), scaled and shifted: (n_atoms, F) -> (n_atoms,)."""
        out = self.output2(self.output_activation(self.output1(x))).squeeze(-1)
        return self.std * out + self.mean + self.atomref[Z]

    def atom_energies(self, batch, R: torch.Tensor | None = None) -> torch.Tensor:
        """Atom-wise energy contributions (n_atoms,) in eV: the terms of the sum in eq. (3).

        Without ``R`` the batch is first moved to this model's device and dtype.
        """
        if R is None:
            batch = _on_device(self, batch)
            R = batch.R
        r_ij = pair_vectors(
            R, batch.idx_i, batch.idx_j, batch.offsets
        )  # (P, 3), one direction per pair
        d = torch.linalg.vector_norm(r_ij, dim=1)  # (P,)
        x = self.embedding(batch.Z)  # (n_atoms, F): x_i^(0) = A[Z_i]
        x = self.refine(x, d, batch.idx_i, batch.idx_j)  # (n_atoms, F): x_i^(T), eq. (1)
        return self.atomwise_energies(x, batch.Z)  # (n_atoms,)

    def forward(self, batch, R: torch.Tensor | None = None) -> torch.Tensor:
        """Energies (n_structures,) in eV; ``R`` overrides batch.R (to differentiate with respect
        to it)."""
        if R is None:
            batch = _on_device(self, batch)
            self.check(batch)
        e_atom = self.atom_energies(batch, R)  # (n_atoms,)
        E = torch.zeros(batch.n_structures, dtype=e_atom.dtype, device=e_atom.device)
        return E.index_add_(0, batch.structure, e_atom)  # eq. (3)

    def check(self, batch) -> None:
        """ValueError for element numbers this model has no embedding for, or was not trained
        on (where ``elements`` records them), and for pair lists of a smaller cutoff."""
        zmin, zmax = int(batch.Z.min()), int(batch.Z.max())
        if zmin < 1 or zmax > self.max_z:
            bad = zmin if zmin < 1 else zmax
            raise ValueError(
                f"element number {bad} is outside 1..{self.max_z} (max_z of this model)"
            )
        if self.elements is not None:
            unseen = sorted(set(torch.unique(batch.Z).tolist()) - set(self.elements))
            if unseen:
                message = (
                    f"this model was trained on {_element_names(self.elements)} only; "
                    f"{_element_names(unseen)} were not in its training data, and their "
                    "energies and forces would come from untrained embeddings"
                )
                if self.unseen_elements != "warn":
                    raise ValueError(
                        message + " (model.unseen_elements = 'warn' computes them anyway)"
                    )
                warnings.warn(message, stacklevel=3)
        if batch.cutoff < self.cutoff:
            raise ValueError(
                f"batch pair lists were built with cutoff {batch.cutoff} Å "
                f"< model cutoff {self.cutoff} Å"
            )

    def energy_and_forces(self, batch):
        """Energies (n_structures,) and forces F = -dE/dR (n_atoms, 3), eq. (5).

        Computed in this model's dtype, on its device. In training mode the forces keep their
        graph (create_graph), so that a loss on them (eq. 6) can be backpropagated.
        """
        batch = _on_device(self, batch)
        self.check(batch)
        with torch.enable_grad():
            R = batch.R.detach().requires_grad_(True)
            E = self(batch, R)
            (dE_dR,) = torch.autograd.grad(E.sum(), R, create_graph=self.training)
        if not self.training:
            E = E.detach()
        return E, -dE_dR

    # -- weights to and from the reference ------------------------------------------------------
    @staticmethod
    def _torch_name(key: str) -> tuple[str, bool]:
        """Reference key -> (state_dict key, transpose?)."""
        name = (
            key.replace("interaction", "interactions.", 1) if key.startswith("interaction") else key
        )
        if name.endswith(".W"):
            return name[:-2] + ".weight", True
        if name.endswith(".b"):
            return name[:-2] + ".bias", False
        if name == "embedding":
            return "embedding.weight", False
        return name, False

    @classmethod
    def hyperparameters(cls, params: dict) -> dict:
        T = len({k.split(".")[0] for k in params if k.startswith("interaction")})
        return dict(
            n_features=params["embedding"].shape[1],
            n_interactions=T,
            n_rbf=len(params["rbf_centers"]),
            cutoff=float(params["cutoff"]),
            max_z=params["embedding"].shape[0] - 1,
        )

    @staticmethod
    def _reference_name(name: str) -> str:
        """state_dict key -> reference key (inverse of _torch_name)."""
        if name == "embedding.weight":
            return "embedding"
        if name.startswith("interactions."):
            name = "interaction" + name[len("interactions.") :]
        if name.endswith(".weight"):
            return name[: -len(".weight")] + ".W"
        if name.endswith(".bias"):
            return name[: -len(".bias")] + ".b"
        return name

    @classmethod
    def from_reference(cls, params: dict, dtype=torch.float32, device=None):
        """A model holding exactly the reference's ``params`` (rounded once if dtype is float32)."""
        model = cls(**cls.hyperparameters(params))
        state = {}
        for key, value in params.items():
            if key == "cutoff":  # a hyperparameter here, not a tensor
                continue
            name, transpose = cls._torch_name(key)
            value = np.asarray(value, dtype=np.float64)
            state[name] = torch.from_numpy(value.T.copy() if transpose else value.copy())
        model.to(dtype=torch.float64)
        model.load_state_dict(state, strict=True)
        return model.to(device=device, dtype=dtype)

    def to_reference(self) -> dict:
        """This model's weights as the reference's float64 numpy dict (inverse of
        from_reference)."""
        params = {"cutoff": np.array(self.cutoff)}
        for name, value in self.state_dict().items():
            key = self._reference_name(name)
            value = value.detach().to("cpu", torch.float64).numpy()
            params[key] = value.T.copy() if self._torch_name(key)[1] else value.copy()
        return params
