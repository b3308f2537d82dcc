"""initbench: a reproducible benchmark of neural-network weight initialisation.

The package is plain Python; the Snakemake workflow under ``workflow/`` only calls into it.
"""

__version__ = "0.1.0"

from initbench.registry import register_init  # noqa: E402  (the plugin API: @initbench.register_init)

__all__ = ["register_init"]
