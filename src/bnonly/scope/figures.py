"""The scope set's figure: the paper's Figure 2 (test accuracy of each trainable set, per network), drawn from the
scope grid's cells with the paper's own code, so the rows of scope/reports/claims.md can be seen per seed."""
import dataclasses

from bnonly.paper.figures import FIGURE_SET as PAPER

FIGURE_SET = dataclasses.replace(PAPER, name='scope', figures=('2',), needs_bn_values=frozenset(),
                                 needs_history=frozenset())
