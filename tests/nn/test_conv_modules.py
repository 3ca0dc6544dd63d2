"""Torch-only tests of the convolutional autoencoder module of skae.nn.conv."""

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from skae.nn.conv import ConvAutoencoderModule, CroppedConvTranspose

MNIST = {
    "input_shape": (1, 28, 28),
    "channels": (16, 8),
    "kernel_sizes": 3,
    "strides": (3, 2),
    "pool_sizes": 2,
    "out_activation": "tanh",
}

# Every size scikit-learn's estimator checks may feed, then ordinary ones.
SHAPES = [
    (1, 1),
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 10),
    (1, 1, 1),
    (1, 2, 2),
    (1, 1, 3),
    (2, 9),
    (3, 5, 7),
    (2, 16),
    (1, 8, 8),
]

# Stage settings exercising odd and even kernels, strides, pools and no pooling.
SETTINGS = {
    "default": {},
    "strided": {"strides": (2, 3), "pool_sizes": (1, 2)},
    "even_kernels": {"kernel_sizes": (2, 4), "pool_sizes": 3},
    "three_stages": {"channels": (4, 4, 2), "kernel_sizes": (5, 1, 3), "strides": 2},
}


def _n_features(shape):
    return math.prod(shape)


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_shapes(shape, setting):
    torch.manual_seed(0)
    module = ConvAutoencoderModule(shape, **setting)
    x = torch.randn(4, _n_features(shape))
    reconstruction, code = module(x)
    assert module.input_shape == shape
    assert module.n_components == math.prod(module.code_shape)
    assert min(module.code_shape) >= 1
    assert code.shape == (4, module.n_components)
    assert reconstruction.shape == x.shape
    assert module.encode(x).shape == code.shape
    assert module.decode(code).shape == x.shape


@pytest.mark.parametrize("setting", SETTINGS.values(), ids=SETTINGS.keys())
@pytest.mark.parametrize("shape", [(1, 1), (1, 2, 2), (2, 9), (3, 5, 7)], ids=str)
def test_decoder_mirrors_encoder_sizes(shape, setting):
    module = ConvAutoencoderModule(shape, **setting)
    entering, leaving = [], []
    hooks = [
        stage[0].register_forward_hook(lambda m, i, o: entering.append(i[0].shape))
        for stage in module.encoder
    ] + [
        layer.register_forward_hook(lambda m, i, o: leaving.append(o.shape))
        for layer in module.decoder
        if isinstance(layer, CroppedConvTranspose)
    ]
    module(torch.randn(2, _n_features(shape)))
    for hook in hooks:
        hook.remove()
    assert leaving == entering[::-1]


def test_conv1d_and_conv2d_layers():
    signal = ConvAutoencoderModule((2, 9))
    image = ConvAutoencoderModule((3, 5, 7))
    assert isinstance(signal.encoder[0][0], nn.Conv1d)
    assert isinstance(signal.encoder[0][2], nn.MaxPool1d)
    assert isinstance(signal.decoder[0].conv, nn.ConvTranspose1d)
    assert isinstance(image.encoder[0][0], nn.Conv2d)
    assert isinstance(image.encoder[0][2], nn.MaxPool2d)
    assert isinstance(image.decoder[0].conv, nn.ConvTranspose2d)


def test_stage_layout_and_activations():
    module = ConvAutoencoderModule(
        (1, 12),
        channels=(4, 3),
        kernel_sizes=(5, 3),
        strides=(2, 1),
        pool_sizes=(1, 2),
        activation="tanh",
        out_activation="logistic",
    )
    convs = [stage[0] for stage in module.encoder]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 4), (4, 3)]
    assert [c.kernel_size for c in convs] == [(5,), (3,)]
    assert [c.stride for c in convs] == [(2,), (1,)]
    assert [c.padding for c in convs] == [(2,), (1,)]
    assert [len(stage) for stage in module.encoder] == [2, 3]  # pool 1: no pooling
    transposed = [m for m in module.decoder if isinstance(m, CroppedConvTranspose)]
    assert [(t.conv.in_channels, t.conv.out_channels) for t in transposed] == [
        (3, 4),
        (4, 1),
    ]
    assert [t.conv.kernel_size for t in transposed] == [(3,), (5,)]
    assert [t.conv.stride for t in transposed] == [(2,), (2,)]  # stride * pool
    assert [t.padding for t in transposed] == [(1,), (2,)]
    acts = [type(m).__name__ for m in module.decoder[1::2]]
    assert acts == ["Tanh", "Sigmoid"]


def test_mnist_setting():
    module = ConvAutoencoderModule(**MNIST)
    assert module.code_shape == (8, 2, 2)
    assert module.n_components == 32
    # Encoder 160 + 1160; decoder kernels widened to their strides (4 and 6).
    assert sum(p.numel() for p in module.parameters()) == 3961
    reconstruction, code = module(torch.randn(3, 784))
    assert code.shape == (3, 32)
    assert reconstruction.shape == (3, 784)
    assert reconstruction.abs().max() < 1  # tanh output


@pytest.mark.parametrize(
    "setting", [*SETTINGS.values(), MNIST], ids=[*SETTINGS.keys(), "mnist"]
)
@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 8, 8), (2, 9), (1, 10)], ids=str)
def test_every_output_position_is_reached_by_the_code(shape, setting):
    # A transposed convolution whose kernel is narrower than its stride leaves
    # output positions that only the bias reaches: with positive weights, no
    # biases and identity activations, every position must get a contribution.
    setting = {**setting, "input_shape": shape, "out_activation": "identity"}
    module = ConvAutoencoderModule(**{**setting, "activation": "identity"})
    with torch.no_grad():
        for layer in module.decoder:
            if isinstance(layer, CroppedConvTranspose):
                layer.conv.weight.fill_(1.0)
                layer.conv.bias.zero_()
        out = module.decode(torch.ones(1, module.n_components))
    assert (out > 0).all()


def test_decode_encode_equals_forward_in_eval():
    torch.manual_seed(0)
    module = ConvAutoencoderModule((3, 5, 7), noise="gaussian", noise_level=0.5).eval()
    x = torch.randn(6, 105)
    reconstruction, code = module(x)
    torch.testing.assert_close(module.encode(x), code)
    torch.testing.assert_close(module.decode(module.encode(x)), reconstruction)


@pytest.mark.parametrize("noise", ["gaussian", "mask"])
def test_noise_only_in_training(noise):
    torch.manual_seed(0)
    module = ConvAutoencoderModule((2, 9), noise=noise, noise_level=0.5)
    x = torch.randn(8, 18)
    clean = module.eval()(x)[1]
    assert not torch.allclose(module.train()(x)[1], clean)
    torch.testing.assert_close(module.eval()(x)[1], clean)


@pytest.mark.parametrize("shape", [(1, 1), (2, 9), (1, 2, 2), (3, 5, 7)], ids=str)
def test_gradients_reach_every_parameter(shape):
    torch.manual_seed(0)
    # tanh has no dead units, so every gradient is nonzero, not merely defined.
    module = ConvAutoencoderModule(shape, kernel_sizes=(3, 2), activation="tanh")
    reconstruction, code = module(torch.randn(5, _n_features(shape)))
    (reconstruction.square().mean() + code.square().mean()).backward()
    for name, param in module.named_parameters():
        assert param.grad is not None, name
        assert torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name


def test_xavier_initialisation():
    module = ConvAutoencoderModule((3, 8, 8), channels=(16, 8))
    conv = module.encoder[0][0]
    bound = math.sqrt(6 / (3 * 9 + 16 * 9))
    assert conv.weight.abs().max() <= bound
    assert conv.weight.abs().max() > 0.9 * bound
    transposed = module.decoder[0].conv
    bound = math.sqrt(6 / (8 * 9 + 16 * 9))
    assert transposed.weight.abs().max() <= bound
    assert transposed.weight.abs().max() > 0.9 * bound
    for name, param in module.named_parameters():
        if name.endswith("bias"):
            assert torch.all(param == 0), name


@pytest.mark.parametrize("shape", [(1, 16), (1, 8, 8)], ids=str)
def test_training_reduces_loss(shape):
    torch.manual_seed(0)
    module = ConvAutoencoderModule(shape, channels=(8, 4))
    x = torch.randn(16, _n_features(shape))
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = F.mse_loss(module(x)[0], x)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.parametrize("shape", [(2, 9), (3, 5, 7)], ids=str)
def test_rows_do_not_depend_on_batch(shape):
    torch.manual_seed(0)
    module = ConvAutoencoderModule(shape).eval()
    x = torch.randn(7, _n_features(shape))
    reconstruction, code = module(x)
    for i in range(len(x)):
        row_reconstruction, row_code = module(x[i : i + 1])
        torch.testing.assert_close(row_reconstruction, reconstruction[i : i + 1])
        torch.testing.assert_close(row_code, code[i : i + 1])


@pytest.mark.parametrize("dims", [1, 2])
@pytest.mark.parametrize(("kernel", "stride"), [(3, 2), (2, 3), (4, 4), (1, 2)])
def test_cropped_conv_transpose_matches_output_padding(dims, kernel, stride):
    torch.manual_seed(0)
    padding = kernel // 2
    conv_transpose = [F.conv_transpose1d, F.conv_transpose2d][dims - 1]
    x = torch.randn(2, 3, *[4] * dims)
    natural = 3 * stride - 2 * padding + kernel
    for output_padding in range(stride):
        size = natural + output_padding
        layer = CroppedConvTranspose(3, 2, kernel, stride, padding, (size,) * dims)
        nn.init.normal_(layer.conv.bias)
        expected = conv_transpose(
            x,
            layer.conv.weight,
            layer.conv.bias,
            stride,
            padding,
            output_padding,
        )
        torch.testing.assert_close(layer(x), expected)


def test_cropped_conv_transpose_crops_and_extends():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4)
    natural = CroppedConvTranspose(3, 2, 3, 2, 1, (7,))
    nn.init.normal_(natural.conv.bias)
    expected = natural(x)
    cropped = CroppedConvTranspose(3, 2, 3, 2, 1, (5,))
    extended = CroppedConvTranspose(3, 2, 3, 2, 1, (11,))  # 4 past it, > stride
    for layer in (cropped, extended):
        layer.load_state_dict(natural.state_dict())
    torch.testing.assert_close(cropped(x), expected[..., :5])
    torch.testing.assert_close(extended(x)[..., :7], expected)
    # Position 7 is the one the padding crops off; past it only the bias is left.
    bias = natural.conv.bias.view(1, 2, 1).expand(2, 2, 3)
    torch.testing.assert_close(extended(x)[..., 8:], bias)


def test_cropped_conv_transpose_even_kernel_on_length_one():
    # Padded by 1, this kernel's output on one position would be empty.
    layer = CroppedConvTranspose(3, 2, 2, 3, 1, (1, 1))
    assert layer(torch.randn(4, 3, 1, 1)).shape == (4, 2, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_shape": (5,)}, "input_shape"),
        ({"input_shape": (1, 2, 3, 4)}, "input_shape"),
        ({"input_shape": (1, 0)}, "input_shape"),
        ({"input_shape": (1, 4), "channels": ()}, "channels"),
        ({"input_shape": (1, 4), "kernel_sizes": (3, 3, 3)}, "kernel_sizes"),
        ({"input_shape": (1, 4), "strides": 0}, "strides"),
        ({"input_shape": (1, 4), "pool_sizes": (2,)}, "pool_sizes"),
        ({"input_shape": (1, 4), "activation": "swish"}, "swish"),
    ],
)
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConvAutoencoderModule(**kwargs)


def test_single_stage_from_int_channels():
    module = ConvAutoencoderModule((1, 6), channels=5)
    assert module.code_shape == (5, 3)
    assert module(torch.randn(2, 6))[0].shape == (2, 6)
