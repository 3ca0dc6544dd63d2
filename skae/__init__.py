"""skae: neural feature learning and neural networks as scikit-learn estimators.

Autoencoders as transformers (:class:`Autoencoder`, :class:`DenoisingAE`,
:class:`ConvAE`, :class:`VariationalAE`), which also take mixed-type tables with
missing cells; an imputer (:class:`AutoencoderImputer`) and an outlier detector
(:class:`AutoencoderOutlierDetector`) built on them; and multilayer perceptrons
(:class:`MLPClassifier`, :class:`MLPRegressor`). Built on PyTorch through skorch;
every estimator follows the scikit-learn API.
"""

from skae._autoencoder import Autoencoder, DenoisingAE
from skae._conv import ConvAE
from skae._impute import AutoencoderImputer
from skae._mlp import MLPClassifier, MLPRegressor
from skae._outlier import AutoencoderOutlierDetector
from skae._persistence import load, save
from skae._training import FitInterruptedWarning
from skae._vae import VariationalAE
from skae._version import __version__

__all__ = [
    "Autoencoder",
    "AutoencoderImputer",
    "AutoencoderOutlierDetector",
    "ConvAE",
    "DenoisingAE",
    "FitInterruptedWarning",
    "MLPClassifier",
    "MLPRegressor",
    "VariationalAE",
    "__version__",
    "load",
    "save",
]
