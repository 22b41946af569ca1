"""Element-wise activations and (log-)softmax."""

from __future__ import annotations

from graph_builder.layer_spec import LayerSpec, ParamSpec, register
from graph_builder.errors import ShapeError
from graph_builder.shape_math import format_shape, normalize_dim, prod


def _same(p, ins):
    return ins[0]


def _elementwise(p, ins, out):
    return prod(out[1:])


def _act(type_id: str, help: str, params: tuple = (), shape=_same, **extra) -> LayerSpec:
    return LayerSpec(type_id, type_id, "Activation", help, shape=shape, params=params, macs=_elementwise,
                     torch_name=f"nn.{type_id}", **extra)


def _prelu_rule(p, ins):
    (x,) = ins
    n = p["num_parameters"]
    if n != 1 and (len(x) < 2 or x[1] != n):
        raise ShapeError(
            f"num_parameters={n} must be 1 or the channel count (dimension 1) of {format_shape(x)}"
        )
    return x


def _softmax_rule(p, ins):
    normalize_dim(p["dim"], len(ins[0]))
    return ins[0]


def _glu_rule(p, ins):
    (x,) = ins
    dim = normalize_dim(p["dim"], len(x))
    if dim == 0:
        raise ShapeError("cannot halve the batch dimension; use dim ≥ 1")
    if x[dim] % 2:
        raise ShapeError(f"halves dimension {p['dim']} of {format_shape(x)}, which needs an even size; "
                         "give the layer before it an even number of features")
    return (*x[:dim], x[dim] // 2, *x[dim + 1:])


_DIM = ParamSpec("dim", "int", -1, "Dimension that sums to one (-1: the last).", min=-8, max=8, key=True)

register(
    _act("ReLU", "max(0, x): the default activation."),
    _act("LeakyReLU", "x for x > 0, negative_slope·x otherwise; keeps a gradient for negative inputs.",
         (ParamSpec("negative_slope", "float", 0.01, "Slope for negative inputs.", min=0.0, max=1.0,
                    torch_default=0.01, key=True),)),
    _act("PReLU", "LeakyReLU with a learned slope (one, or one per channel).",
         (ParamSpec("num_parameters", "int", 1, "1, or the number of channels for one slope each.", min=1,
                    max=4096, torch_default=1),
          ParamSpec("init", "float", 0.25, "Initial slope.", min=0.0, max=1.0, torch_default=0.25)),
         shape=_prelu_rule, count_params=lambda p: p["num_parameters"]),
    _act("ELU", "Exponential linear unit: smooth for negative inputs.",
         (ParamSpec("alpha", "float", 1.0, "Value approached for large negative inputs.", min=0.0, max=10.0,
                    torch_default=1.0),)),
    _act("SELU", "Self-normalizing ELU; pair with LeCun-normal init and AlphaDropout."),
    _act("GELU", "Gaussian error linear unit, as in BERT and GPT.",
         (ParamSpec("approximate", "choice", "none", "'tanh' uses the faster approximation.",
                    choices=("none", "tanh"), torch_default="none"),)),
    _act("SiLU", "x·sigmoid(x) (also called swish)."),
    _act("Mish", "x·tanh(softplus(x))."),
    _act("Sigmoid", "1/(1+e^-x): squashes to (0, 1); for binary outputs use BCE-with-logits on raw outputs instead."),
    _act("Tanh", "Hyperbolic tangent: squashes to (-1, 1)."),
    _act("Softmax", "Turns scores into probabilities along dim. Leave it out before a cross-entropy loss.",
         (_DIM,), shape=_softmax_rule),
    _act("LogSoftmax", "log(softmax(x)) along dim; pair with the NLL loss.", (_DIM,), shape=_softmax_rule),
    _act("Hardswish", "A cheap piecewise approximation of swish (MobileNetV3)."),
    _act("Softplus", "log(1 + e^(beta·x)) / beta: a smooth ReLU; linear above threshold.",
         (ParamSpec("beta", "float", 1.0, "Sharpness.", min=0.01, max=100.0, torch_default=1.0),
          ParamSpec("threshold", "float", 20.0, "Above beta·x > threshold it is x.", min=0.0, max=100.0,
                    torch_default=20.0))),
    _act("Softsign", "x / (1 + |x|): squashes to (-1, 1), more gently than tanh."),
    _act("Softmin", "softmax(-x) along dim: the smallest value gets the largest share.", (_DIM,),
         shape=_softmax_rule),
    _act("GLU", "Gated linear unit: halves dim into a and b and returns a·sigmoid(b).",
         (ParamSpec("dim", "int", -1, "Dimension split in half (-1: the last).", min=-8, max=8, torch_default=-1,
                    key=True),), shape=_glu_rule),
)
