"""The seed's factories (``numblr.datagenerator.factories``): inventories from CSV files, records,
dicts or items, and ready-to-use data sets of files or URLs (:func:`generator_for_files`,
:func:`generator_for_urls`)."""

from __future__ import annotations

import logging
import os
from typing import Any, Callable, Dict, Iterable, Optional, Sequence, Tuple, Union

from .dataset import GeneratorDataSet
from .encoders import DEFAULT_TIMEOUT, FileDataEncoder, RecordTargetEncoder, UrlDataEncoder

__all__ = ["inventory_from_csv", "inventory_from_records", "inventory_from_dict", "inventory_from_items",
           "enrich_inventory", "generator_for_files", "generator_for_urls"]

logger = logging.getLogger(__name__)

Inventory = Any  # a pandas DataFrame (pandas ships no type hints)


def inventory_from_csv(*args: Any, **kwargs: Any) -> Inventory:
    """An inventory read from a CSV file: ``pandas.read_csv``."""
    import pandas as pd
    return pd.read_csv(*args, **kwargs)


def inventory_from_records(*args: Any, **kwargs: Any) -> Inventory:
    """An inventory from records (dicts or tuples): ``pandas.DataFrame.from_records``."""
    import pandas as pd
    return pd.DataFrame.from_records(*args, **kwargs)


def inventory_from_dict(*args: Any, **kwargs: Any) -> Inventory:
    """An inventory from a dict of columns (or of rows): ``pandas.DataFrame.from_dict``."""
    import pandas as pd
    return pd.DataFrame.from_dict(*args, **kwargs)


def inventory_from_items(items: Iterable[Tuple[Any, Sequence[Any]]], columns: Optional[Sequence[Any]] = None,
                         orient: str = "columns") -> Inventory:
    """An inventory from ``(key, values)`` pairs, as the removed ``pandas.DataFrame.from_items``
    made it: keys are column names (``orient="columns"``), or row labels (``orient="index"``,
    with ``columns`` naming the columns); the pairs' order is kept."""
    import pandas as pd
    pairs = list(items)
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"inventory_from_items got a key twice: {[k for k in keys if keys.count(k) > 1][0]!r}")
    if orient == "columns":
        if columns is not None:
            raise ValueError("columns is only for orient='index' (with orient='columns' the keys name the columns)")
        return pd.DataFrame({key: list(values) for key, values in pairs}, columns=keys)
    if orient == "index":
        if columns is None:
            raise ValueError("orient='index' needs columns")
        return pd.DataFrame([list(values) for _, values in pairs], index=keys, columns=list(columns))
    raise ValueError(f"orient must be 'columns' or 'index': got {orient!r}")


def enrich_inventory(inventory: Inventory, resource_encoder: Any, id: str = "id",  # noqa: A002 (the seed's name)
                     include_meta: Optional[Dict[str, str]] = None) -> Inventory:
    """Adds each record's resource size (``include_meta={"size": column}``, the default
    ``{"size": "size"}``) and path (``{"path": column}``) to the inventory, as the resource encoder
    gives them, then returns it indexed by its ``id`` column (kept as a column too; duplicate
    ids raise ``ValueError``). A size or path that cannot be had is logged as a warning, not
    raised, as the seed does."""
    meta = {"size": "size"} if include_meta is None else include_meta
    try:
        if "size" in meta and len(inventory):
            inventory[meta["size"]] = inventory.apply(resource_encoder.get_size, axis=1)
        if "path" in meta and len(inventory):
            inventory[meta["path"]] = inventory.apply(resource_encoder.get_path, axis=1)
    except Exception:  # noqa: BLE001 (the seed's contract: metadata is best effort)
        logger.warning("Failed to enrich inventory with metadata", exc_info=True)
    ids = inventory[id]
    if not ids.is_unique:
        duplicates = sorted({str(value) for value in ids[ids.duplicated()]})
        raise ValueError(f"the inventory's {id!r} column holds duplicate ids: {', '.join(duplicates[:5])}"
                         + (" …" if len(duplicates) > 5 else ""))
    return inventory.set_index(id, drop=False)


def _inventory(inventory: Union[str, "os.PathLike[str]", Inventory]) -> Inventory:
    if isinstance(inventory, (str, os.PathLike)):
        return inventory_from_csv(inventory)
    return inventory


def generator_for_files(inventory_path: Union[str, "os.PathLike[str]", Inventory],
                        data_path: Union[str, "os.PathLike[str]", None], data_encoder: Callable[[Any], Any],
                        target_encoder: Any, id_mapper: Optional[Callable[[Any], Any]] = None,
                        id: str = "id", target: Optional[str] = "target",  # noqa: A002
                        binary: bool = False) -> GeneratorDataSet:
    """A fitted data set of files: the inventory (a CSV file's path, or a DataFrame) names each
    record's file in column ``id`` (``data_path/id_mapper(id)``), ``data_encoder(handle)`` encodes
    the open file (text, or bytes when ``binary``), and ``target_encoder`` (one encoder or a list
    applied in order, e.g. ``[LabelEncoder(), IntToOneHotEncoder()]``) the ``target`` column."""
    file_data_encoder = FileDataEncoder(data_encoder, data_path, id=id, id_mapper=id_mapper, binary=binary)
    record_target_encoder = RecordTargetEncoder(target_encoder, target)
    inventory = enrich_inventory(_inventory(inventory_path), file_data_encoder, id)
    data_set = GeneratorDataSet(inventory, file_data_encoder, record_target_encoder)
    data_set.fit_encoders()
    return data_set


def generator_for_urls(inventory_path: Union[str, "os.PathLike[str]", Inventory], base_url: str,
                       data_encoder: Callable[[Any], Any], target_encoders: Any, id: str = "id",  # noqa: A002
                       target: Optional[str] = "target", *, id_mapper: Optional[Callable[[Any], Any]] = None,
                       headers: Optional[Dict[str, str]] = None, type: str = "text",  # noqa: A002
                       binary: bool = False, timeout: float = DEFAULT_TIMEOUT,
                       include_meta: Optional[Dict[str, str]] = None) -> GeneratorDataSet:
    """A fitted data set of URLs: each record's resource is ``urljoin(base_url, id_mapper(id))``,
    fetched with ``urllib`` (``timeout`` seconds, ``headers``) as text, JSON (``type="json"``) or
    bytes (``type="binary"``, or ``binary=True``), and encoded by ``data_encoder(data)``;
    ``target_encoders`` encode the ``target`` column. The inventory gets each resource's size
    (a HEAD request per record) unless ``include_meta={}``."""
    url_data_encoder = UrlDataEncoder(data_encoder, base_url, id_mapper=id_mapper, headers=headers,
                                      type="binary" if binary else type, id=id, timeout=timeout)
    record_target_encoder = RecordTargetEncoder(target_encoders, target)
    inventory = enrich_inventory(_inventory(inventory_path), url_data_encoder, id, include_meta)
    data_set = GeneratorDataSet(inventory, url_data_encoder, record_target_encoder)
    data_set.fit_encoders()
    return data_set
