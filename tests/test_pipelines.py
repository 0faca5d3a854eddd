"""Every dvc.yaml is bnonly.pipelines' output, byte for byte: the stages are declared once, for every pipeline, and a
committed file that was edited by hand (or a declaration changed without regenerating) fails here.

Run `python -m bnonly.pipelines` to regenerate, `python -m bnonly.pipelines --check` to see which differ.
"""
import os

import pytest
import yaml

from bnonly.pipelines import PIPELINES, Pipeline, main, render
from bnonly.stage_deps import PROJECT

ROOT = next(p for p in PIPELINES if p.folder == '.')


def _from_project(p: Pipeline, path: str) -> str:
    return os.path.normpath(os.path.join(p.folder, path))


def _stages(p: Pipeline, text: str) -> dict[str, dict]:
    return {name: stage.get('do', stage) for name, stage in yaml.safe_load(text)['stages'].items()}


def test_every_dvc_yaml_is_the_generated_text():
    """Each declared pipeline's file is what bnonly.pipelines writes, byte for byte (as it writes it: UTF-8), and
    the project has no other dvc.yaml, at its root or in a folder of it."""
    declared = {p.path: p for p in PIPELINES}
    found = {str(path.relative_to(PROJECT)) for path in [PROJECT / 'dvc.yaml', *PROJECT.glob('*/dvc.yaml')]
             if path.is_file()}
    assert found == set(declared), f'dvc.yaml files {sorted(found)}, declared in bnonly.pipelines {sorted(declared)}'
    differing = [path for path, p in declared.items() if (PROJECT / path).read_bytes() != render(p).encode()]
    assert differing == [], f'{differing} differ from their declaration: run `python -m bnonly.pipelines`'


def test_check_names_each_file_that_differs_and_a_rewrite_restores_it(tmp_path, capsys):
    for p in PIPELINES:
        (tmp_path / p.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p.path).write_text(render(p))
    assert main(['--check'], root=tmp_path) == 0
    edited = PIPELINES[-1].path
    (tmp_path / edited).write_text((tmp_path / edited).read_text().replace('cache: false', 'cache: true', 1))
    capsys.readouterr()
    assert main(['--check'], root=tmp_path) == 1
    assert [line.split()[0] for line in capsys.readouterr().err.splitlines()] == [edited]
    assert main([], root=tmp_path) == 0
    assert (tmp_path / edited).read_text() == render(PIPELINES[-1])
    assert main(['--check'], root=tmp_path) == 0


def test_a_pipeline_in_another_folder_is_one_declaration():
    """Declared in a folder of its own, a pipeline's grid stages run the root's scripts with the same code deps
    (its table is the paper's: a table's own modules are its stages' only other code), named from that folder,
    and write nowhere else."""
    study = Pipeline(folder='study', grid='grid.yaml', table='paper', figures=('S1', 'S2'), title='the study',
                     about='A study.')
    root, other = _stages(ROOT, render(ROOT)), _stages(study, render(study))
    assert set(other) == {'grid_recipe', 'grid_prepare', 'grid_train', 'grid_analyze', 'grid_aggregate', 'figure',
                          'claims'}
    for name, stage in other.items():
        code = {_from_project(study, dep) for dep in stage['deps'] if dep.startswith('../')}
        assert code == {dep for dep in root[name]['deps'] if dep.startswith(('stages/', 'src/'))}, name
        for section in ('outs', 'metrics', 'plots'):
            for out in stage.get(section, []):
                path = next(iter(out)) if isinstance(out, dict) else out
                assert _from_project(study, path).startswith('study/'), (name, path)
    assert '--table paper' in other['claims']['cmd']


def test_a_value_yaml_would_misread_is_refused():
    """The text is written by hand-rolled rules, not a YAML dumper: a value they cannot write plainly stops it."""
    with pytest.raises(ValueError, match='cannot be written unquoted'):
        render(Pipeline(folder='odd', grid='grid #1.yaml', table='paper', figures=(1,), title='an odd grid',
                        about='An odd grid file name.'))
