"""What every claims table shares, whichever grid it reads: the tests, the verdicts and the files.

- ``intervals``: the t interval of a mean (the claims' intervals and the figures' error bars).
- ``statistics``: the tests (paired and one-sample t, the block model, TOST, Holm, seed counts).
- ``verdicts``: Holm or serial gatekeeping over a table's tests, and each row's verdict.
- ``claims_table``: what a table declares (``ClaimsTable``) and its Markdown and CSV.

A table's claims are declared as data in its own package (bnonly.paper.paper_claims, bnonly.extensions.claims),
evaluated by one evaluator (bnonly.paper.claims) and named in bnonly.claims_tables, which the claims stage
reads. Nothing here imports torch or timm.
"""
