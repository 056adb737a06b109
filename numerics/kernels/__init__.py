"""Generated numeric kernels, one module per theory module (written by ``aniso build``)."""
MODULES = ('geometry', 'diffusion', 'compton_getting', 'observation', 'relative_diffusion', 'hierarchy', 'qlt', 'wigner',)
