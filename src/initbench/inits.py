"""Applying an init to a network: ``init_params`` for one variant, ``initialize`` for given layers.

The inits themselves are records of ``registry`` (the built-in ones, with their formulas and
citations, are in ``schemes.py``). How a variant is initialised, chosen so that the course labs
are reproduced exactly:

1. ``g = torch.Generator().manual_seed(seed)``;
2. every layer gets PyTorch's default ``nn.Linear`` init, in layer order, from ``g``. This is what
   ``torch.manual_seed(seed); model = Net()`` does, bit for bit;
3. the init's function is applied on top, layer by layer, with the same ``g``. So
   ``uniform(0,1)`` redraws the weights exactly as the lab's ``weight.uniform_(0, 1)`` after
   ``Net()`` did, and leaves the biases as the lab had them;
4. the bias policy is enforced: ``default`` puts nn.Linear's bias back, ``zero`` zeroes it,
   ``init`` keeps what the function drew (a study's ``bias`` key may force ``default`` or ``zero``,
   except on an init that draws its own bias);
5. a data-dependent init (``lsuv``) then runs its data step over all layers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from initbench import registry


def reset_default(weight, bias, generator) -> None:
    """``nn.Linear.reset_parameters`` with an explicit generator.

    W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), written by PyTorch as ``kaiming_uniform_(a=sqrt(5))``
    (gain sqrt(2/(1+5)) = sqrt(1/3), bound = gain*sqrt(3/fan_in)); then b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    bound = 1 / math.sqrt(weight.shape[1]) if weight.shape[1] > 0 else 0
    nn.init.uniform_(bias, -bound, bound, generator=generator)


def initialize(
    layers, init: str, generator, *, data=None, activation: str = "tanh", bias: str | None = None
) -> None:
    """Apply the init named by ``init`` (e.g. ``"uniform(-1,1)"``) on top of ``layers`` in place.

    ``layers`` is a list of (weight, bias) pairs in layer order, e.g. taken from an ``nn.Module``
    built after ``torch.manual_seed(s)``; pass ``generator=torch.default_generator`` to continue
    the global stream as the labs did. ``data`` (a (B, in) batch) is needed by data-dependent
    inits (``lsuv``) only. ``bias`` is a study's override of the init's bias policy, if any.
    """
    rec, args = registry.bind(init)
    if rec.data_dependent and data is None:
        raise ValueError(f"init {init!r} is data-dependent: pass a batch of training inputs as data=")
    if rec.fn is None:
        raise ValueError(f"init {init!r} is declared by {rec.source}, which has not been imported")
    policy = registry.bias_policy(init, bias)
    with torch.no_grad():
        for weight, b in layers:
            kept = b.clone()
            rec.fn(weight, b, generator, *args)
            if policy == "default":  # the labs: the init changes the weights only
                b.copy_(kept)
            elif policy == "zero":  # Glorot & Bengio 2010, He et al. 2015: biases start at 0
                b.zero_()
        if rec.data_step is not None:
            rec.data_step(layers, data, activation)


def init_params(
    init: str,
    sizes: Sequence[int],
    seed: int,
    *,
    data=None,
    activation: str = "tanh",
    bias: str | None = None,
):
    """The initial parameters of one variant: a list of (W (out, in), b (out,)) float32 CPU tensors.

    Steps 1-5 of the module docstring: default init of every layer in order from
    ``torch.Generator().manual_seed(seed)``, then the init on top from the same generator.
    ``sizes`` is ``[in_dim, *hidden, out_dim]``.
    """
    registry.bind(init)  # a bad name fails before any tensor is made
    generator = torch.Generator().manual_seed(int(seed))
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        weight, b = torch.empty(int(n_out), int(n_in)), torch.empty(int(n_out))
        reset_default(weight, b, generator)
        layers.append((weight, b))
    initialize(layers, init, generator, data=data, activation=activation, bias=bias)
    return layers
