"""The seed's Python API (numblr.datagenerator) on today's numpy, pandas, scikit-learn and Keras 3,
with batches served from a cache file on request.

>>> from datagen.compat import generator_for_files, LabelEncoder, IntToOneHotEncoder
>>> data_set = generator_for_files("inventory.csv", "digits", encode_file,
...                                [LabelEncoder(), IntToOneHotEncoder()], id_mapper=lambda id: id + ".txt")
>>> train, validation, test = data_set.split(validation=0.2, test=0.2, seed=0)
>>> model.fit(train.batches(batch_size=128), steps_per_epoch=train.size // 128, epochs=4)
>>> cached = data_set.cached("digits.dgcache")      # the same batches, from a cache file

Needs pandas (``pip install datagen[compat]``, which adds scikit-learn for ``LabelEncoder``);
``import datagen`` alone does not load this package.
"""

from __future__ import annotations

from typing import Any

from . import dataset, encoders, factories
from .dataset import CachedDataSet, GeneratorDataSet
from .encoders import (BatchDataEncoder, DataEncoder, FileDataEncoder, IdentityEncoder, IntToOneHotEncoder,
                       LabelRecordEncoder, OneHotRecordEncoder, RecordTargetEncoder, ResourceDataEncoder,
                       UrlDataEncoder)
from .factories import (enrich_inventory, generator_for_files, generator_for_urls, inventory_from_csv,
                        inventory_from_dict, inventory_from_items, inventory_from_records)

__all__ = [
    "dataset",
    "encoders",
    "factories",
    "GeneratorDataSet",
    "CachedDataSet",
    "BatchDataEncoder",
    "DataEncoder",
    "ResourceDataEncoder",
    "FileDataEncoder",
    "UrlDataEncoder",
    "RecordTargetEncoder",
    "LabelRecordEncoder",
    "OneHotRecordEncoder",
    "IdentityEncoder",
    "IntToOneHotEncoder",
    "LabelEncoder",
    "OneHotEncoder",
    "generator_for_files",
    "generator_for_urls",
    "inventory_from_csv",
    "inventory_from_records",
    "inventory_from_dict",
    "inventory_from_items",
    "enrich_inventory",
]

__version__ = "0.0.1"  # the seed's version, whose API this package follows


def __getattr__(name: str) -> Any:
    """``LabelEncoder`` and ``OneHotEncoder``: scikit-learn's classes, imported on first use."""
    if name in ("LabelEncoder", "OneHotEncoder"):
        return getattr(encoders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
