"""Beyond the paper: the extensions grid's figures (E1-E4) and pre-specified claims (X1-X12).

extensions/grid.yaml holds the cells, extensions/dvc.yaml the pipeline. These modules read only the
aggregated tables (bnonly.paper.aggregate), so like the paper's report modules they import neither torch
nor timm.
"""
