"""Every set of figures, by the name the figures stage takes (``python stages/figures.py --table NAME``).

A set is declared in its own package (a bnonly.paper.plotting.FigureSet: its figures, the tables each reads
and how it is drawn) and named here, under the name of the claims table of the same grid
(bnonly.claims_tables).
"""
from bnonly.extensions.figures import FIGURE_SET as EXTENSIONS
from bnonly.paper.figures import FIGURE_SET as PAPER
from bnonly.study.figures import FIGURE_SET as STUDY

FIGURE_SETS = {figure_set.name: figure_set for figure_set in (PAPER, EXTENSIONS, STUDY)}
