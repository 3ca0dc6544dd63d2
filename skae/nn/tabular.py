"""Mixed-type tables: corruption by column, and a loss with a head per column.

The network's input holds, for each column of a table, a block (one standardised
number, or a category's one-hot levels) and a missing-indicator; its output holds
a number or the levels' logits. The target has one value per column: the
standardised number or the level's index, NaN where the cell is missing.
"""

import torch
from torch import nn
from torch.nn import functional as F

from skae.nn.losses import ReconstructionLoss


class TableNoiseModule(nn.Module):
    """Corrupt whole cells of a table's encoded rows, in training mode only.

    Each cell (a column's block and its indicator) of each row is corrupted with
    probability ``p``, afresh for every batch:

    - ``"swap"``: the cell takes the value of the same column in another row of the
      batch, drawn at random (swap noise: the corrupted row stays on the data's
      marginals);
    - ``"mask"``: the cell becomes missing (its block zeros, its indicator one);
    - ``"gaussian"``: numbers get Gaussian noise of standard deviation ``p``;
      categories are left alone.

    Parameters
    ----------
    kind : {"swap", "mask", "gaussian"}
        The corruption.
    p : float
        Probability of corrupting a cell, or the Gaussian noise's deviation.
    input_columns : list of int
        The column of each input (indicators included).
    indicators : list of int
        Each column's missing-indicator input.
    numeric_inputs : list of int
        The inputs that hold numbers.
    """

    def __init__(self, kind, p, input_columns, indicators, numeric_inputs):
        super().__init__()
        self.kind = kind
        self.p = p
        self.n_columns = len(indicators)
        self.register_buffer("input_columns", torch.tensor(input_columns))
        self.register_buffer("indicators", torch.tensor(indicators))
        self.register_buffer("numeric_inputs", torch.tensor(numeric_inputs))

    def forward(self, x):
        """``(batch, n_inputs) -> (batch, n_inputs)``."""
        if not self.training or self.p == 0:
            return x
        if self.kind == "gaussian":
            noise = torch.zeros_like(x)
            cols = self.numeric_inputs
            noise[:, cols] = self.p * torch.randn(len(x), len(cols), dtype=x.dtype)
            return x + noise
        hit = torch.rand(len(x), self.n_columns, device=x.device) < self.p
        hit_inputs = hit[:, self.input_columns]
        if self.kind == "mask":
            hidden = torch.zeros_like(x)
            hidden[:, self.indicators] = 1.0
            return torch.where(hit_inputs, hidden, x)
        rows = torch.randint(len(x), (len(x), self.n_columns), device=x.device)
        source = torch.gather(x, 0, rows[:, self.input_columns])
        return torch.where(hit_inputs, source, x)


class TableReconstructionLoss(ReconstructionLoss):
    """A table's reconstruction error: a loss per column, missing cells left out.

    A number's error is Huber's loss or the squared error (as
    :func:`skae.nn.reconstruction_error`), a category's the softmax cross-entropy
    of its levels' logits. A row's error is the mean over its observed cells, so
    every column counts alike whatever its number of levels. The code penalty and
    the consistency term are those of :class:`skae.nn.ReconstructionLoss`.

    Parameters
    ----------
    numeric : list of [int, int]
        For each numeric column: its output and its target column.
    categorical : list of [int, int, int]
        For each categorical column: its outputs' start and stop, and its target
        column.
    kind : {"huber", "mse"}, default="huber"
        The numbers' error.
    delta : float, default=1.0
        Where Huber's loss turns from quadratic to linear.
    l1_code : float, default=0.0
        Weight of the sparsity penalty on the code.
    consistency : float, default=0.0
        Weight of the consistency term, when the module returns a second code.
    """

    def __init__(
        self,
        numeric,
        categorical,
        kind="huber",
        delta=1.0,
        l1_code=0.0,
        consistency=0.0,
    ):
        super().__init__(
            kind=kind, l1_code=l1_code, delta=delta, consistency=consistency
        )
        self.categorical = [tuple(c) for c in categorical]
        numeric = torch.tensor(numeric, dtype=torch.long).reshape(-1, 2)
        self.register_buffer("numeric_outputs", numeric[:, 0].contiguous())
        self.register_buffer("numeric_targets", numeric[:, 1].contiguous())

    def per_column(self, reconstruction, target):
        """Each cell's error, zero where it is missing, and the observed mask.

        ``(batch, n_outputs), (batch, n_columns) -> (batch, n_columns), (batch,
        n_columns)``.
        """
        observed = ~torch.isnan(target)
        errors = torch.zeros_like(target, dtype=reconstruction.dtype)
        if len(self.numeric_outputs):
            t = target[:, self.numeric_targets].to(reconstruction.dtype)
            seen = observed[:, self.numeric_targets]
            t = torch.where(seen, t, torch.zeros_like(t))
            out = reconstruction[:, self.numeric_outputs]
            if self.kind == "mse":
                err = (out - t).square()
            else:
                err = F.huber_loss(out, t, reduction="none", delta=self.delta)
            errors[:, self.numeric_targets] = torch.where(
                seen, err, torch.zeros_like(err)
            )
        for start, stop, j in self.categorical:
            seen = observed[:, j]
            codes = torch.where(seen, target[:, j], torch.zeros_like(target[:, j]))
            err = F.cross_entropy(
                reconstruction[:, start:stop], codes.long(), reduction="none"
            )
            errors[:, j] = torch.where(seen, err, torch.zeros_like(err))
        return errors, observed

    def reconstruction_error(self, reconstruction, target):
        """Each row's mean error over its observed cells: ``-> (batch,)``."""
        errors, observed = self.per_column(reconstruction, target)
        return errors.sum(dim=1) / observed.sum(dim=1).clamp(min=1)
