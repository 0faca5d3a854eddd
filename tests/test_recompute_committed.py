"""Every committed claims table, recomputed from its pipeline's committed per-seed cells with scipy alone.

Each table's check restates its design in a test module of its own (claims_recompute.CHECKS names which) and
imports neither bnonly nor torch, which the fresh-interpreter run proves. A table whose per-seed cells are not
committed yet (a pipeline not trained) is skipped, naming the command that writes them.
"""
import pytest

from claims_recompute import CHECKS, PIPELINES, check_committed, check_in_fresh_interpreter, committed


def test_every_registered_table_has_a_check():
    from bnonly.claims_tables import TABLES
    assert set(PIPELINES) == set(TABLES) == set(CHECKS)
    for name, table in TABLES.items():
        assert table.aggregate == PIPELINES[name][1], name


@pytest.mark.parametrize('table', sorted(PIPELINES))
def test_the_committed_table_recomputes_from_the_committed_cells(table):
    committed(table)
    assert check_committed(table) == []


@pytest.mark.parametrize('table', sorted(PIPELINES))
def test_the_check_needs_neither_bnonly_nor_torch(table):
    committed(table)
    done = check_in_fresh_interpreter(table)
    assert done.returncode == 0, done.stderr[-2000:]
