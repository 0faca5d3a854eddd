"""The paper's figures and claims from a grid of runs.

- ``grid``: which cells the ``grid`` section of grid.yaml declares, their names and folders, the recipe
  files every cell reads, and what an architecture name says (family, depth, width).
- ``aggregate``: every cell's metrics into tidy tables and a summary over seeds (mean, std, n).
- ``names``: a data set's name for people, a |γ| threshold's metric key.
- ``figure_data``, ``plotting`` and ``figures``: Figures 1 to 8 from the aggregated tables (what each plots,
  then matplotlib, Agg); ``plotting.FigureSet`` is what a grid's set of figures declares.
- ``paper_claims``: the paper's headline claims declared as data, each with a stated test; ``claims_table``
  declares the table they form. ``claims`` evaluates any declared table (the extensions' too) on its per-seed
  cells (``results``) beside our measurements; the tests, verdicts and files are bnonly.reporting's.
- ``cost``: how long a grid takes on our CPU (the measured speeds), ``python -m bnonly.paper.cost``.
- ``synthetic``: stand-in cell results in the stages' file formats (tests; never a measurement).

No module here imports torch or timm: the report stages stay cheap to start.
"""
