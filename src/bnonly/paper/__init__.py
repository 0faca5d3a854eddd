"""The paper's figures and claims from a grid of runs.

- ``grid``: which cells the ``grid`` section of grid.yaml declares, their names and folders, the recipe
  files every cell reads, and what an architecture name says (family, depth, width).
- ``aggregate``: every cell's metrics into tidy tables and a summary over seeds (mean, std, n).
- ``plotting`` and ``figures``: Figures 1 to 7 from the aggregated tables (matplotlib, Agg).
- ``claims``: the paper's headline claims beside our measurements, each decided by a stated test
  (``statistics`` the tests, ``verdicts`` Holm and the verdicts, ``claims_table`` the Markdown and CSV).
- ``cost``: how long a grid takes on our CPU (the measured speeds), ``python -m bnonly.paper.cost``.
- ``synthetic``: stand-in cell results in the stages' file formats (tests; never a measurement).

No module here imports torch or timm: the report stages stay cheap to start.
"""
