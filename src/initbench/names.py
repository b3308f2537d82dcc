"""The vocabulary of the benchmark: valid inits, activations, losses and dataset kinds.

Torch-free on purpose: the Snakefile imports it to check a config before any job runs
(building the DAG must not import torch). The inits are the records of ``registry`` (the
built-in ones are in ``schemes``), the dataset kinds those of ``kinds``; ``models.py``
implements the activations, and a test checks that the two lists agree.
"""

from __future__ import annotations

from initbench import kinds
from initbench.registry import BIAS_OVERRIDES, BIAS_POLICIES, bias_policy, init_names, parse_init

__all__ = [
    "ACTIVATIONS",
    "BIAS_OVERRIDES",
    "BIAS_POLICIES",
    "DATASET_KINDS",
    "LOSSES",
    "bias_policy",
    "check_activation",
    "init_names",
    "parse_init",
]

ACTIVATIONS = ("tanh", "relu", "sigmoid", "softsign", "gelu", "identity")
LOSSES = ("cross_entropy", "bce")
DATASET_KINDS = kinds.names()


def check_activation(name: str) -> str:
    """Return ``name`` if it is a known activation, else raise ValueError listing the valid ones."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; valid activations are: {', '.join(ACTIVATIONS)}")
    return name
