"""YAML text written line by line, so that it can carry comments: block comments wrapped to a width, comments
beside entries, folded commands and one-line lists.

A YAML dumper drops comments; this writes the small subset of YAML a dvc.yaml uses (mappings, lists of scalars
or of one-key mappings, plain scalars) and refuses a scalar it cannot write unquoted. ``plain`` gives the value
the written text parses back to, so a caller can check the text with ``yaml.safe_load``.
"""
import re
import textwrap
from dataclasses import dataclass

import yaml

WIDTH = 115                   # the width comments are wrapped to
NOTE_COLUMN = 40              # where a comment beside a line starts (further right when the line is longer)
_KEEP = '\0'                  # a space that wrapping must not break at


class Folded(str):
    """A long string (a command) written on its line when it fits the width, else as a folded block wrapped at
    its spaces, which YAML reads back joined by single spaces."""


class Flow(tuple):
    """A short list written on one line."""


@dataclass(frozen=True)
class Note:
    """A list entry or a stage with a comment beside it."""
    value: object
    comment: str


def comment_lines(text: str, indent: str = '') -> list[str]:
    """``text`` as comment lines, paragraphs apart, never breaking a `quoted command`."""
    lines = []
    for paragraph in text.split('\n\n'):
        if lines:
            lines.append(f'{indent}#')
        kept = re.sub(r'`[^`]*`', lambda span: span.group().replace(' ', _KEEP), paragraph)
        lines += [line.replace(_KEEP, ' ') for line in textwrap.wrap(
            kept, WIDTH - len(indent), initial_indent=f'{indent}# ', subsequent_indent=f'{indent}# ',
            break_on_hyphens=False, break_long_words=False)]
    return lines


def beside(line: str, note: str) -> str:
    """``line`` with ``note`` as a comment beside it."""
    return f'{line.ljust(NOTE_COLUMN - 2)}  # {note}' if note else line


def scalar(value) -> str:
    """``value`` written unquoted; ValueError where YAML would read it back as something else."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    text = str(value)
    try:
        read = yaml.safe_load(f'k: {text}')
    except yaml.YAMLError:
        read = None
    if read != {'k': value} or ' #' in text or text.startswith(('#', '&', '*', '!', '|', '>')):
        raise ValueError(f'{text!r} cannot be written unquoted')
    return text


def yaml_lines(mapping: dict, indent: str = '') -> list[str]:
    """``mapping`` as YAML lines, each indented by ``indent``."""
    lines = []
    for key, value in mapping.items():
        if isinstance(value, Folded) and len(f'{indent}{key}: {value}') > WIDTH:
            if value != ' '.join(value.split()):
                raise ValueError(f'{value!r} cannot be folded: it has spaces that are not single')
            lines += [f'{indent}{key}: >-', *textwrap.wrap(value, WIDTH, initial_indent=f'{indent}  ',
                                                           subsequent_indent=f'{indent}  ', break_on_hyphens=False,
                                                           break_long_words=False)]
        elif isinstance(value, Flow):
            lines.append(f'{indent}{key}: [{", ".join(scalar(item) for item in value)}]')
        elif isinstance(value, dict):
            lines += [f'{indent}{key}:', *yaml_lines(value, indent + '  ')]
        elif isinstance(value, list):
            lines += [f'{indent}{key}:', *_sequence(value, indent + '  ')]
        else:
            lines.append(f'{indent}{key}: {scalar(value)}')
    return lines


def _sequence(items: list, indent: str) -> list[str]:
    lines = []
    for item in items:
        note = ''
        if isinstance(item, Note):
            item, note = item.value, item.comment
        if isinstance(item, dict):
            (key, value), = item.items()
            lines.append(beside(f'{indent}- {key}:', note))
            nested = indent + '    '
            lines += yaml_lines(value, nested) if isinstance(value, dict) else _sequence(value, nested)
        else:
            lines.append(beside(f'{indent}- {scalar(item)}', note))
    return lines


def plain(value):
    """``value`` as YAML reads it back: what the written text must parse to."""
    if isinstance(value, Note):
        return plain(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value
