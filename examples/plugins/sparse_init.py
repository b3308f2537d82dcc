"""Sparse initialization (Martens 2010; Sutskever et al. 2013), as an initbench plugin.

Each unit gets exactly k non-zero incoming weights, at k inputs chosen at random, drawn from
N(0, std^2); the other weights and the biases are 0. Martens used k = 15 with unit Gaussian
weights for deep autoencoders trained by Hessian-free optimisation, so that a unit's total input
does not shrink as the fan-in grows (the scale of a dense N(0, 1/fan_in) init does), while the
units of a layer still differ (no symmetry). Sutskever et al. used the same scheme with SGD and
momentum. Martens set tanh units' biases to 0.5; this is Sutskever et al.'s form, with zero
biases.

Name it in a config (config/examples/plugin.yaml does)::

    plugins: [examples/plugins/sparse_init.py]
    studies: {depth: {init: [default, sparse, "sparse(k=5)"], ...}}

Nothing here is special to initbench but the decorator: the function draws from ``generator``
only (so a seed gives the same weights every time), changes ``weight`` and ``bias`` in place, and
returns nothing. The workflow checks all of that before any training job uses it.
"""

import initbench


def _whole_k(k=15, std=1.0):
    """What is wrong with the parameters, or None (register_init's check=)."""
    if k < 1 or k != int(k):
        return f"k must be a whole number >= 1, got {k:g}"
    if std <= 0:
        return f"std must be > 0, got {std:g}"
    return None


@initbench.register_init(
    "sparse",
    bias="zero",
    # k of a row's fan_in weights are N(0, std^2), the rest 0: Var W = std^2 * min(k, fan_in) / fan_in
    weight_variance=lambda fan_in, fan_out, k=15, std=1.0: std**2 * min(k, fan_in) / fan_in,
    check=_whole_k,
    cite=(
        "J. Martens, Deep learning via Hessian-free optimization, ICML 2010, section 5; "
        "I. Sutskever, J. Martens, G. Dahl and G. Hinton, On the importance of initialization and "
        "momentum in deep learning, ICML 2013, section 3"
    ),
)
def sparse(weight, bias, generator, k=15, std=1.0):
    """W: k non-zero N(0, std^2) weights per unit, at random inputs, the rest 0; b = 0.

    Martens 2010, section 5 ("sparse initialization", k = 15, std = 1). When the fan-in is at most
    k, every weight is drawn: a dense N(0, std^2) layer.
    """
    import torch

    fan_out, fan_in = weight.shape
    k = min(int(k), fan_in)
    # k distinct inputs per unit: the first k of a random permutation of each row
    chosen = torch.rand(fan_out, fan_in, generator=generator).argsort(dim=1)[:, :k]
    values = torch.randn(fan_out, k, generator=generator) * std
    weight.zero_().scatter_(1, chosen, values)
    bias.zero_()
