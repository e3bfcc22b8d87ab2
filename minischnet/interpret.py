"""Looking inside a trained network (the thesis summary's section 3).

discretized        Fig. 2: the same model with a discrete (binned) filter, as images have
bond_scan          energies along a stretched bond (smooth for continuous filters)
local_potential    Fig. 4: the energy a probe atom would contribute at points around a molecule
probe_surface      where to put the probes: a closed shell at a fixed distance outside the atoms
insertion_energy   Fig. 4 by any calculator: E(molecule + probe) - E(molecule) - E(probe)
shift_partition    the same energies and forces, split otherwise among the atoms (Fig. 4's basis)
energy_by_partner  the atom-wise energies of, e.g., hydrogens on C, N and O (Fig. 4's background)
lowest_nearest     Fig. 4's reading: which atoms the lowest points of a potential lie next to
mean_by_nearest    Fig. 4's reading of the whole shell: the mean potential on each atom's patch
rank_at            Fig. 4's second reading: how low a potential lies at one place (a vacancy)
removed_position   where the atom a radical lacks was (its vacancy)
correlations       Pearson and rank correlation of two potentials on the same points
embedding_pca      Fig. 5: the leading principal components of the element embeddings
ordering           Fig. 5: does a series of elements (H, Li, Na, ...) appear in order on a line?
group_clustering   Fig. 5: are elements of one group closer to each other than to the rest?
"""

from __future__ import annotations

import functools
from contextlib import ExitStack, contextmanager

import numpy as np
import torch
from ase.data import atomic_numbers

from .data.batch import collate
from .nn.base import _whole
from .nn.layers import pair_vectors
from .nn.registry import hyperparameters


def _z(element) -> int:
    """Atomic number of ``element``, given as a symbol ("H") or a number (1)."""
    if isinstance(element, str):
        if not 1 <= atomic_numbers.get(element, 0) <= 118:  # ASE's dummy "X" is 0
            raise ValueError(f"{element!r} is not an element symbol (e.g. 'H', 'C', 'O')")
        return atomic_numbers[element]
    if not _whole(element) or not 1 <= element <= 118:
        raise ValueError(f"an element is a symbol or an atomic number 1-118, got {element!r}")
    return int(element)


def _points(points) -> np.ndarray:
    """``points`` as a float64 (n_points, 3) array, or a ValueError that names the shape."""
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    if points.shape[1:] != (3,) or points.ndim != 2:
        raise ValueError(f"points must have shape (n_points, 3), got {points.shape}")
    if len(points) == 0:
        raise ValueError("no points: points must have shape (n_points, 3) with n_points >= 1")
    if not np.all(np.isfinite(points)):
        raise ValueError("points hold NaN or infinite coordinates")
    return points


@contextmanager
def _block_hooks(model, hook):
    """Inside: ``hook(t, output)`` sees (and may replace) the update v of every block t of eq. (1).

    PyTorch's forward hooks, the explicit way to look into a module without changing it.
    """
    with ExitStack() as stack:
        for t, block in enumerate(model.interactions):
            handle = block.register_forward_hook(lambda module, args, out, t=t: hook(t, out))
            stack.callback(handle.remove)
        yield


def local_potential(model, atoms, points, probe="H", batch_size: int = 512) -> np.ndarray:
    """Local chemical potential (eV) at each of ``points`` (n_points, 3), Å: Fig. 4.

    A probe atom (hydrogen by default, any element) is put at each point. It feels the molecule,
    but the molecule's atoms do not feel it, so the molecule's own representation is untouched:
    the probe's atom-wise energy contribution (the term of eq. 3) is then a property of the
    molecule at that point.

    How: the molecule alone is run once and the update v_t of every refinement step (1) of its
    atoms is recorded. With a probe beside it, the same updates are put back in place of the
    molecule atoms' own (a forward hook on each interaction block), so their x^(t) are exactly
    those of the molecule alone, while the probe's x^(t) takes up messages from them.
    """
    z_probe = _z(probe)
    points = _points(points)
    n = len(atoms)
    was_training = model.training
    model.eval()
    clean = []  # v_t of the molecule alone, (n, F) per block
    with torch.no_grad(), _block_hooks(model, lambda t, v: clean.append(v)):
        model.atom_energies(collate([atoms], model.cutoff))
    Z = np.append(atoms.numbers, z_probe)
    out = []
    for start in range(0, len(points), batch_size):
        chunk = points[start : start + batch_size]
        structures = [
            (Z, np.vstack([atoms.positions, p]), atoms.cell.array, atoms.pbc) for p in chunk
        ]
        batch = collate(structures, model.cutoff).to(model.device, model.dtype)
        model.check(batch)

        def molecule_unchanged(
            t, v
        ):  # v (m (n + 1), F): the probe keeps its update, the rest theirs
            v = v.view(len(chunk), n + 1, -1).clone()  # (m, n + 1, F)
            v[:, :n] = clean[t]
            return v.view(len(chunk) * (n + 1), -1)

        with torch.no_grad(), _block_hooks(model, molecule_unchanged):
            e_atom = model.atom_energies(batch).view(len(chunk), n + 1)  # (m, n + 1)
        out.append(e_atom[:, n].double().cpu().numpy())  # the probe: the last atom of each
    model.train(was_training)
    return np.concatenate(out)


def probe_surface(atoms, distance: float = 1.8, points_per_atom: int = 400) -> np.ndarray:
    """Points (n, 3) on the closed surface at ``distance`` Å from the nearest atom.

    The thesis summary writes the surface as sum_i ‖r - r_i‖ = 3.7 Å, which cannot hold for a
    molecule of several atoms (the sum of distances is never that small). We keep its intent, a
    shell just outside the molecule, as the outer envelope of spheres of radius ``distance``
    around every atom: the isosurface min_i ‖r - r_i‖ = distance (a solvent-accessible surface).
    Each sphere is sampled by a Fibonacci lattice; points inside another atom's sphere are dropped.
    """
    if len(atoms) == 0:
        raise ValueError("probe_surface needs at least one atom")
    if not (np.isfinite(distance) and distance > 0):
        raise ValueError(f"distance must be a positive number of Å, got {distance}")
    if not _whole(points_per_atom) or points_per_atom < 1:
        raise ValueError(f"points_per_atom must be a whole number >= 1, got {points_per_atom!r}")
    k = np.arange(points_per_atom) + 0.5
    polar = np.arccos(1 - 2 * k / points_per_atom)
    azimuth = np.pi * (1 + 5**0.5) * k
    sphere = np.stack(
        [np.sin(polar) * np.cos(azimuth), np.sin(polar) * np.sin(azimuth), np.cos(polar)], 1
    )
    candidates = (atoms.positions[:, None, :] + distance * sphere[None]).reshape(-1, 3)
    nearest = np.linalg.norm(candidates[:, None, :] - atoms.positions[None], axis=-1).min(axis=1)
    return candidates[nearest > distance - 1e-9]


def insertion_energy(calculator, atoms, points, probe="H", batch_size: int = 256) -> np.ndarray:
    """Energy (eV) of putting a probe atom at each of ``points`` (n_points, 3), Å, beside ``atoms``:

        E(atoms + probe at r) - E(atoms) - E(probe alone),

    everything interacting and nothing relaxed. This is what quantum chemistry can say about where
    an atom is attracted (Fig. 4's "ein Wasserstoffatom wird stärker angezogen"), so it is the
    independent check on ``local_potential``: run it with a reference method, e.g.
    ``tblite.ase.TBLite(method="GFN2-xTB")``, or with ``minischnet.Calculator(model)`` to compare a
    model's total-energy answer with its masked probe. Any ASE calculator works; one with
    ``calculate_batch`` (minischnet's) evaluates ``batch_size`` structures per call. The structures
    with a probe usually have an odd number of electrons: a quantum-chemistry calculator must accept
    that (tblite does: it occupies the unpaired electron itself).
    """
    from ase import Atoms

    z_probe = _z(probe)
    points = _points(points)
    structures = []
    for p in points:
        with_probe = atoms.copy()
        with_probe.append(z_probe)
        with_probe.positions[-1] = p
        structures.append(with_probe)
    alone = Atoms(numbers=[z_probe], cell=atoms.cell, pbc=atoms.pbc)
    if hasattr(calculator, "calculate_batch"):
        energies = []
        for start in range(0, len(structures), batch_size):
            energies += calculator.calculate_batch(structures[start : start + batch_size])[0]
        e_molecule, e_probe = calculator.calculate_batch([atoms.copy(), alone])[0]
    else:

        def energy(a):
            a = a.copy()
            a.calc = calculator
            return a.get_potential_energy()

        energies = [energy(a) for a in structures]
        e_molecule, e_probe = energy(atoms), energy(alone)
    return np.asarray(energies, dtype=np.float64) - e_molecule - e_probe


@functools.cache
def _extended(extension, cls):
    """The subclass of model class ``cls`` with ``extension``'s methods in front of its own."""
    return type(f"{extension.__name__}{cls.__name__}", (extension, cls), {})


def _extend(model, extension, **settings):
    """A copy of ``model`` (same weights, eval mode) as an instance of
    ``_extended(extension, ...)``."""
    extended = _extended(extension, type(model))(**hyperparameters(model)).to(
        model.device, model.dtype
    )
    extended.load_state_dict(model.state_dict())  # in the model's dtype: the weights exactly
    extended.info = dict(getattr(model, "info", {}))
    for name, value in settings.items():
        setattr(extended, name, value)
    return extended.to(model.device, model.dtype).eval()


class ShiftedPartition:
    """A model extension: the same total energy, split otherwise among the atoms (see
    shift_partition)."""

    def atom_energies(self, batch, R=None):
        if R is None:
            batch = batch.to(self.device, self.dtype)
            R = batch.R
        e = super().atom_energies(batch, R)  # (n_atoms,): the model's own eq. (3) terms
        delta, z_a, z_d, r_on, r_off = self.partition_shift
        i, j = batch.idx_i, batch.idx_j  # one direction per pair
        d = torch.linalg.vector_norm(pair_vectors(R, i, j, batch.offsets), dim=1)  # (P,)
        x = ((d - r_on) / (r_off - r_on)).clamp(0.0, 1.0)
        s = delta * 0.5 * (torch.cos(np.pi * x) + 1.0)  # (P,): delta below r_on, 0 beyond r_off
        Z = batch.Z
        i_accepts = ((Z[i] == z_a) & (Z[j] == z_d)).to(s.dtype)  # (P,): i accepts from donor j
        j_accepts = ((Z[j] == z_a) & (Z[i] == z_d)).to(s.dtype)  # (P,): j accepts from donor i
        shift = torch.zeros_like(e).index_add(0, i, s * (j_accepts - i_accepts))  # (n_atoms,)
        return e + shift.index_add(0, j, s * (i_accepts - j_accepts))


def shift_partition(
    model, delta: float, acceptor="H", donor="O", r_on: float = 1.3, r_off: float = 1.8
):
    """A copy of ``model`` with exactly the same energies and forces but another split of them
    (eq. 3).

    Every ``acceptor`` atom (hydrogen) within ``r_off`` Å of a ``donor`` atom (oxygen) takes
    ``-delta * s(d)`` eV into its atom-wise term and the donor takes ``+delta * s(d)``, with s = 1
    up to ``r_on`` and a cosine down to 0 at ``r_off``. Each pair's two shifts cancel, so the total
    energy of every structure, and with it every force, is unchanged. Nothing a model is trained on
    (energies, forces) can tell the two splits apart, yet a probe (``local_potential``) reads off
    the split: it keeps its own ``-delta * s(d)``, and what its partner takes is not read.

    This is the freedom behind Fig. 4: which atoms look attractive to a probe is a property of the
    partition one training run happens to settle on, not of the energies.
    """
    if not 0 < r_on < r_off <= model.cutoff:
        raise ValueError(
            f"need 0 < r_on < r_off <= the model's cutoff ({model.cutoff} Å), "
            f"got r_on={r_on}, r_off={r_off}"
        )
    z_a = _z(acceptor)
    z_d = _z(donor)
    if z_a == z_d:
        raise ValueError(f"acceptor and donor must be different elements, got {acceptor} twice")
    return _extend(
        model, ShiftedPartition, partition_shift=(float(delta), z_a, z_d, float(r_on), float(r_off))
    )


def _on_points(points, potential) -> tuple[np.ndarray, np.ndarray]:
    """``points`` (n, 3) and a ``potential`` (n,) on them, as float64 arrays of matching length."""
    points, potential = _points(points), np.asarray(potential, dtype=np.float64)
    if potential.ndim != 1:
        raise ValueError(f"potential must have shape (n_points,), got {potential.shape}")
    if len(points) != len(potential):
        raise ValueError(f"{len(points)} points but {len(potential)} potential values")
    return points, potential


def _nearest_atom(atoms, points, potential) -> tuple[np.ndarray, np.ndarray]:
    """The index of the atom nearest to each point, and the potential as an array (lengths
    checked)."""
    points, potential = _on_points(points, potential)
    return np.linalg.norm(points[:, None] - atoms.positions[None], axis=-1).argmin(
        axis=1
    ), potential


def _label(atoms, i) -> str:
    """An atom's symbol and index, "O0": how the readings below name atoms."""
    return f"{atoms[int(i)].symbol}{int(i)}"


def lowest_nearest(atoms, points, potential, share: float = 0.03) -> dict:
    """{"O0": count, ...}: the atom (symbol and index) that each of the lowest ``share`` of
    ``points`` (by ``potential``) is nearest to; a compact reading of where a potential is low."""
    if not 0 <= share <= 1:  # 0: the single lowest point
        raise ValueError(f"share must be in [0, 1], got {share}")
    nearest, potential = _nearest_atom(atoms, points, potential)
    low = nearest[np.argsort(potential)[: max(1, int(share * len(potential)))]]
    return {_label(atoms, i): int(n) for i, n in zip(*np.unique(low, return_counts=True))}


def mean_by_nearest(atoms, points, potential) -> dict:
    """{"O0": mean, ...}: the mean potential (eV) over the part of the shell nearest to each atom.

    Where ``lowest_nearest`` reads the tail (a few points, a few meV apart, can move it from one
    atom to another), this reads the whole surface as a coloured picture of Fig. 4 shows it: which
    atom's patch of the shell is low on the whole. Atoms with no point nearest to them are left out.
    """
    nearest, potential = _nearest_atom(atoms, points, potential)
    return {_label(atoms, i): float(potential[nearest == i].mean()) for i in np.unique(nearest)}


def removed_position(atoms, fewer) -> np.ndarray:
    """Where the one atom of ``atoms`` that ``fewer`` lacks was (Å): the vacancy of a radical."""
    gone = [p for p in atoms.positions if np.linalg.norm(fewer.positions - p, axis=1).min() > 1e-6]
    if len(gone) != 1:
        raise ValueError(
            f"expected the second structure to lack exactly one atom of the first, "
            f"it lacks {len(gone)}"
        )
    return gone[0]


def correlations(x, y) -> dict:
    """Pearson and Spearman (rank) correlation of two sets of values on the same points."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(
            f"need two 1-d arrays of the same length >= 2, got shapes {x.shape} and {y.shape}"
        )
    rank = lambda v: np.argsort(np.argsort(v))  # noqa: E731
    return {
        "pearson": float(np.corrcoef(x, y)[0, 1]),
        "spearman": float(np.corrcoef(rank(x), rank(y))[0, 1]),
    }


def rank_at(points, potential, position, radius: float = 0.6) -> dict:
    """How low ``potential`` on ``points`` lies at ``position`` (Å), e.g. where a hydrogen was
    removed.

    Returns a dict:

    - ``share_above``: the share of all points whose potential is above the mean of those within
      ``radius`` of ``position`` (1: the spot is lower than the whole shell);
    - ``n_near``: how many points that mean is over;
    - ``minimum_distance``: how far (Å) the single lowest point is from ``position``.

    Fig. 4 asks that a removed hydrogen leave a low spot at its vacancy: ``share_above`` says
    whether the spot is low, ``minimum_distance`` whether it is *the* minimum.
    """
    points, potential = _on_points(points, potential)
    distance = np.linalg.norm(points - np.asarray(position, dtype=np.float64), axis=1)
    near = distance < radius
    if not near.any():
        raise ValueError(
            f"no point within {radius} Å of {list(position)}: "
            f"the nearest is {distance.min():.2f} Å away"
        )
    return {
        "share_above": float((potential > potential[near].mean()).mean()),
        "n_near": int(near.sum()),
        "minimum_distance": float(distance[np.argmin(potential)]),
    }


def energy_by_partner(model, molecules, element="H", batch_size: int = 200) -> dict:
    """Atom-wise energies (eV, the terms of eq. 3) of every ``element`` atom in ``molecules``,
    grouped by the element of its nearest neighbour: {"C": array, "N": array, ...}.

    Eq. (3) splits a molecule's energy into atom-wise terms, and nothing but training decides how.
    A probe's local potential (Fig. 4) is one more such term, so where a model puts its lowest
    potential follows from how it splits real molecules: if it gives hydrogens bonded to oxygen
    higher terms than hydrogens bonded to carbon, a probe beside an oxygen will not be low either.
    """
    z = _z(element)
    was_training = model.training
    model.eval()
    groups: dict[str, list] = {}
    molecules = list(molecules)
    for start in range(0, len(molecules), batch_size):
        chunk = molecules[start : start + batch_size]
        batch = collate(chunk, model.cutoff).to(model.device, model.dtype)
        with torch.no_grad():
            energies = model.atom_energies(batch).double().cpu().numpy()
        first = 0
        for atoms in chunk:
            if len(atoms) > 1:  # a lone atom has no partner
                D = atoms.get_all_distances(mic=bool(atoms.pbc.any()))
                np.fill_diagonal(D, np.inf)
                symbols = atoms.get_chemical_symbols()
                for i in np.flatnonzero(atoms.numbers == z):
                    groups.setdefault(symbols[int(np.argmin(D[i]))], []).append(energies[first + i])
            first += len(atoms)
    model.train(was_training)
    return {partner: np.array(e) for partner, e in sorted(groups.items())}


class DiscreteFilters:
    """A model extension: the filters see distances rounded to a grid (see discretized)."""

    def expand(self, d):
        return super().expand(torch.round(d / self.bin_width) * self.bin_width)


def discretized(model, bin_width: float = 0.1):
    """A copy of ``model`` whose filters see distances rounded to a grid of ``bin_width`` Å.

    That is a discrete filter, a table of values at grid points as an image convolution uses
    (Fig. 2): the energy jumps whenever a distance crosses the middle between two grid points.
    """
    if not bin_width > 0:
        raise ValueError(f"bin_width must be positive, got {bin_width}")
    return _extend(model, DiscreteFilters, bin_width=float(bin_width))


def bond_scan(model, atoms, i: int, j: int, distances) -> np.ndarray:
    """Energies (eV) with atom j moved along the i -> j axis to each of ``distances`` (Å) from
    atom i."""
    direction = atoms.positions[j] - atoms.positions[i]
    direction = direction / np.linalg.norm(direction)
    structures = []
    for d in np.asarray(distances, dtype=np.float64):
        R = atoms.positions.copy()
        R[j] = R[i] + d * direction
        structures.append((atoms.numbers, R, atoms.cell.array, atoms.pbc))
    batch = collate(structures, model.cutoff).to(model.device, model.dtype)
    with torch.no_grad():
        return model.eval()(batch).double().cpu().numpy()


def embedding_pca(model, elements) -> tuple[np.ndarray, np.ndarray]:
    """First two principal components of the embeddings A[Z] of ``elements`` (Fig. 5).

    Returns coordinates (n_elements, 2) and the fraction of the variance each component explains.
    """
    Z = np.array([_z(e) for e in elements])
    A = model.embedding.weight.detach().double().cpu().numpy()[Z]
    A = A - A.mean(axis=0)
    U, S, Vt = np.linalg.svd(A, full_matrices=False)
    return U[:, :2] * S[:2], (S**2 / np.sum(S**2))[:2]


def group(z: int) -> int:
    """Periodic-table group (1-18) of element z; lanthanides count as group 3."""
    if z in (1, 3, 11, 19, 37, 55):
        return 1
    if z == 2:
        return 18
    periods = [(3, 10), (11, 18), (19, 36), (37, 54), (55, 86)]
    for start, end in periods:
        if start <= z <= end:
            offset = z - start
            if end - start == 7:  # periods 2 and 3: groups 1, 2, 13-18
                return offset + 1 if offset < 2 else offset + 11
            if start == 55:  # period 6: Cs, Ba, La-Lu (group 3), Hf...
                if offset <= 2:
                    return offset + 1
                if z <= 71:
                    return 3
                return z - 71 + 3
            return offset + 1
    raise ValueError(f"no group for element {z}")


def ordering(coords, elements, series) -> float:
    """How well the elements of ``series`` (e.g. H Li Na K Rb Cs) line up in order in ``coords``.

    The members present are projected onto the line from the first to the last of them; the result
    is the rank correlation (Spearman) between their order in the series and along that line:
    1 for perfect order, about 0 for none, -1 reversed. NaN with fewer than three members present.
    """
    where = {e: k for k, e in enumerate(elements)}
    members = [e for e in series if e in where]
    if len(members) < 3:
        return float("nan")
    x = np.asarray(coords, dtype=float)[[where[e] for e in members]]
    axis = x[-1] - x[0]
    projection = (x - x[0]) @ axis
    ranks = np.argsort(np.argsort(projection))
    return float(np.corrcoef(ranks, np.arange(len(members)))[0, 1])


def group_clustering(coords, elements) -> float:
    """Mean distance between two elements of the same group over the mean distance between any two.

    Below 1: elements of a group sit closer together than elements in general (the thesis
    summary's "clusters by main group"); about 1: no such structure. Groups with one member present
    are skipped.
    """
    x = np.asarray(coords, dtype=float)
    g = np.array([group(_z(e)) for e in elements])
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    pairs = ~np.eye(len(x), dtype=bool)
    same = (g[:, None] == g[None]) & pairs
    if not same.any():
        return float("nan")
    return float(d[same].mean() / d[pairs].mean())
