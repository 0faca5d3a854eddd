"""Every claims table, by the name the claims stage takes (``python stages/claims.py --table NAME``).

A table is declared in its own package (a bnonly.reporting.claims_table.ClaimsTable: its claims, the cells
they read, its columns and header) and named here; the stage, the evaluator (bnonly.paper.claims) and the
writer (bnonly.reporting.claims_table) are the same for every table.
"""
from bnonly.extensions.claims import TABLE as EXTENSIONS
from bnonly.paper.claims_table import TABLE as PAPER
from bnonly.study.claims import TABLE as STUDY

TABLES = {table.name: table for table in (PAPER, EXTENSIONS, STUDY)}
