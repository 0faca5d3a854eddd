"""Everything that determines a training run, taken from params.yaml.

``RunSpec``'s fields are those of the params sections that describe a run (``bnonly.settings``: the top-level
``RunSettings``, ``model:``'s ``ModelSettings`` and ``train:``'s ``TrainSettings``), with their types, defaults
and allowed values: a new training setting is a field there, and appears here, in ``from_params``, in
``as_dict`` and in the fingerprint by itself.
"""
import dataclasses
import hashlib
import json

from bnonly.config import section_values
from bnonly.settings import ModelSettings, RunSettings, TrainSettings, model_keywords

# Where each base's fields are in a params file (None: the top level). The fields keep this order in RunSpec,
# and so in ``as_dict`` (config.yaml's ``run:``): the bases below are listed in reverse, as dataclasses
# collect the fields of a class's bases from the last to the first.
SECTIONS = ((None, RunSettings), ('model', ModelSettings), ('train', TrainSettings))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunSpec(TrainSettings, ModelSettings, RunSettings):
    """One training run: every setting of its params sections (see the module docstring)."""

    @classmethod
    def from_params(cls, params: dict) -> 'RunSpec':
        """From a (validated) params file's content; absent keys with defaults get them, others are errors."""
        values = {}
        for section, settings in SECTIONS:
            values.update(section_values(settings, params, section))
        return cls(**values)

    def as_dict(self) -> dict:
        """The settings as plain values (tuples as lists), leaving out the fields marked ``omit_default`` while
        they have their default: the runs that do not use a later setting keep their fingerprint and their
        resume state."""
        result = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.metadata.get('omit_default') and value == field.default:
                continue
            result[field.name] = list(value) if isinstance(value, tuple) else value
        return result

    def model_keywords(self) -> dict:
        """``create_model``'s keywords beyond the paper's network, only where they are not their default."""
        return model_keywords(vars(self))

    def fingerprint(self, data_meta: dict) -> str:
        """A key for the resume state: the spec plus the prepared data it trains on, described by its meta.json
        without the raw files' location (``root``: another clone or machine holds the same data elsewhere,
        and a requeued run must find its state there)."""
        data = {key: value for key, value in data_meta.items() if key != 'root'}
        blob = json.dumps({'spec': self.as_dict(), 'data': data}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
