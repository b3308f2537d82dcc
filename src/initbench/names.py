"""The vocabulary of the benchmark: valid inits, activations, losses and dataset kinds.

Torch-free on purpose: the Snakefile imports it to check a config before any job runs
(building the DAG must not import torch). ``inits.py`` and ``models.py`` implement these names,
and a test checks that the two lists agree.
"""

from __future__ import annotations

import re

# name -> (number of parameters it takes, what it does to the bias)
INIT_SCHEMES: dict[str, tuple[int, str]] = {
    "default": (0, "default"),  # exactly nn.Linear.reset_parameters
    "ones": (0, "zero"),  # the course's same-weights lab
    "uniform": (2, "default"),  # U(a, b) on the weights only, as in the labs
    "fan_in_uniform": (0, "default"),  # the lecture's U(-1/n_in, 1/n_in)
    "xavier_uniform": (0, "zero"),  # Glorot & Bengio 2010
    "xavier_normal": (0, "zero"),
    "he_uniform": (0, "zero"),  # He et al. 2015
    "he_normal": (0, "zero"),
    "lecun_normal": (0, "zero"),  # LeCun et al. 1998
    "orthogonal": (0, "zero"),  # Saxe et al. 2014
    "lsuv": (0, "zero"),  # Mishkin & Matas 2016 (data-dependent)
}
BIAS_POLICIES = ("default", "zero")
BIAS_OVERRIDES = BIAS_POLICIES  # a study may force one on every init (the labs: "default")
ACTIVATIONS = ("tanh", "relu", "sigmoid", "softsign", "gelu", "identity")
LOSSES = ("cross_entropy", "bce")
DATASET_KINDS = ("mnist", "fashion_mnist", "kmnist", "cifar10", "mnist1d", "toy1d", "shapeset")

_SPEC = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def parse_init(spec: str) -> tuple[str, tuple[float, ...]]:
    """Split an init spec such as ``"uniform(-1,1)"`` into ``("uniform", (-1.0, 1.0))``.

    Raises ValueError naming the spec and listing the valid schemes.
    """
    valid = ", ".join(sorted(INIT_SCHEMES))
    m = _SPEC.match(str(spec))
    if not m or m.group(1) not in INIT_SCHEMES:
        raise ValueError(f"unknown init {spec!r}; valid inits are: {valid}")
    name, raw = m.group(1), m.group(2)
    try:
        args = tuple(float(a) for a in raw.split(",")) if raw and raw.strip() else ()
    except ValueError:
        raise ValueError(f"init {spec!r}: arguments must be numbers, e.g. uniform(-1,1)") from None
    want = INIT_SCHEMES[name][0]
    if len(args) != want:
        example = f"{name}(a,b)" if want == 2 else name
        raise ValueError(f"init {spec!r} takes {want} argument(s); write it as {example}")
    if name == "uniform" and not args[0] < args[1]:
        raise ValueError(f"init {spec!r}: need a < b in uniform(a,b)")
    return name, args


def check_activation(name: str) -> str:
    """Return ``name`` if it is a known activation, else raise ValueError listing the valid ones."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid activations are: {', '.join(ACTIVATIONS)}")
    return name


def bias_policy(spec: str, override: str | None = None) -> str:
    """The bias policy a variant ends up with: the study's ``override`` if given, else the scheme's.

    'default' leaves nn.Linear's U(-1/sqrt(n_in), 1/sqrt(n_in)) bias; 'zero' sets it to 0.
    """
    if override not in (None, "scheme"):
        return override
    return INIT_SCHEMES[parse_init(spec)[0]][1]
