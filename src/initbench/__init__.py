"""initbench: a reproducible benchmark of neural-network weight initialisation.

The package is plain Python; the Snakemake workflow under ``workflow/`` only calls into it.
"""

__version__ = "0.1.0"
