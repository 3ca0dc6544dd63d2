"""Mini-batches cut from whole tensors."""

import math

import torch


class TensorBatchIterator:
    """Iterate over a :class:`torch.utils.data.TensorDataset` in mini-batches.

    Each batch is one slice (or, when shuffling, one ``index_select``) of every tensor
    of the dataset, instead of a :class:`torch.utils.data.DataLoader` collating
    samples one by one. A dataset of a single tensor ``X`` yields ``(Xb, Xb)``: the
    input is its own target, as an autoencoder needs.

    Parameters
    ----------
    dataset : torch.utils.data.TensorDataset
        The tensors to cut, all with the same first dimension.
    batch_size : int
        Rows per batch; the last batch may be smaller.
    shuffle : bool, default=False
        Draw a new permutation (from torch's current generator) at every pass.
    """

    def __init__(self, dataset, batch_size, shuffle=False):
        self.tensors = dataset.tensors
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        return math.ceil(len(self.tensors[0]) / self.batch_size)

    def __iter__(self):
        n_samples = len(self.tensors[0])
        order = torch.randperm(n_samples) if self.shuffle else None
        for start in range(0, n_samples, self.batch_size):
            stop = min(start + self.batch_size, n_samples)
            if order is None:
                batch = tuple(t[start:stop] for t in self.tensors)
            else:
                idx = order[start:stop]
                batch = tuple(t.index_select(0, idx) for t in self.tensors)
            yield batch if len(batch) > 1 else (batch[0], batch[0])
