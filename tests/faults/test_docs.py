"""docs/faults.md names, for every row, the test that proves it: each such test exists, and every test of the
suite that injects a fault is named there."""
import ast
import re

from dvc_repo import PROJECT
from faults.test_kills import PHASES, SIGNALS

DOC = PROJECT / 'docs' / 'faults.md'
SUITE = PROJECT / 'tests' / 'faults'


def named_in_doc() -> set[tuple[str, str]]:
    return set(re.findall(r'`(tests/faults/\w+\.py)::(\w+)', DOC.read_text()))


def defined_tests() -> set[tuple[str, str]]:
    tests = set()
    for module in SUITE.glob('test_*.py'):
        if module.name == 'test_docs.py':
            continue
        for node in ast.parse(module.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith('test_'):
                tests.add((str(module.relative_to(PROJECT)), node.name))
    return tests


def test_every_test_the_doc_names_exists_and_every_fault_test_is_named():
    assert named_in_doc() == defined_tests()


def test_the_kill_table_counts_every_phase_and_signal():
    assert f'{len(PHASES) * len(SIGNALS)} cases' in DOC.read_text()
    assert len(PHASES) == 8 and len(SIGNALS) == 3
