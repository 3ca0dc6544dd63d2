"""What every benchmark reports about the machine it ran on."""

import os
import platform

import torch
from threadpoolctl import threadpool_info

from skae._version import versions


def machine():
    """Versions, cores, torch threads and BLAS threads of this run."""
    return {
        "python": platform.python_version(),
        **versions("torch", "skorch", "scikit-learn", "numpy", "skae"),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "blas_threads": sorted(
            {(i["internal_api"], i["num_threads"]) for i in threadpool_info()}
        ),
        "processor": platform.processor() or platform.machine(),
    }


def loadavg():
    """The 1-minute load average, as text; "n/a" where /proc is absent."""
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[0]
    except OSError:
        return "n/a"
