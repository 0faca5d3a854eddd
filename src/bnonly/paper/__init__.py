"""The paper's figures and claims from a grid of runs (issue 7).

- ``grid``: which cells the ``grid`` section of params.yaml declares, their names and folders, the recipe
  files every cell reads, and what an architecture name says (family, depth, width).
- ``aggregate``: every cell's metrics into tidy tables and a summary over seeds (mean, std, n).
- ``plotting`` and ``figures``: Figures 1 to 7 from the aggregated tables (matplotlib, Agg).
- ``claims``: the paper's headline claims beside our measurements, with a verdict computed from the numbers.
- ``cost``: how long a grid takes on our CPU (the measured speeds), ``python -m bnonly.paper.cost``.
- ``profile``: swap the grid section for one of the paper's grids, ``python -m bnonly.paper.profile``.
- ``synthetic``: stand-in cell results in the stages' file formats (tests; never a measurement).

No module here uses torch (``import bnonly`` still loads it, for the timm registration).
"""
