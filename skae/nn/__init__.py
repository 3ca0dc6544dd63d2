"""Pure PyTorch building blocks of skae: modules, losses, noise and batching.

Nothing here imports scikit-learn or skorch; the estimators in :mod:`skae` build
these modules and train them.
"""

from skae.nn.data import TensorBatchIterator
from skae.nn.losses import MLPLoss, ReconstructionLoss, reconstruction_error
from skae.nn.modules import (
    ACTIVATIONS,
    AutoencoderModule,
    GaussianNoiseModule,
    MaskingNoiseModule,
    MLPModule,
    SwapNoiseModule,
    make_activation,
)
from skae.nn.tabular import TableNoiseModule, TableReconstructionLoss

__all__ = [
    "ACTIVATIONS",
    "AutoencoderModule",
    "GaussianNoiseModule",
    "MaskingNoiseModule",
    "MLPLoss",
    "MLPModule",
    "ReconstructionLoss",
    "SwapNoiseModule",
    "TableNoiseModule",
    "TableReconstructionLoss",
    "TensorBatchIterator",
    "make_activation",
    "reconstruction_error",
]
