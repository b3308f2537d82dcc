"""What a pack is: its variants (init, seed, lr, momentum) and what they share, checked up front.

``grid.packs()`` writes these as plain JSON; ``PackSpec.from_dict`` reads them back, and every
bad value raises a ValueError naming it (and the valid choices) before any tensor is made.
Also here: the per-seed data-order generator, and the check of a dataset's six tensors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields

import torch

from initbench import names
from initbench.models import check_hidden, hidden_sizes
from initbench.precision import check as check_precision


def variant_id(v: dict) -> str:
    """The default id of a variant (a ``VariantSpec`` as a dict) whose ``columns`` give none."""
    return f"{v['init']}|seed={v['seed']}|lr={v['lr']:g}|momentum={v['momentum']:g}"


PACK_METADATA = ("study", "pack", "dataset")  # keys of grid.packs() specs that from_dict ignores
SPLITS = ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")


DATA_SEED_MIX = 0x5EED_DA7A_0DE2  # keeps a seed's data-order stream apart from its init stream


def data_generator(seed: int) -> torch.Generator:
    """The generator of seed ``seed``'s data order (independent of its init generator)."""
    return torch.Generator().manual_seed(int(seed) ^ DATA_SEED_MIX)


@dataclass
class VariantSpec:
    """One model of a pack. ``columns`` (grid columns and the ``variant`` id) go into every row."""

    init: str  # init spec, e.g. "uniform(-1,1)"
    seed: int
    lr: float
    momentum: float = 0.0
    columns: dict = field(default_factory=dict)
    bias: str | None = None  # None: the scheme's own bias policy; "default" / "zero" override it

    def validate(self, where: str = "variant") -> None:
        names.parse_init(self.init)
        if self.bias not in (None, *names.BIAS_OVERRIDES):
            raise ValueError(
                f"{where}: bias must be one of {names.BIAS_OVERRIDES} or None, got {self.bias!r}"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"{where}: seed must be an integer >= 0, got {self.seed!r}")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"{where}: lr must be a finite number > 0, got {self.lr!r}")
        if not (isinstance(self.momentum, int | float) and 0 <= self.momentum < 1):
            raise ValueError(f"{where}: momentum must be in [0, 1), got {self.momentum!r}")
        if not isinstance(self.columns, dict):
            raise ValueError(f"{where}: columns must be a dict, got {type(self.columns).__name__}")


@dataclass
class PackSpec:
    """Everything a pack's variants share, and the variants. See the module docstring."""

    hidden: list[int]
    activation: str
    batch_size: int
    epochs: int | None  # passes over the training set; None when ``steps`` is given
    variants: list[VariantSpec]
    output_activation: str = "identity"
    loss: str = "cross_entropy"  # or "bce": the toy lab's hand-written binary cross-entropy
    shuffle: bool = True  # False = the toy lab's fixed order
    eval_batch_size: int = 5000  # the labs' validation batch
    stats_samples: int = 1000  # probe batch (first training samples) for per-layer stats
    histograms: bool = True  # per-layer histograms at init (Glorot & Bengio 2010, Figs. 6-7)
    record_hidden: bool = False  # first-hidden-layer activations of the whole train set at the end
    steps: int | None = None  # SGD steps in all, instead of epochs: the last epoch ends early
    precision: str = "fp32"  # matmul arithmetic: fp32, tf32 or bf16 (precision.py)

    def __post_init__(self):
        self.variants = [VariantSpec(**v) if isinstance(v, dict) else v for v in self.variants]
        self.validate()

    @classmethod
    def from_dict(cls, d: dict) -> PackSpec:
        """Build from plain JSON; ``depth`` and ``width`` may stand in for ``hidden``."""
        d = dict(d)
        if "hidden" not in d and {"depth", "width"} <= d.keys():
            d["hidden"] = hidden_sizes(d.pop("depth"), d.pop("width"))
        for key in PACK_METADATA:  # the grid's labels for the pack; the rows get them from columns
            d.pop(key, None)
        valid = [f.name for f in fields(cls)]
        unknown = sorted(set(d) - set(valid))
        if unknown:
            raise ValueError(f"unknown pack spec keys {unknown}; valid keys are: {', '.join(valid)}")
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        """Raise ValueError naming the bad value (and the valid ones) before any tensor is made."""
        self.hidden = list(check_hidden(self.hidden))
        names.check_activation(self.activation)
        names.check_activation(self.output_activation)
        if self.loss not in names.LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; valid losses are: {', '.join(names.LOSSES)}")
        if self.loss == "bce" and self.output_activation != "sigmoid":
            raise ValueError(f"loss 'bce' needs output_activation 'sigmoid', got {self.output_activation!r}")
        if (self.epochs is None) == (self.steps is None):
            raise ValueError(
                f"give exactly one of epochs and steps, got epochs={self.epochs!r}, steps={self.steps!r}"
            )
        check_precision(self.precision)
        for key in ("batch_size", "epochs", "steps", "eval_batch_size", "stats_samples"):
            value = getattr(self, key)
            if key in ("epochs", "steps") and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
        if not self.variants:
            raise ValueError("a pack needs at least one variant (K >= 1), got an empty list")
        ids = []
        for i, v in enumerate(self.variants):
            if not isinstance(v, VariantSpec):
                raise ValueError(f"variant {i} must be a VariantSpec or a dict, got {type(v).__name__}")
            v.validate(f"variant {i} ({v.init!r}, seed {v.seed!r})")
            ids.append(str(v.columns.get("variant", variant_id(asdict(v)))))
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"variant ids must be unique within a pack; repeated: {dupes}")


def check_data(data: Mapping[str, torch.Tensor], loss: str) -> None:
    """Raise ValueError unless ``data`` holds the six splits with consistent shapes and dtypes."""
    missing = [k for k in SPLITS if k not in data]
    if missing:
        raise ValueError(f"data lacks {missing}; it needs: {', '.join(SPLITS)}")
    dim, dtype = data["x_train"].shape[1:], data["x_train"].dtype
    if dtype not in (torch.float32, torch.float64) or len(dim) != 1:
        raise ValueError(
            f"x_train must be float32 or float64 of shape (N, D), got {dtype} {tuple(data['x_train'].shape)}"
        )
    if data["x_train"].shape[0] < 1:
        raise ValueError("x_train is empty")
    for split in ("train", "val", "test"):
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        if x.shape[1:] != dim or x.dtype != dtype:
            raise ValueError(f"x_{split} is {x.dtype} {tuple(x.shape)}; x_train is {dtype} (N, {dim[0]})")
        if y.shape != x.shape[:1]:
            raise ValueError(f"y_{split} has shape {tuple(y.shape)}, expected ({x.shape[0]},)")
        if loss == "bce" and y.numel() and not ((y == 0) | (y == 1)).all():
            raise ValueError(f"loss 'bce' needs 0/1 targets; y_{split} holds other values")
        if loss == "cross_entropy" and (y.is_floating_point() or (y.numel() and y.min() < 0)):
            raise ValueError(f"loss 'cross_entropy' needs int64 class ids >= 0 in y_{split}, got {y.dtype}")
