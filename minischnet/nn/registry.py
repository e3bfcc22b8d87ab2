"""The model registry: which class each model kind is, and model files.

    MODEL_CLASSES["schnet"] -> SchNet                 a new model is one more entry here
    minischnet.save(model, "c20.pt", test_mae=...)   ->   minischnet.load("c20.pt")
    minischnet.load("c20_schnet")                    a shipped model, by name

A model file holds a model with its hyperparameters (and, for a training checkpoint, the
training state beside it).

A file is a torch.save'd dict with a format tag; anything else (a damaged file, a foreign
checkpoint) gives a ValueError that says what is wrong. Written atomically: a crash while saving
leaves the previous file intact.

Loading never runs code from a file: files are read with ``torch.load(weights_only=True)``,
which unpickles tensors, numbers, strings, lists and dicts and nothing else. Model files travel
between students and courses, and a pickle can call any function; so ``save`` stores plain data
only (``plain`` checks it), and a file holding anything else is refused before it is unpickled.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import torch
from ase.data import atomic_numbers

from .._atomic import atomic_write
from ..resources import model_path
from .dtnn import DTNN
from .schnet import SchNet

FORMAT = "minischnet-model-v1"

#: model kind (``model.kind``, stored in every file) -> class
MODEL_CLASSES = {cls.kind: cls for cls in (SchNet, DTNN)}


def hyperparameters(model) -> dict:
    """The constructor arguments that rebuild ``model``'s architecture: ``type(model)(**h)``."""
    h = dict(
        n_features=model.n_features,
        n_interactions=len(model.interactions),
        n_rbf=model.n_rbf,
        cutoff=model.cutoff,
        max_z=model.max_z,
    )
    if model.kind == "dtnn":
        h["n_factors"] = model.n_factors
    if hasattr(
        model, "variant_options"
    ):  # only what differs from the defaults: older files stay valid
        h.update(model.variant_options())
    return h


def plain(value, name="info"):
    """``value`` as data that ``torch.load(weights_only=True)`` reads back: tensors, None, bools,
    numbers, strings, and lists, tuples and dicts of them. Paths, str and number subclasses (such
    as ``torch.__version__``) and NumPy scalars and arrays become their plain forms; anything
    else is a TypeError naming where it sits, so a file that could not be loaded is never
    written."""
    if value is None or isinstance(value, (torch.Tensor, bool)):
        return value
    if isinstance(value, (str, Path)):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v, f"{name}[{k}]") for k, v in enumerate(value))
    if isinstance(value, dict):
        return {plain(k, name): plain(v, f"{name}[{k!r}]") for k, v in value.items()}
    raise TypeError(
        f"{name} is a {type(value).__name__}: a model file holds tensors, numbers, strings, "
        "lists and dicts only (they load without running code)"
    )


def save_checkpoint(path, model, **extra) -> None:
    """Write ``model`` and any ``extra`` state (optimizer, history, ...) atomically to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    elements = extra.pop("trained_elements", getattr(model, "elements", None))
    state = dict(
        format=FORMAT,
        kind=model.kind,
        hyperparameters=hyperparameters(model),
        dtype=str(model.dtype).replace("torch.", ""),
        model=model.state_dict(),
        **plain(extra),
    )
    if elements is not None:  # the element numbers it was trained on
        state["trained_elements"] = sorted(int(z) for z in elements)
    with atomic_write(path) as f:
        torch.save(state, f)


def _read(path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # never runs code
    except pickle.UnpicklingError as e:
        if "Weights only load failed" not in str(e):  # a damaged pickle, not a refused one
            raise ValueError(f"{path} is damaged or truncated: {e}") from None
        found = str(e).split("Unsupported global:")[-1].split(" was not")[0].strip()
        raise ValueError(
            f"{path} is not a minischnet model file: it holds Python objects other than "
            f"tensors and plain data ({found[:120]}), which minischnet refuses to unpickle: "
            "unpickling can run any code the file names"
        ) from None
    except Exception as e:  # torch raises many kinds for a damaged zip/pickle
        raise ValueError(
            f"{path} is not a readable minischnet model file (damaged or truncated?): "
            f"{type(e).__name__}: {e}"
        ) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(
            f"{path} is not a minischnet model file (no '{FORMAT}' tag): a foreign checkpoint?"
        )
    return state


def load_checkpoint(path, model) -> dict:
    """Load the weights of ``path`` into ``model`` (same kind and shape); return the whole state."""
    state = _read(path)
    if state["kind"] != model.kind or state["hyperparameters"] != hyperparameters(model):
        raise ValueError(
            f"{path} holds a {state['kind']} {state['hyperparameters']}, "
            f"not this {model.kind} {hyperparameters(model)}"
        )
    model.load_state_dict(state["model"])
    return state


def load(path, device=None):
    """The model stored at ``path`` (eval mode), with ``model.info`` holding what was saved beside
    it. ``path`` may also be the name of a shipped model: ``load("c20_schnet")`` (the names and
    what each learned: ``minischnet.resources.shipped_models()``)."""
    path = model_path(path)
    state = _read(path)
    if state["kind"] not in MODEL_CLASSES:
        raise ValueError(
            f"{path}: unknown model kind {state['kind']!r} (known: {sorted(MODEL_CLASSES)})"
        )
    model = MODEL_CLASSES[state["kind"]](**state["hyperparameters"])
    model.to(getattr(torch, state["dtype"]))
    model.load_state_dict(state["model"])
    model.info = {
        k: v for k, v in state.items() if k not in ("model", "optimizer", "scheduler", "format")
    }
    model.elements = state.get("trained_elements")
    if model.elements is None and "elements" in state:
        # files written before trained_elements: the elements of the data set it was trained on
        model.elements = sorted(atomic_numbers[symbol] for symbol in state["elements"])
    return model.to(device).eval()


def save(model, path, **info) -> None:
    """Save ``model`` with any JSON-like ``info`` (training command, split, test errors...)."""
    save_checkpoint(path, model, **info)


def weights_hash(model) -> str:
    """A fingerprint of a model's weights (not of its file, whose description may be rewritten)."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
