"""ONNX export of skae's estimators, through skl2onnx.

``import skae.onnx`` registers a converter for every skae estimator with
`skl2onnx <https://onnx.ai/sklearn-onnx/>`_, so that :func:`skl2onnx.to_onnx`
converts a skae estimator alone or a whole scikit-learn pipeline in which skae
estimators sit beside scikit-learn's own steps. :func:`to_onnx` is the same call
that also writes the provenance (:func:`provenance`) into the model's metadata.

Needs the ``onnx`` extra: ``pip install skae[onnx]`` (skl2onnx, onnx and
onnxruntime). ``import skae`` itself never needs them.

The graphs are built from the fitted torch modules' weights, layer by layer, in
the dtype the model computes in: float32, or float64 for an MLP fitted in float64
(its ``dtype`` parameter). An input of the other dtype is cast to the model's on
entry and the result back to the input's, as skae's own methods do. What each
estimator exports:

- :class:`~skae.Autoencoder`, :class:`~skae.DenoisingAE`, :class:`~skae.ConvAE`:
  ``transform`` (the code), or ``inverse_transform`` (the decoder) with the
  converter option ``method="inverse_transform"``. Noise and dropout are training
  only and not in the graph.
- :class:`~skae.VariationalAE`: ``transform`` is the posterior mean;
  ``inverse_transform`` as above.
- :class:`~skae.MLPClassifier`: ``predict`` and ``predict_proba`` as skl2onnx's
  classifiers do, a ``label`` and a ``probabilities`` output, with the options
  ``zipmap``, ``nocl`` and ``output_class_labels``.
- :class:`~skae.MLPRegressor`: ``predict``, one output of shape
  ``(n_samples, n_outputs)`` (also for one target, as skl2onnx's regressors).

Examples
--------
>>> import numpy as np
>>> import onnxruntime as ort
>>> import skl2onnx
>>> from sklearn.datasets import load_digits
>>> import skae.onnx
>>> from skae import Autoencoder
>>> X, _ = load_digits(return_X_y=True)
>>> X = (X / 16).astype(np.float32)
>>> ae = Autoencoder(8, hidden_layer_sizes=(), max_iter=2, random_state=0).fit(X)
>>> onx = skl2onnx.to_onnx(ae, X[:1])
>>> session = ort.InferenceSession(onx.SerializeToString())
>>> session.run(None, {"X": X[:3]})[0].shape
(3, 8)
"""

import json
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils.validation import check_is_fitted
from torch import nn

import skae
from skae._version import versions
from skae.nn.conv import ConvAutoencoderModule, CroppedConvTranspose
from skae.nn.modules import (
    AutoencoderModule,
    GaussianNoiseModule,
    MaskingNoiseModule,
    MLPModule,
)
from skae.nn.vae import VAEModule

try:
    import onnx
    import skl2onnx
    from onnx import TensorProto, numpy_helper
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
except ImportError as exc:  # pragma: no cover - the extra is part of dev installs
    raise ImportError(
        "skae.onnx needs skl2onnx and onnx: pip install 'skae[onnx]' "
        f"(the import failed with: {exc})."
    ) from exc

__all__ = ["provenance", "register", "to_onnx"]

# Slice, Pad and MaxPool's ceil_mode take the forms the graphs use from opset 11 on.
MIN_OPSET = 11

_METHODS = ("transform", "inverse_transform")
_AUTOENCODER_OPTIONS = {"method": list(_METHODS)}
_CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [True, False],
    "output_class_labels": [False, True],
}
# Inference is the module in eval mode: these layers are the identity there.
_INFERENCE_IDENTITY = (nn.Identity, nn.Dropout, GaussianNoiseModule, MaskingNoiseModule)
_ACTIVATION_OPS = {nn.ReLU: "Relu", nn.Sigmoid: "Sigmoid", nn.Tanh: "Tanh"}
_ONNX_FLOATS = {torch.float32: TensorProto.FLOAT, torch.float64: TensorProto.DOUBLE}


# ------------------------------------------------------------------ provenance


def _versions():
    return versions("skae", "torch", "scikit-learn", "numpy", "skl2onnx", "onnx")


def _jsonable(value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def _params(estimator):
    return {k: _jsonable(v) for k, v in estimator.get_params(deep=False).items()}


def _is_skae(estimator):
    return (
        isinstance(estimator, BaseEstimator)
        and type(estimator).__module__.split(".")[0] == "skae"
    )


def _skae_estimators(model):
    """``(path, estimator)`` of every skae estimator in ``model``, outermost only."""
    if _is_skae(model):
        return [("", model)]
    found = []
    for path, value in model.get_params(deep=True).items():
        if not _is_skae(value):
            continue
        # Skip those inside a skae estimator (an MLPClassifier's encoder): its
        # parameters already say so.
        if not any(path.startswith(f"{outer}__") for outer, _ in found):
            found.append((path, value))
    return found


def provenance(model):
    """Return the metadata :func:`to_onnx` writes: versions and skae parameters.

    Parameters
    ----------
    model : estimator
        A skae estimator, or a scikit-learn composite (``Pipeline``,
        ``ColumnTransformer``, ...) with skae estimators in it.

    Returns
    -------
    metadata : dict of str to str
        ``"skae.versions"``: a JSON object with the versions of skae, torch,
        scikit-learn, NumPy, skl2onnx and onnx; ``"skae.estimators"``: a JSON
        list with, for every skae estimator in ``model``, its ``path`` (its
        parameter name in ``model.get_params()``, ``""`` for ``model`` itself),
        its ``class`` and its ``params`` (``get_params(deep=False)``, values that
        JSON cannot hold given as their ``repr``).

    Examples
    --------
    >>> import json
    >>> from skae import DenoisingAE
    >>> from skae.onnx import provenance
    >>> meta = provenance(DenoisingAE(8, hidden_layer_sizes=()))
    >>> sorted(meta)
    ['skae.estimators', 'skae.versions']
    >>> json.loads(meta["skae.estimators"])[0]["params"]["n_components"]
    8
    """
    estimators = [
        {"path": path, "class": f"skae.{type(est).__name__}", "params": _params(est)}
        for path, est in _skae_estimators(model)
    ]
    return {
        "skae.versions": json.dumps(_versions(), sort_keys=True),
        "skae.estimators": json.dumps(estimators, sort_keys=True),
    }


def to_onnx(model, X=None, **kwargs):
    """Convert ``model`` with :func:`skl2onnx.to_onnx` and record its provenance.

    The conversion itself is skl2onnx's (the converters that importing this
    module registers); the result's ``metadata_props`` then get the entries of
    :func:`provenance`, and its ``doc_string`` a one-line summary of the
    versions. ONNX Runtime shows them as
    ``session.get_modelmeta().custom_metadata_map``.

    Parameters
    ----------
    model : estimator
        A fitted skae estimator, or a scikit-learn estimator or composite that
        skl2onnx converts with skae estimators in it.
    X : array-like of shape (n_samples, n_features), default=None
        A few rows of input, from which skl2onnx reads the input's type and
        width (its first dimension, the batch, stays dynamic); or pass
        ``initial_types``.
    **kwargs
        Passed on to :func:`skl2onnx.to_onnx`: ``initial_types``,
        ``target_opset`` (at least 11 for skae's graphs), ``options``, ...

    Returns
    -------
    onx : onnx.ModelProto
        The model.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import MLPClassifier
    >>> from skae.onnx import to_onnx
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16).astype(np.float32)
    >>> clf = MLPClassifier((16,), max_iter=2, random_state=0).fit(X, y)
    >>> onx = to_onnx(clf, X[:1], options={"zipmap": False})
    >>> [output.name for output in onx.graph.output]
    ['label', 'probabilities']
    >>> sorted(p.key for p in onx.metadata_props)
    ['skae.estimators', 'skae.versions']
    """
    result = skl2onnx.to_onnx(model, X, **kwargs)
    onx = result[0] if isinstance(result, tuple) else result
    onnx.helper.set_model_props(
        onx, {**{p.key: p.value for p in onx.metadata_props}, **provenance(model)}
    )
    versions = _versions()
    onx.doc_string = (
        f"{type(model).__name__} exported by skae {versions['skae']} (torch "
        f"{versions['torch']}, scikit-learn {versions['scikit-learn']}) through "
        f"skl2onnx {versions['skl2onnx']}; metadata_props skae.versions and "
        "skae.estimators have the details."
    )
    return result


# --------------------------------------------------------------- graph builder


class _Graph:
    """Adds nodes and initializers, all named ``prefix``-something, to a container.

    ``module`` is the torch module exported: the graph computes in its dtype.
    """

    def __init__(self, scope, container, prefix, doc_string="", *, module):
        self.scope = scope
        self.container = container
        self.prefix = prefix
        self.dtype = next(module.parameters()).dtype
        self.onnx_type = _ONNX_FLOATS[self.dtype]
        # Goes onto the block's first node: provenance that survives whichever
        # to_onnx made the model.
        self.doc_string = doc_string

    def constant(self, value, name):
        value = np.asarray(value)
        full_name = self.scope.get_unique_variable_name(f"{self.prefix}_{name}")
        if value.dtype.kind in "USO":
            self.container.add_initializer(
                full_name,
                TensorProto.STRING,
                list(value.shape),
                [str(v).encode("utf-8") for v in value.ravel()],
            )
        else:
            tensor = numpy_helper.from_array(value, full_name)
            self.container.add_initializer(full_name, None, None, tensor)
        return full_name

    def weight(self, tensor, name):
        return self.constant(tensor.detach().cpu().to(self.dtype).numpy(), name)

    def floats(self, values, name):
        """Return a constant of ``values`` in the dtype the graph computes in."""
        return self.weight(torch.as_tensor(values), name)

    def node(self, op_type, inputs, output=None, domain="", **attrs):
        output = output or self.scope.get_unique_variable_name(
            f"{self.prefix}_{op_type.lower()}"
        )
        self.container.add_node(
            op_type,
            list(inputs),
            [output],
            op_domain=domain,
            name=self.scope.get_unique_operator_name(f"{self.prefix}_{op_type}"),
            **attrs,
        )
        if self.doc_string:
            self.container.nodes[-1].doc_string = self.doc_string
            self.doc_string = ""
        return output


def _float_input(graph, variable):
    """Return the input in the dtype the graph computes in, and the input's type."""
    given = (
        TensorProto.FLOAT
        if isinstance(variable.type, FloatTensorType)
        else TensorProto.DOUBLE
    )
    if given == graph.onnx_type:
        return variable.full_name, given
    return graph.node("Cast", [variable.full_name], to=graph.onnx_type), given


def _output(graph, result, variable, given):
    """Write ``result`` to ``variable`` in the input's type ``given``."""
    if given != graph.onnx_type:
        graph.node("Cast", [result], variable.full_name, to=given)
    else:
        graph.node("Identity", [result], variable.full_name)


def _unsupported(layer):
    return TypeError(
        f"skae.onnx cannot export a {type(layer).__name__} layer ({layer!r}): only "
        "the layers of skae's own modules (Linear, Conv1d/2d, MaxPool1d/2d, "
        "CroppedConvTranspose, ReLU, Sigmoid, Tanh, Softplus) are converted."
    )


def _linear(graph, x, layer):
    """``torch.nn.Linear``: ``x @ W.T + b``, one Gemm."""
    weight, bias = (
        graph.weight(layer.weight, "weight"),
        graph.weight(layer.bias, "bias"),
    )
    return graph.node("Gemm", [x, weight, bias], transB=1)


def _conv(graph, x, layer):
    if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
        raise _unsupported(layer)
    inputs = [x, graph.weight(layer.weight, "conv_weight")]
    if layer.bias is not None:
        inputs.append(graph.weight(layer.bias, "conv_bias"))
    return graph.node(
        "Conv",
        inputs,
        kernel_shape=list(layer.kernel_size),
        strides=list(layer.stride),
        pads=list(layer.padding) * 2,
        dilations=list(layer.dilation),
        group=layer.groups,
    )


def _max_pool(graph, x, layer, n_dims):
    def per_dim(value):
        return [value] * n_dims if isinstance(value, int) else list(value)

    if per_dim(layer.dilation) != [1] * n_dims or layer.return_indices:
        raise _unsupported(layer)
    return graph.node(
        "MaxPool",
        [x],
        kernel_shape=per_dim(layer.kernel_size),
        strides=per_dim(layer.stride),
        pads=per_dim(layer.padding) * 2,
        ceil_mode=int(layer.ceil_mode),
    )


def _layer(graph, x, layer):
    """One inference-mode layer of a skae module."""
    if isinstance(layer, nn.Sequential):
        for sublayer in layer:
            x = _layer(graph, x, sublayer)
        return x
    if isinstance(layer, _INFERENCE_IDENTITY):
        return x
    if type(layer) in _ACTIVATION_OPS:
        return graph.node(_ACTIVATION_OPS[type(layer)], [x])
    if isinstance(layer, nn.Softplus):
        # ONNX's Softplus is log(1 + exp(x)); torch's threshold (x above 20 gives
        # x) differs from it by less than float32's resolution there.
        if layer.beta != 1:
            raise _unsupported(layer)
        return graph.node("Softplus", [x])
    if isinstance(layer, nn.Linear):
        return _linear(graph, x, layer)
    if isinstance(layer, (nn.Conv1d, nn.Conv2d)):
        return _conv(graph, x, layer)
    if isinstance(layer, nn.MaxPool1d):
        return _max_pool(graph, x, layer, 1)
    if isinstance(layer, nn.MaxPool2d):
        return _max_pool(graph, x, layer, 2)
    raise _unsupported(layer)


def _cropped_conv_transpose(graph, x, layer, spatial):
    """:class:`~skae.nn.conv.CroppedConvTranspose` on ``spatial``-sized input.

    The unpadded transposed convolution, the crop at the start, a zero extension
    at the end where the crop leaves the output short, then the bias.
    """
    conv = layer.conv
    kernel, stride = list(conv.kernel_size), list(conv.stride)
    x = graph.node(
        "ConvTranspose",
        [x, graph.weight(conv.weight, "deconv_weight")],
        kernel_shape=kernel,
        strides=stride,
    )
    full = [(n - 1) * s + k for n, s, k in zip(spatial, stride, kernel, strict=True)]
    starts, ends = (
        list(layer.padding),
        [p + n for p, n in zip(layer.padding, layer.output_size, strict=True)],
    )
    axes = list(range(2, 2 + len(spatial)))
    x = graph.node(
        "Slice",
        [
            x,
            graph.constant(np.array(starts, dtype=np.int64), "starts"),
            graph.constant(np.array(ends, dtype=np.int64), "ends"),
            graph.constant(np.array(axes, dtype=np.int64), "axes"),
        ],
    )
    have = [min(f, e) - s for f, s, e in zip(full, starts, ends, strict=True)]
    extension = [n - h for n, h in zip(layer.output_size, have, strict=True)]
    if any(extension):
        pads = [0] * (2 + len(spatial)) + [0, 0, *extension]
        x = graph.node("Pad", [x, graph.constant(np.array(pads, np.int64), "pads")])
    bias = conv.bias.detach().reshape(-1, *[1] * len(spatial))
    return graph.node("Add", [x, graph.weight(bias, "deconv_bias")])


def _reshape(graph, x, shape):
    return graph.node(
        "Reshape", [x, graph.constant(np.array([-1, *shape], np.int64), "shape")]
    )


# -------------------------------------------------- the modules' encode/decode


def _dense_encode(graph, x, module):
    return _layer(graph, x, module.encoder)


def _dense_decode(graph, z, module):
    return _layer(graph, z, module.decoder)


def _vae_encode(graph, x, module):
    # transform is the posterior mean; the log-variance head is not needed.
    return _linear(graph, _layer(graph, x, module.body), module.mean)


def _conv_encode(graph, x, module):
    x = _layer(graph, _reshape(graph, x, module.input_shape), module.encoder)
    return graph.node("Flatten", [x], axis=1)


def _conv_decode(graph, z, module):
    x = _reshape(graph, z, module.code_shape)
    spatial = module.code_shape[1:]
    for layer in module.decoder:
        if isinstance(layer, CroppedConvTranspose):
            x = _cropped_conv_transpose(graph, x, layer, spatial)
            spatial = layer.output_size
        else:
            x = _layer(graph, x, layer)
    return graph.node("Flatten", [x], axis=1)


# module class -> (transform, inverse_transform)
_AUTOENCODER_GRAPHS = {
    AutoencoderModule: (_dense_encode, _dense_decode),
    VAEModule: (_vae_encode, _dense_decode),
    ConvAutoencoderModule: (_conv_encode, _conv_decode),
}


def _mlp_output(graph, x, module):
    """Add an :class:`~skae.nn.MLPModule`; return its raw outputs (logits)."""
    if not isinstance(module, MLPModule):
        raise _unsupported(module)
    return _linear(graph, _layer(graph, x, module.hidden), module.output)


# ----------------------------------------------------------------- converters


def _module(estimator):
    check_is_fitted(estimator)
    return estimator.net_.module_


def _method(operator):
    options = operator.scope_inst.get_options(
        operator.raw_operator, {"method": "transform"}
    )
    return options["method"]


def _check_opset(container):
    opset = container.target_opset
    if opset is not None and opset < MIN_OPSET:
        raise ValueError(
            f"skae's ONNX graphs need target_opset {MIN_OPSET} or higher, got {opset}."
        )


def _check_input(operator, n_features, what):
    variable = operator.inputs[0]
    name = type(operator.raw_operator).__name__
    if len(operator.inputs) != 1:
        raise ValueError(f"{name} takes one input, got {len(operator.inputs)}.")
    if not isinstance(variable.type, (FloatTensorType, DoubleTensorType)):
        raise TypeError(
            f"{name} converts float or double input only (skae casts its input to "
            f"float32 or float64), got {variable.type}; cast the input first, "
            "e.g. initial_types=[('X', FloatTensorType([None, n_features]))]."
        )
    width = variable.get_second_dimension()
    if isinstance(width, numbers.Integral) and width != n_features:
        raise ValueError(
            f"{name}.{what} expects {n_features} features, the ONNX input has {width}."
        )


def _doc(estimator, method):
    versions = _versions()
    return (
        f"skae.{type(estimator).__name__}.{method}, exported by skae "
        f"{versions['skae']} (torch {versions['torch']}, scikit-learn "
        f"{versions['scikit-learn']}); parameters "
        f"{json.dumps(_params(estimator), sort_keys=True)}"
    )


def _autoencoder_shape(operator):
    estimator = operator.raw_operator
    if getattr(estimator, "_table_", None) is not None:
        raise NotImplementedError(
            f"{type(estimator).__name__} was fitted on a table (categorical "
            "columns or missing cells): its column encoding runs in Python, not in "
            "the ONNX graph, so it cannot be exported. Export a model fitted on a "
            "numeric array without missing values (for example after a "
            "ColumnTransformer), or serve it with skae.save and skae.load."
        )
    module = _module(estimator)
    n_in, n_out = estimator.n_features_in_, module.n_components
    method = _method(operator)
    if method == "inverse_transform":
        n_in, n_out = n_out, n_in
    _check_input(operator, n_in, method)
    variable = operator.inputs[0]
    operator.outputs[0].type = type(variable.type)(
        [variable.get_first_dimension(), n_out]
    )


def _convert_autoencoder(scope, operator, container):
    estimator = operator.raw_operator
    module = _module(estimator)
    _check_opset(container)
    method = _method(operator)
    for module_class, graphs in _AUTOENCODER_GRAPHS.items():
        if isinstance(module, module_class):
            build = graphs[_METHODS.index(method)]
            break
    else:
        raise _unsupported(module)
    graph = _Graph(
        scope,
        container,
        type(estimator).__name__,
        _doc(estimator, method),
        module=module,
    )
    x, given = _float_input(graph, operator.inputs[0])
    _output(graph, build(graph, x, module), operator.outputs[0], given)


def _class_labels(scope, estimator):
    """``classes_`` as ONNX holds them: int64 for numbers and bools, or strings.

    Float labels are whole numbers (scikit-learn refuses others as continuous
    targets), so int64 holds them exactly, as skl2onnx's classifiers do.
    """
    classes = np.asarray(get_label_classes(scope, estimator))
    if classes.dtype.kind in "biuf":
        return classes.astype(np.int64)
    if all(isinstance(c, str) for c in classes):
        return classes.astype(str)
    if all(isinstance(c, numbers.Integral) for c in classes):
        return classes.astype(np.int64)
    raise ValueError(
        f"{type(estimator).__name__} has class labels of types "
        f"{sorted({type(c).__name__ for c in classes})}; ONNX classifiers give "
        "int64 or string labels."
    )


def _output_activation(estimator):
    """``(out_activation_, multilabel)`` of a fitted skae MLP.

    "softmax" (multiclass), "logistic" (binary: one output; multilabel: one per
    label), "identity" or "exp" (regression, loss="poisson"). An MLPClassifier
    without ``out_activation_`` has a softmax output over all its classes.
    """
    default = "softmax" if is_classifier(estimator) else "identity"
    activation = getattr(estimator, "out_activation_", default)
    return activation, bool(getattr(estimator, "_multilabel_", False))


def _classifier_shape(operator):
    estimator = operator.raw_operator
    module = _module(estimator)
    name = type(estimator).__name__
    _check_input(operator, estimator.n_features_in_, "predict")
    classes = _class_labels(operator.scope_inst, estimator)
    activation, multilabel = _output_activation(estimator)
    if len(estimator.classes_) < 2:
        raise ValueError(
            f"{name} was fitted on a single class: it predicts that class for "
            "every sample, an ONNX classifier of one class is not converted."
        )
    zipmap = operator.scope_inst.get_options(estimator, {"zipmap": True})["zipmap"]
    if zipmap is not False and multilabel:
        raise ValueError(
            f"A multilabel {name} needs options={{'zipmap': False}}: its label is a "
            "0/1 matrix, which ZipMap cannot pair with the classes."
        )
    if zipmap is not False and isinstance(operator.inputs[0].type, DoubleTensorType):
        # Checked here: skl2onnx would write the model, which ONNX Runtime then
        # refuses to load (scikit-learn's own classifiers do the same).
        raise ValueError(
            f"{name} with float64 input needs options={{'zipmap': False}}: ONNX's "
            "ZipMap takes float32 probabilities only. Or convert with float32 input."
        )
    if activation not in ("softmax", "logistic"):
        raise _unsupported(module)
    N = operator.inputs[0].get_first_dimension()
    n_outputs = module.output.out_features
    if multilabel:
        operator.outputs[0].type = Int64TensorType([N, n_outputs])
    elif classes.dtype.kind == "U":
        operator.outputs[0].type = StringTensorType([N])
    else:
        operator.outputs[0].type = Int64TensorType([N])
    n_columns = n_outputs if multilabel else len(classes)
    operator.outputs[1].type = type(operator.inputs[0].type)([N, n_columns])


def _convert_classifier(scope, operator, container):
    estimator = operator.raw_operator
    module = _module(estimator)
    _check_opset(container)
    graph = _Graph(
        scope,
        container,
        type(estimator).__name__,
        _doc(estimator, "predict"),
        module=module,
    )
    x, given = _float_input(graph, operator.inputs[0])
    logits = _mlp_output(graph, x, module)
    activation, multilabel = _output_activation(estimator)
    label = operator.outputs[0].full_name
    # The label comes from the logits, as skae's predict takes it: their argmax,
    # or (logistic outputs) whether they are positive.
    if activation == "softmax":
        index = graph.node("ArgMax", [logits], axis=1, keepdims=0)
        proba = graph.node("Softmax", [logits], axis=1)
    else:
        zero = graph.floats([0.0], "zero")
        positive = graph.node(
            "Cast", [graph.node("Greater", [logits, zero])], to=TensorProto.INT64
        )
        proba = graph.node("Sigmoid", [logits])
        if multilabel:
            graph.node("Identity", [positive], label)
        else:
            index = _reshape(graph, positive, [])
            one = graph.floats([1.0], "one")
            negative = graph.node("Sub", [one, proba])
            proba = graph.node("Concat", [negative, proba], axis=1)
    if not multilabel:
        classes = graph.constant(_class_labels(scope, estimator), "classes")
        graph.node("Gather", [classes, index], label, axis=0)
    _output(graph, proba, operator.outputs[1], given)


def _regressor_shape(operator):
    estimator = operator.raw_operator
    module = _module(estimator)
    _check_input(operator, estimator.n_features_in_, "predict")
    if _output_activation(estimator)[0] not in ("identity", "exp"):
        raise _unsupported(module)
    variable = operator.inputs[0]
    # (n_samples, n_outputs), also for one output: skl2onnx's regressors' shape.
    operator.outputs[0].type = type(variable.type)(
        [variable.get_first_dimension(), module.output.out_features]
    )


def _convert_regressor(scope, operator, container):
    estimator = operator.raw_operator
    module = _module(estimator)
    _check_opset(container)
    graph = _Graph(
        scope,
        container,
        type(estimator).__name__,
        _doc(estimator, "predict"),
        module=module,
    )
    x, given = _float_input(graph, operator.inputs[0])
    y = _mlp_output(graph, x, module)
    if _output_activation(estimator)[0] == "exp":
        y = graph.node("Exp", [y])
    _output(graph, y, operator.outputs[0], given)


# --------------------------------------------------------------- registration


def _registrations():
    """``(estimator class, alias, shape calculator, converter, options)``."""
    autoencoders = [skae.Autoencoder, skae.DenoisingAE, skae.ConvAE, skae.VariationalAE]
    rows = [
        (cls, _autoencoder_shape, _convert_autoencoder, _AUTOENCODER_OPTIONS)
        for cls in autoencoders
    ]
    rows.append(
        (
            skae.MLPClassifier,
            _classifier_shape,
            _convert_classifier,
            _CLASSIFIER_OPTIONS,
        )
    )
    if hasattr(skae, "MLPRegressor"):
        rows.append((skae.MLPRegressor, _regressor_shape, _convert_regressor, None))
    return [
        (cls, f"Skae{cls.__name__}", shape, convert, options)
        for cls, shape, convert, options in rows
    ]


def register():
    """Register skae's converters with skl2onnx; importing this module does it.

    Safe to call again (it registers the same converters anew), for example after
    another library registered converters of its own for the same classes.

    Returns
    -------
    classes : list of type
        The estimator classes registered.

    Examples
    --------
    >>> from skae import DenoisingAE
    >>> from skae.onnx import register
    >>> DenoisingAE in register()
    True
    """
    classes = []
    for cls, alias, shape, convert, options in _registrations():
        update_registered_converter(cls, alias, shape, convert, options=options)
        classes.append(cls)
    return classes


register()
