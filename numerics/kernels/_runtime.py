"""Helpers the generated kernels in ``numerics/kernels/`` call (hand-written, kept tiny)."""
from __future__ import annotations

import numpy


def broadcast(value, *args):
    """``value`` as a float array of the arguments' broadcast shape (a NumPy scalar for 0-d)."""
    shape = numpy.broadcast_shapes(*(numpy.shape(a) for a in args))
    return numpy.array(numpy.broadcast_to(value, shape), dtype=float)[()]


def stack(rows, *args):
    """A matrix-valued result: shape broadcast(args) + (len(rows), len(rows[0]))."""
    shape = numpy.broadcast_shapes(*(numpy.shape(a) for a in args))
    out = numpy.empty(shape + (len(rows), len(rows[0])))
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            out[..., i, j] = value
    return out
