"""The built-in initializers: one function and one record (``@register_init``) each.

Each function changes one layer in place, ``fn(weight, bias, generator, *params)``, on top of
PyTorch's default ``nn.Linear`` init (see ``inits.init_params``); its docstring opens with the
formula, then gives the paper and the bias. fan_in = in_features, fan_out = out_features of the
weight (fan_out, fan_in). The record beside it gives the bias policy, the variances the theory
overlay uses (``Var W`` and, for an init that draws its own bias, ``Var b``) and the citation.

Torch is imported inside the functions only, so that importing this module (to learn the names,
parameters and policies when the DAG is built) stays torch-free.

Adding a built-in init: one function with its ``@register_init`` record here, and its test.
"""

from __future__ import annotations

import math

from initbench.registry import register_init


@register_init(
    "default",
    bias="default",
    weight_variance=lambda fan_in, fan_out: 1.0 / (3.0 * fan_in),
    cite="PyTorch's nn.Linear.reset_parameters: kaiming_uniform_(a=sqrt(5)) (He et al. 2015's form)",
)
def default(weight, bias, generator):
    """W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's ``nn.Linear`` default.

    Nothing more to do: ``init_params`` has already drawn exactly this (the lecture's point 4,
    ``kaiming_uniform_(a=sqrt(5))``, gain sqrt(1/3)). Bias: PyTorch's default.
    """


@register_init(
    "ones",
    bias="zero",
    no_theory="every weight is 1: no randomness, so the zero-mean theory does not apply",
    cite="the course lab “Initialization with same weights”",
)
def ones(weight, bias, generator):
    """W = 1, b = 0: the course's "initialization with same weights" lab.

    All neurons of a layer then compute the same function and get the same gradient, so they stay
    identical forever (the symmetry problem). Bias: set to 0.
    """
    weight.fill_(1.0)
    bias.zero_()


@register_init(
    "uniform",
    bias="default",
    weight_variance=lambda fan_in, fan_out, low, high: (high - low) ** 2 / 12.0 if low + high == 0 else None,
    no_theory="a + b != 0: the weights then have a non-zero mean, outside the zero-mean theory",
    check=lambda low, high: None if low < high else "need a < b in uniform(a,b)",
    cite="the course labs' weight.uniform_(a, b); the lecture's ranges",
)
def uniform(weight, bias, generator, low, high):
    """W ~ U(a, b), the labs' ``weight.uniform_(a, b)``.

    The lab uses U(0, 1), the lecture U(-1, 1) and U(-0.05, 0.05). Bias: left at PyTorch's
    default, as in the labs.
    """
    weight.uniform_(low, high, generator=generator)


@register_init(
    "fan_in_uniform",
    bias="default",
    weight_variance=lambda fan_in, fan_out: 1.0 / (3.0 * fan_in**2),
    cite="the lecture's fix for tanh saturation",
)
def fan_in_uniform(weight, bias, generator):
    """W ~ U(-1/fan_in, 1/fan_in): the lecture's fix for tanh saturation.

    Scaling the range by 1/n_in keeps z = sum_i w_i a_i O(1) as the fan-in grows. Bias: left at
    PyTorch's default.
    """
    bound = 1.0 / weight.shape[1]
    weight.uniform_(-bound, bound, generator=generator)


def _glorot(fan_in, fan_out):
    return 2.0 / (fan_in + fan_out)  # Glorot & Bengio 2010, eq. 12 ("normalized initialization")


@register_init(
    "xavier_uniform",
    bias="zero",
    weight_variance=_glorot,
    cite="X. Glorot and Y. Bengio, AISTATS 2010, eq. 16",
)
def xavier_uniform(weight, bias, generator):
    """W ~ U(-sqrt(6/(fan_in+fan_out)), +sqrt(6/(fan_in+fan_out))), i.e. Var W = 2/(fan_in+fan_out).

    Glorot & Bengio 2010, eq. 16 ("normalized initialization"), gain 1 as in the Xavier lab's
    ``xavier_uniform_(weight)``. Bias: set to 0, as in the paper.
    """
    from torch import nn

    nn.init.xavier_uniform_(weight, gain=1.0, generator=generator)
    bias.zero_()


@register_init(
    "xavier_normal",
    bias="zero",
    weight_variance=_glorot,
    cite="X. Glorot and Y. Bengio, AISTATS 2010 (the normal form of eq. 12's variance)",
)
def xavier_normal(weight, bias, generator):
    """W ~ N(0, 2/(fan_in+fan_out)): the normal form of Glorot & Bengio 2010's variance, gain 1.

    Bias: set to 0.
    """
    from torch import nn

    nn.init.xavier_normal_(weight, gain=1.0, generator=generator)
    bias.zero_()


def _he(fan_in, fan_out):
    return 2.0 / fan_in  # He et al. 2015, eq. 10: (1/2) n_l Var[w_l] = 1


@register_init("he_uniform", bias="zero", weight_variance=_he, cite="K. He et al., ICCV 2015, eq. 10")
def he_uniform(weight, bias, generator):
    """W ~ U(-sqrt(6/fan_in), +sqrt(6/fan_in)), i.e. Var W = 2/fan_in (gain sqrt(2), for ReLU).

    He et al. 2015, "Delving Deep into Rectifiers", eq. 10; PyTorch's
    ``kaiming_uniform_(nonlinearity='relu')`` as in the He lab. Bias: set to 0, as in the paper.
    """
    from torch import nn

    nn.init.kaiming_uniform_(weight, mode="fan_in", nonlinearity="relu", generator=generator)
    bias.zero_()


@register_init("he_normal", bias="zero", weight_variance=_he, cite="K. He et al., ICCV 2015, eq. 10")
def he_normal(weight, bias, generator):
    """W ~ N(0, 2/fan_in) (std = sqrt(2/fan_in), gain sqrt(2) for ReLU).

    He et al. 2015, eq. 10. Bias: set to 0.
    """
    from torch import nn

    nn.init.kaiming_normal_(weight, mode="fan_in", nonlinearity="relu", generator=generator)
    bias.zero_()


@register_init(
    "lecun_normal",
    bias="zero",
    weight_variance=lambda fan_in, fan_out: 1.0 / fan_in,
    cite="Y. LeCun, L. Bottou, G. Orr and K.-R. Müller, Efficient BackProp, 1998, section 4.6",
)
def lecun_normal(weight, bias, generator):
    """W ~ N(0, 1/fan_in) (std = 1/sqrt(fan_in)).

    LeCun, Bottou, Orr & Müller 1998, "Efficient BackProp", section 4.6. Bias: set to 0.
    """
    from torch import nn

    nn.init.normal_(weight, 0.0, 1.0 / math.sqrt(weight.shape[1]), generator=generator)
    bias.zero_()


def _positive_variances(sigma_w2, sigma_b2):
    if sigma_w2 is None and sigma_b2 != 0:
        return "sigma_b2 needs sigma_w2: write orthogonal(sigma_w2, sigma_b2)"
    if sigma_w2 is not None and not sigma_w2 > 0:
        return f"sigma_w2 must be > 0, got {sigma_w2:g}"
    if not sigma_b2 >= 0:
        return f"sigma_b2 must be >= 0, got {sigma_b2:g}"
    return None


@register_init(
    "gaussian",
    bias="init",
    weight_variance=lambda fan_in, fan_out, sigma_w2, sigma_b2=0.0: sigma_w2 / fan_in,
    bias_variance=lambda fan_in, fan_out, sigma_w2, sigma_b2=0.0: sigma_b2,
    check=_positive_variances,
    cite="B. Poole et al., NeurIPS 2016; S. Schoenholz et al., ICLR 2017 (the mean-field parameterisation)",
)
def gaussian(weight, bias, generator, sigma_w2, sigma_b2=0.0):
    """W ~ N(0, sigma_w2/fan_in), b ~ N(0, sigma_b2): the mean-field theory's parameterisation.

    Poole et al. 2016 and Schoenholz et al. 2017 write every init as a point (sigma_w^2,
    sigma_b^2); e.g. LeCun is (1, 0) and He is (2, 0). Bias: drawn from N(0, sigma_b2) (0 when
    sigma_b2 = 0), after the weights, from the same generator.
    """
    weight.normal_(0.0, math.sqrt(sigma_w2 / weight.shape[1]), generator=generator)
    if sigma_b2 > 0:
        bias.normal_(0.0, math.sqrt(sigma_b2), generator=generator)
    else:
        bias.zero_()


def _orthogonal_bias(sigma_w2=None, sigma_b2=0.0):
    return "zero" if sigma_w2 is None else "init"


def _orthogonal_variance(fan_in, fan_out, sigma_w2=None, sigma_b2=0.0):
    if sigma_w2 is None:  # rows (or columns) of unit length: Saxe et al. 2014
        return 1.0 / max(fan_in, fan_out)
    return sigma_w2 / fan_in


@register_init(
    "orthogonal",
    bias=_orthogonal_bias,
    weight_variance=_orthogonal_variance,
    bias_variance=lambda fan_in, fan_out, sigma_w2=None, sigma_b2=0.0: sigma_b2,
    check=_positive_variances,
    cite="A. Saxe, J. McClelland and S. Ganguli, ICLR 2014; with (sigma_w2, sigma_b2): J. Pennington et al., NeurIPS 2017",
)
def orthogonal(weight, bias, generator, sigma_w2=None, sigma_b2=0.0):
    """W = g Q, Q (semi-)orthogonal: the Q of the QR decomposition of an N(0, 1) matrix.

    Bare ``orthogonal``: g = 1, PyTorch's ``orthogonal_`` (Saxe, McClelland & Ganguli 2014); the
    rows (or columns, whichever are fewer) are orthonormal. ``orthogonal(sigma_w2, sigma_b2)``:
    g = sigma_w * sqrt(max(fan_in, fan_out) / fan_in), so that Var W = sigma_w2/fan_in as for
    ``gaussian`` also when the layer is not square (Pennington, Schoenholz & Ganguli 2017's critical
    orthogonal nets). Bias: set to 0 for the bare name; drawn from N(0, sigma_b2) with parameters.
    """
    from torch import nn

    if sigma_w2 is None:
        nn.init.orthogonal_(weight, gain=1.0, generator=generator)
        bias.zero_()
        return
    fan_out, fan_in = weight.shape
    gain = math.sqrt(sigma_w2 * max(fan_in, fan_out) / fan_in)
    nn.init.orthogonal_(weight, gain=gain, generator=generator)
    if sigma_b2 > 0:
        bias.normal_(0.0, math.sqrt(sigma_b2), generator=generator)
    else:
        bias.zero_()


def lsuv_rescale(layers, data, activation: str, tol: float = 1e-3, max_rounds: int = 10) -> None:
    """Rescale each layer's W (in order) so its pre-activation output on ``data`` has variance 1.

    ``layers`` is a list of (weight, bias); the last layer is the output layer (it gets no
    activation here: only its pre-activation output z is measured). Mishkin & Matas 2016, Alg. 1.
    A layer whose output is constant (e.g. every ReLU below it is dead) is left as it is, since
    no scale can give it unit variance.
    """
    import torch

    from initbench.models import ACTIVATION_FUNCTIONS

    act = ACTIVATION_FUNCTIONS[activation]
    a = data.to(torch.float32)
    for weight, bias in layers:
        for _ in range(max_rounds):
            var = torch.addmm(bias, a, weight.t()).var(unbiased=False)
            if not torch.isfinite(var) or var <= 0 or abs(var.item() - 1.0) < tol:
                break
            weight.div_(var.sqrt())
        a = act(torch.addmm(bias, a, weight.t()))


@register_init(
    "lsuv",
    bias="zero",
    no_theory="the scale is set from data (layer-sequential unit variance), not by a formula",
    data_dependent=True,
    data_step=lsuv_rescale,
    cite="D. Mishkin and J. Matas, ICLR 2016, Algorithm 1",
)
def lsuv(weight, bias, generator):
    """Orthogonal W, then each layer's W divided by sqrt(Var(z_l)) until Var(z_l) = 1 on a data batch.

    Layer-sequential unit variance: Mishkin & Matas 2016, "All you need is a good init",
    Algorithm 1 (tolerance 1e-3, at most 10 rounds per layer; with zero bias one round is already
    exact), layer by layer from the input, the output layer included. Data-dependent:
    ``init_params`` gets the batch (the trainer passes its probe batch, the first training
    samples). This function is the per-layer orthogonal step; ``lsuv_rescale`` the rescaling.
    Bias: set to 0.
    """
    orthogonal(weight, bias, generator)
