"""Every set of figures, by the name the figures stage takes (``python stages/figures.py --table NAME``).

A set is declared in its own package (a bnonly.paper.plotting.FigureSet named ``FIGURE_SET``: its figures,
the tables each reads and how it is drawn) and named here by its module, which is imported only when the set
is used, under the name of the claims table of the same grid (bnonly.claims_tables).
"""
from bnonly.registry import Registry

FIGURE_SETS = Registry('FIGURE_SET', {'paper': 'bnonly.paper.figures', 'extensions': 'bnonly.extensions.figures',
                                      'study': 'bnonly.study.figures', 'scope': 'bnonly.scope.figures'})
