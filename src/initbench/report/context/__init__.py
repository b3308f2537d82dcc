"""Each section's numbers, computed from one run's tables and config: one module per family of sections.

A section's ``build`` (named in ``initbench.report.sections``) takes a ``sections.Run`` and returns
plain values, every number already formatted as a string: the templates only place them.
``overview`` (setup, references), ``labs`` (the lecture and its labs), ``depth`` (Glorot & Bengio's
histograms, signal propagation, the depth study), ``table1``; ``text`` holds the shared formatting.
"""
