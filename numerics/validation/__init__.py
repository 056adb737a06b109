"""Validation of the generated kernels against independent numerics and against test particles.

=========================== ===================================================================================
module                      what it holds
=========================== ===================================================================================
``base``                    :class:`Comparison`, :class:`Spec`, the statistics, the figure saver, ``SCALES``
``analytic``                the analytic comparisons (kernels against ODEs, quadrature, healpy; no particles)
``diffusion_sim`` ...       one module per backtracking comparison, each declaring its ``SPEC``
``markov``                  measurements of the transition matrix M(dT) on stored ensembles (used by
                            ``markov_closure``)
``registry``                the one registry: :data:`COMPARISONS` (name -> Spec), collected from the modules
``pipeline``                the stored ensembles (002, 003) and the runner that feeds them to the comparisons
=========================== ===================================================================================

``aniso run`` runs them all and writes the report (:mod:`numerics.report`).
"""
from numerics.validation.base import SCALES, Comparison, Spec

__all__ = ["SCALES", "Comparison", "Spec"]
