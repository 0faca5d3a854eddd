"""Beyond the paper: the extensions grid's figures (E1-E4) and pre-specified claims (X1-X12).

extensions/grid.yaml holds the cells, extensions/dvc.yaml the pipeline. The claims are declared as the
paper's are and evaluated and written by the same code (bnonly.paper.claims, bnonly.reporting); the figures
and claims stages are the paper's, with ``--table extensions``. These modules read only the aggregated tables
(bnonly.paper.aggregate), so like the paper's report modules they import neither torch nor timm.
"""
