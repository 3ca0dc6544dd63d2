"""Torch-only tests of skae.nn: shapes, gradients, noise, losses, batching."""

import math

import pytest
import torch
from torch.utils.data import TensorDataset

from skae.nn import (
    ACTIVATIONS,
    AutoencoderModule,
    GaussianNoiseModule,
    MaskingNoiseModule,
    MLPModule,
    ReconstructionLoss,
    TensorBatchIterator,
    make_activation,
    reconstruction_error,
)
from skae.nn.modules import numpy_inference, numpy_ready


@pytest.mark.parametrize("hidden", [(3,), (16, 8, 2)], ids=["shallow", "deep"])
def test_autoencoder_module_shapes_and_mirror(hidden):
    module = AutoencoderModule(10, hidden, activation="tanh")
    x = torch.randn(5, 10)
    reconstruction, code = module(x)
    assert code.shape == (5, hidden[-1])
    assert reconstruction.shape == (5, 10)
    enc = [m.weight.shape for m in module.encoder if isinstance(m, torch.nn.Linear)]
    dec = [m.weight.shape for m in module.decoder if isinstance(m, torch.nn.Linear)]
    assert dec == [s[::-1] for s in enc[::-1]]
    torch.testing.assert_close(module.decode(module.encode(x)), reconstruction)


def test_autoencoder_module_activations_per_layer():
    module = AutoencoderModule(
        6,
        (4, 2),
        activation="tanh",
        code_activation="identity",
        out_activation="logistic",
    )
    acts = [
        type(m).__name__ for m in module.encoder if not isinstance(m, torch.nn.Linear)
    ]
    assert acts == ["Tanh", "Identity"]
    acts = [
        type(m).__name__ for m in module.decoder if not isinstance(m, torch.nn.Linear)
    ]
    assert acts == ["Tanh", "Sigmoid"]


def test_xavier_initialisation():
    module = MLPModule(300, (200,), 10)
    weight = module.hidden[0].weight
    bound = math.sqrt(6 / (300 + 200))
    assert weight.abs().max() <= bound
    assert weight.abs().max() > 0.9 * bound
    assert torch.all(module.hidden[0].bias == 0)


def test_mlp_module_gradients_reach_every_parameter():
    module = MLPModule(4, (8, 8), 3, dropout=0.5)
    loss = module(torch.randn(16, 4)).logsumexp(1).mean()
    loss.backward()
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters()
    )


def test_mlp_module_without_hidden_layers_is_linear():
    module = MLPModule(4, (), 3)
    assert [type(m) for m in module.modules()].count(torch.nn.Linear) == 1
    assert module(torch.randn(2, 4)).shape == (2, 3)


def test_mlp_module_dropout_only_in_training():
    module = MLPModule(4, (64,), 2, dropout=0.5)
    x = torch.randn(8, 4)
    module.eval()
    torch.testing.assert_close(module(x), module(x))
    module.train()
    assert not torch.equal(module(x), module(x))


@pytest.mark.parametrize(
    "noise",
    [GaussianNoiseModule(0.5), MaskingNoiseModule(0.5)],
    ids=["gaussian", "mask"],
)
def test_noise_fresh_in_training_and_off_in_eval(noise):
    x = torch.ones(64, 32)
    noise.train()
    a, b = noise(x), noise(x)
    assert not torch.equal(a, b)  # fresh noise at every call
    assert not torch.equal(a[0], a[1])  # and for every sample
    noise.eval()
    assert torch.equal(noise(x), x)


def test_gaussian_noise_statistics():
    noise = GaussianNoiseModule(0.3).train()
    delta = noise(torch.zeros(200, 500))
    assert abs(delta.mean().item()) < 0.01
    assert abs(delta.std().item() - 0.3) < 0.01


def test_masking_noise_zeroes_a_fraction_without_rescaling():
    noise = MaskingNoiseModule(0.25).train()
    out = noise(torch.full((200, 500), 2.0))
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert abs((out == 0).float().mean().item() - 0.25) < 0.01


def test_reconstruction_error_and_loss():
    target = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    recon = torch.tensor([[0.0, 0.0], [1.0, 3.0]])
    torch.testing.assert_close(
        reconstruction_error(recon, target), torch.tensor([0.5, 2.0])
    )
    code = torch.tensor([[1.0, -3.0], [0.0, 0.0]])
    loss = ReconstructionLoss("mse", l1_code=0.5)((recon, code), target)
    torch.testing.assert_close(loss, torch.tensor(1.25 + 0.5 * 1.0))
    bce = reconstruction_error(
        torch.full((1, 2), 0.5), torch.tensor([[0.0, 1.0]]), "bce"
    )
    torch.testing.assert_close(bce, torch.tensor([math.log(2)]))
    with pytest.raises(ValueError, match="Unknown reconstruction loss"):
        reconstruction_error(recon, target, "l7")


def test_make_activation_rejects_unknown_names():
    assert isinstance(make_activation("softplus"), torch.nn.Softplus)
    with pytest.raises(ValueError, match="Unknown activation 'swish'"):
        make_activation("swish")


def test_batch_iterator_slices_in_order():
    X, y = torch.arange(10.0).reshape(5, 2), torch.arange(5)
    batches = list(TensorBatchIterator(TensorDataset(X, y), batch_size=2))
    assert (
        len(TensorBatchIterator(TensorDataset(X, y), batch_size=2)) == len(batches) == 3
    )
    assert [b[1].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0][0].data_ptr() == X.data_ptr()  # a view, not a copy


def test_batch_iterator_shuffles_every_pass_and_covers_all():
    X = torch.arange(100.0).reshape(100, 1)
    iterator = TensorBatchIterator(TensorDataset(X), batch_size=7, shuffle=True)
    first = torch.cat([xb for xb, _ in iterator]).flatten()
    second = torch.cat([xb for xb, _ in iterator]).flatten()
    assert sorted(first.tolist()) == X.flatten().tolist()
    assert not torch.equal(first, second)


def test_batch_iterator_single_tensor_is_its_own_target():
    X = torch.randn(4, 3)
    xb, yb = next(iter(TensorBatchIterator(TensorDataset(X), batch_size=4)))
    assert xb is yb


def test_load_layer_copies_a_shallow_autoencoder_into_the_stack():
    deep = AutoencoderModule(10, (6, 3), activation="tanh")
    shallow = AutoencoderModule(6, (3,), code_activation="tanh", out_activation="tanh")
    deep.load_layer(1, shallow)
    assert torch.equal(deep.encoder[2].weight, shallow.encoder[0].weight)
    assert torch.equal(deep.decoder[0].weight, shallow.decoder[0].weight)
    assert torch.equal(deep.decoder[0].bias, shallow.decoder[0].bias)
    with pytest.raises(ValueError, match="Layer shapes differ"):
        deep.load_layer(0, shallow)


def test_load_encoder_starts_mlp_hidden_layers():
    encoder = AutoencoderModule(10, (6, 3), activation="relu").encoder
    mlp = MLPModule(10, (6, 3), 4, dropout=0.5)
    mlp.load_encoder(encoder)
    assert torch.equal(mlp.hidden[0].weight, encoder[0].weight)
    assert torch.equal(mlp.hidden[3].bias, encoder[2].bias)
    with pytest.raises(ValueError, match="Activations differ"):
        MLPModule(10, (6, 3), 4, activation="tanh").load_encoder(encoder)
    with pytest.raises(ValueError, match="Layer shapes differ"):
        MLPModule(10, (6, 4), 4).load_encoder(encoder)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_dense_stack_in_numpy_matches_torch(activation, dtype):
    torch.manual_seed(0)
    module = MLPModule(6, (16, 8), 3, activation=activation, dropout=0.3).to(dtype)
    module.eval()
    x = 3 * torch.randn(5, 6, dtype=dtype)
    with torch.no_grad():
        expected = module(x)
        with numpy_inference():
            got = module(x)
    assert got.dtype == dtype
    rtol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(got, expected, rtol=rtol, atol=rtol)
    assert not torch.equal(x, torch.zeros_like(x))  # the input is left as it was


def test_dense_stack_computes_in_numpy_only_in_the_block_and_in_eval_mode():
    stack = AutoencoderModule(4, (3,)).encoder
    x = torch.randn(2, 4)
    calls = []
    real = stack._numpy_forward

    def spy(x):
        calls.append(len(x))
        return real(x)

    stack._numpy_forward = spy
    with torch.no_grad():
        stack.eval()
        stack(x)
        assert calls == []
        with numpy_inference():
            stack(x)
            assert calls == [2]
            stack.train()
            stack(x)
            assert calls == [2]
        stack.eval()
        stack(x)
    assert calls == [2]


def test_numpy_ready_only_for_dense_layers():
    from skae.nn.conv import ConvAutoencoderModule
    from skae.nn.vae import VAEModule

    assert numpy_ready(AutoencoderModule(10, (8, 2), noise="mask"))
    assert numpy_ready(MLPModule(10, (8,), 3, dropout=0.5))
    assert numpy_ready(VAEModule(10, (8, 2)))
    assert not numpy_ready(ConvAutoencoderModule((1, 8, 8), channels=(4,)))
    with_norm = MLPModule(10, (8,), 3)
    with_norm.hidden.append(torch.nn.LayerNorm(8))
    assert not numpy_ready(with_norm)
