"""The initializer registry: one named scheme per entry of ``names.INIT_SCHEMES``.

How a variant is initialised (``init_params``), chosen so that the course labs are reproduced
exactly:

1. ``g = torch.Generator().manual_seed(seed)``;
2. every layer gets PyTorch's default ``nn.Linear`` init, in layer order, from ``g``. This is what
   ``torch.manual_seed(seed); model = Net()`` does, bit for bit;
3. the scheme is applied on top, with the same ``g``. So ``uniform(0,1)`` redraws the weights
   exactly as the lab's ``weight.uniform_(0, 1)`` after ``Net()`` did, and leaves the biases as
   the lab had them.

Each scheme's docstring gives its formula, its paper, and what it does to the bias (its bias
policy, which must equal ``names.INIT_SCHEMES``; a test checks). fan_in = in_features,
fan_out = out_features of a layer's weight (out, in).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from initbench import names
from initbench.models import ACTIVATION_FUNCTIONS


def reset_default(weight, bias, generator) -> None:
    """``nn.Linear.reset_parameters`` with an explicit generator.

    W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), written by PyTorch as ``kaiming_uniform_(a=sqrt(5))``
    (gain sqrt(2/(1+5)) = sqrt(1/3), bound = gain*sqrt(3/fan_in)); then b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    """
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    bound = 1 / math.sqrt(weight.shape[1]) if weight.shape[1] > 0 else 0
    nn.init.uniform_(bias, -bound, bound, generator=generator)


def _default(weight, bias, generator):
    """PyTorch's ``nn.Linear`` default: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    Touches: nothing more; step 2 of ``init_params`` has already drawn exactly this (the lecture's
    point 4: ``kaiming_uniform_(a=sqrt(5))``). Bias: PyTorch's default.
    """


def _ones(weight, bias, generator):
    """Every weight 1, every bias 0: the course's "initialization with same weights" lab.

    All neurons of a layer then compute the same function and get the same gradient, so they stay
    identical forever (the symmetry problem). Bias: set to 0.
    """
    weight.fill_(1.0)
    bias.zero_()


def _uniform(weight, bias, generator, low, high):
    """W ~ U(a, b), the labs' ``weight.uniform_(a, b)``; the lab uses U(0, 1), the lecture U(-1, 1)
    and U(-0.05, 0.05).

    Bias: left at PyTorch's default, as in the labs.
    """
    weight.uniform_(low, high, generator=generator)


def _fan_in_uniform(weight, bias, generator):
    """W ~ U(-1/fan_in, 1/fan_in): the lecture's fix for tanh saturation, which scales the range by
    1/n_in so that z = sum_i w_i a_i stays O(1) as the fan-in grows.

    Bias: left at PyTorch's default.
    """
    bound = 1.0 / weight.shape[1]
    weight.uniform_(-bound, bound, generator=generator)


def _xavier_uniform(weight, bias, generator):
    """W ~ U(-sqrt(6/(fan_in+fan_out)), +sqrt(6/(fan_in+fan_out))), i.e. Var W = 2/(fan_in+fan_out).

    Glorot & Bengio 2010, eq. 16 ("normalized initialization"), gain 1 as in the Xavier lab's
    ``xavier_uniform_(weight)``. Bias: set to 0, as in the paper.
    """
    nn.init.xavier_uniform_(weight, gain=1.0, generator=generator)
    bias.zero_()


def _xavier_normal(weight, bias, generator):
    """W ~ N(0, 2/(fan_in+fan_out)): the normal form of Glorot & Bengio 2010's variance, gain 1.

    Bias: set to 0.
    """
    nn.init.xavier_normal_(weight, gain=1.0, generator=generator)
    bias.zero_()


def _he_uniform(weight, bias, generator):
    """W ~ U(-sqrt(6/fan_in), +sqrt(6/fan_in)), i.e. Var W = 2/fan_in (gain sqrt(2), for ReLU).

    He et al. 2015, "Delving Deep into Rectifiers", eq. 10; PyTorch's
    ``kaiming_uniform_(nonlinearity='relu')`` as in the He lab. Bias: set to 0, as in the paper.
    """
    nn.init.kaiming_uniform_(weight, mode="fan_in", nonlinearity="relu", generator=generator)
    bias.zero_()


def _he_normal(weight, bias, generator):
    """W ~ N(0, 2/fan_in) (std = sqrt(2/fan_in), gain sqrt(2) for ReLU).

    He et al. 2015, eq. 10. Bias: set to 0.
    """
    nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu", generator=generator)
    bias.zero_()


def _lecun_normal(weight, bias, generator):
    """W ~ N(0, 1/fan_in) (std = 1/sqrt(fan_in)).

    LeCun, Bottou, Orr & Müller 1998, "Efficient BackProp", section 4.6. Bias: set to 0.
    """
    nn.init.normal_(weight, 0.0, 1.0 / math.sqrt(weight.shape[1]), generator=generator)
    bias.zero_()


def _orthogonal(weight, bias, generator):
    """W = a (semi-)orthogonal matrix: the Q of the QR decomposition of an N(0, 1) matrix, gain 1.

    Saxe, McClelland & Ganguli 2014; PyTorch's ``orthogonal_``. Rows (or columns, whichever are
    fewer) are orthonormal. Bias: set to 0.
    """
    nn.init.orthogonal_(weight, gain=1.0, generator=generator)
    bias.zero_()


def _lsuv(weight, bias, generator):
    """Layer-sequential unit-variance init: orthogonal W, then, layer by layer from the input, W is
    divided by sqrt(Var(z_l)) until the layer's output z_l = W a_(l-1) + b on a batch of training
    data has variance 1 (Var over all samples and units).

    Mishkin & Matas 2016, "All you need is a good init", Algorithm 1 (tolerance 1e-3, at most 10
    rounds per layer; with zero bias one round is already exact). Data-dependent: ``init_params``
    gets the batch (the trainer passes its probe batch, the first training samples). The output
    layer is included. Bias: set to 0. This function is the per-layer orthogonal step; the
    rescaling is ``lsuv_rescale``.
    """
    _orthogonal(weight, bias, generator)


@dataclass(frozen=True)
class Scheme:
    """A named initializer: ``apply(weight, bias, generator, *args)`` changes one layer in place."""

    name: str
    bias: str  # "default": PyTorch's bias left as is; "zero": set to 0
    apply: Callable
    data_dependent: bool = False

    @property
    def doc(self) -> str:
        return self.apply.__doc__ or ""


SCHEMES: dict[str, Scheme] = {
    "default": Scheme("default", "default", _default),
    "ones": Scheme("ones", "zero", _ones),
    "uniform": Scheme("uniform", "default", _uniform),
    "fan_in_uniform": Scheme("fan_in_uniform", "default", _fan_in_uniform),
    "xavier_uniform": Scheme("xavier_uniform", "zero", _xavier_uniform),
    "xavier_normal": Scheme("xavier_normal", "zero", _xavier_normal),
    "he_uniform": Scheme("he_uniform", "zero", _he_uniform),
    "he_normal": Scheme("he_normal", "zero", _he_normal),
    "lecun_normal": Scheme("lecun_normal", "zero", _lecun_normal),
    "orthogonal": Scheme("orthogonal", "zero", _orthogonal),
    "lsuv": Scheme("lsuv", "zero", _lsuv, data_dependent=True),
}


def lsuv_rescale(layers, data, activation: str, tol: float = 1e-3, max_rounds: int = 10) -> None:
    """Rescale each layer's W (in order) so its pre-activation output on ``data`` has variance 1.

    ``layers`` is a list of (weight, bias); the last layer is the output layer (it gets no
    activation here: only its pre-activation output z is measured). Mishkin & Matas 2016, Alg. 1.
    A layer whose output is constant (e.g. every ReLU below it is dead) is left as it is, since
    no scale can give it unit variance.
    """
    act = ACTIVATION_FUNCTIONS[activation]
    a = data.to(torch.float32)
    for weight, bias in layers:
        for _ in range(max_rounds):
            var = torch.addmm(bias, a, weight.t()).var(unbiased=False)
            if not torch.isfinite(var) or var <= 0 or abs(var.item() - 1.0) < tol:
                break
            weight.div_(var.sqrt())
        a = act(torch.addmm(bias, a, weight.t()))


def initialize(
    layers, init: str, generator, *, data=None, activation: str = "tanh", bias: str | None = None
) -> None:
    """Apply the scheme named by ``init`` (e.g. ``"uniform(-1,1)"``) on top of ``layers`` in place.

    ``layers`` is a list of (weight, bias) pairs in layer order, e.g. taken from an ``nn.Module``
    built after ``torch.manual_seed(s)``; pass ``generator=torch.default_generator`` to continue
    the global stream as the labs did. ``data`` (a (B, in) batch) is needed by ``lsuv`` only.
    """
    name, args = names.parse_init(init)
    scheme = SCHEMES[name]
    if scheme.data_dependent and data is None:
        raise ValueError(f"init {init!r} is data-dependent: pass a batch of training inputs as data=")
    policy = bias  # the call's override of the scheme's bias policy, if any
    if policy not in (None, *names.BIAS_OVERRIDES):
        raise ValueError(f"unknown bias policy {policy!r}; valid: {', '.join(names.BIAS_OVERRIDES)}")
    with torch.no_grad():
        for weight, b in layers:
            kept = b.clone()
            scheme.apply(weight, b, generator, *args)
            if policy == "default":  # the labs: the scheme changes the weights only
                b.copy_(kept)
            elif policy == "zero":  # Glorot & Bengio 2010, He et al. 2015: biases start at 0
                b.zero_()
        if name == "lsuv":
            lsuv_rescale(layers, data, activation)


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

    Step 1-3 of the module docstring: default init of every layer in order from
    ``torch.Generator().manual_seed(seed)``, then the scheme on top from the same generator.
    ``sizes`` is ``[in_dim, *hidden, out_dim]``.
    """
    names.parse_init(init)  # a bad name fails before any tensor is made
    generator = torch.Generator().manual_seed(int(seed))
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        weight, b = torch.empty(int(n_out), int(n_in)), torch.empty(int(n_out))
        reset_default(weight, b, generator)
        layers.append((weight, b))
    initialize(layers, init, generator, data=data, activation=activation, bias=bias)
    return layers
