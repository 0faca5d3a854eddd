"""Every claims table, by the name the claims stage takes (``python stages/claims.py --table NAME``).

A table is declared in its own package (a bnonly.reporting.claims_table.ClaimsTable named ``TABLE``: its
claims, the cells they read, its columns and header) and named here by its module, which is imported only
when the table is used: the claims stage of one grid neither runs nor depends on another grid's code. The
stage, the evaluator (bnonly.paper.claims) and the writer (bnonly.reporting.claims_table) are the same for
every table.
"""
from bnonly.registry import Registry

TABLES = Registry('TABLE', {'paper': 'bnonly.paper.claims_table', 'extensions': 'bnonly.extensions.claims',
                            'study': 'bnonly.study.claims', 'scope': 'bnonly.scope.claims'})
