"""skae: autoencoders as scikit-learn transformers, and an MLP classifier.

Built on PyTorch through skorch; every estimator follows the scikit-learn API.
"""

from skae._autoencoder import Autoencoder, DenoisingAE
from skae._mlp import MLPClassifier

__version__ = "0.1.0"

__all__ = ["Autoencoder", "DenoisingAE", "MLPClassifier", "__version__"]
