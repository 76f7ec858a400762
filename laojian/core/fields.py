"""Encrypted model fields and the blind index (issue 10; SEC-55, laojian/core/crypto.py).

The model sees plain text; the database row holds ``enc1:…`` (an empty value stays empty, so "is
it filled in" still works). A ciphertext is new at every save, so the database cannot compare
values: every lookup but ``isnull`` and an exact match on "" is refused with a ``FieldError``
rather than silently finding nothing. Exact search goes through a :class:`BlindIndexField`.

Every encrypted field is listed in docs/data-inventory.md; laojian/core/tests/test_encryption.py
fails when one is not.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import FieldError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.lookups import Exact, IsNull

from laojian.core import crypto


class EmptyOnlyExact(Exact):
    """``field=""``: the one equality the database can still answer."""

    def get_prep_lookup(self) -> Any:
        if self.rhs != "":
            raise FieldError(f"{self.lhs.target.label_lower}: an encrypted field cannot be searched; "
                             "use its blind index.")
        return self.rhs


class Encrypted:
    """Seal on the way to the database, open on the way back."""

    sensitive = True  # read by the data-inventory test

    @property
    def label_lower(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def get_internal_type(self) -> str:
        return "TextField"  # the ciphertext is longer than the plain max_length

    def from_db_value(self, value: str | None, expression, connection) -> str | None:
        return crypto.decrypt(value, self.label_lower) if value else value

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return crypto.encrypt(value, self.label_lower) if value else value

    def get_lookup(self, lookup_name: str):
        return {"isnull": IsNull, "exact": EmptyOnlyExact}.get(lookup_name)

    def get_transform(self, lookup_name: str):
        return None


class EncryptedCharField(Encrypted, models.CharField):
    """A short sensitive value (ID number, phone): a text input limited to ``max_length`` characters."""


class EncryptedTextField(Encrypted, models.TextField):
    """Sensitive free text (diagnosis, findings)."""


class EncryptedJSONField(Encrypted, models.TextField):
    """A JSON value holding personal or medical data (a document's printed values, a flag's
    evidence), sealed as one piece: the database sees neither its keys nor its values."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def from_db_value(self, value: str | None, expression, connection) -> Any:
        return None if value is None else json.loads(crypto.decrypt(value, self.label_lower))

    def to_python(self, value: Any) -> Any:
        return value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return crypto.encrypt(json.dumps(value, ensure_ascii=False, cls=DjangoJSONEncoder), self.label_lower)

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj), ensure_ascii=False, cls=DjangoJSONEncoder)


class BlindIndexField(models.CharField):
    """The keyed hash of another field's value, recomputed at every save, for exact lookups.

    ``Worker.objects.filter(id_number_index=Worker.index_of(number))`` finds a worker by the full
    number; the hash alone tells nothing without ``LAOJIAN_INDEX_KEY``.
    """

    def __init__(self, *args: Any, source: str = "", **kwargs: Any) -> None:
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        if kwargs.get("max_length") == 64:
            del kwargs["max_length"]
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def index_of(self, value: str) -> str:
        return crypto.blind_index(value, f"{self.model._meta.label_lower}.{self.source}")

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = self.index_of(getattr(model_instance, self.source) or "")
        setattr(model_instance, self.attname, value)
        return value


def seal_columns(app_label: str, model_name: str, *names: str, index: str = "") -> tuple[Any, Any]:
    """The (forward, backward) pair of a data migration that encrypts existing plain values in place.

    It reads and writes the raw columns (the ORM would try to decrypt the plain text), skips values
    already sealed, so a re-run is harmless, and fills ``index`` (a blind index of the first column).
    """

    def rows(schema_editor, model):
        qn = schema_editor.quote_name
        columns = ", ".join(qn(model._meta.get_field(name).column) for name in names)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"SELECT {qn(model._meta.pk.column)}, {columns} FROM {qn(model._meta.db_table)}")
            return cursor.fetchall()

    def write(schema_editor, model, pk, values: dict[str, str]) -> None:
        qn = schema_editor.quote_name
        sets = ", ".join(f"{qn(model._meta.get_field(name).column)} = %s" for name in values)
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"UPDATE {qn(model._meta.db_table)} SET {sets} WHERE {qn(model._meta.pk.column)} = %s",
                           [*values.values(), pk])

    def forward(apps, schema_editor) -> None:
        model = apps.get_model(app_label, model_name)
        label = model._meta.label_lower
        for pk, *values in rows(schema_editor, model):
            changed = {name: crypto.encrypt(value, f"{label}.{name}") for name, value in zip(names, values, strict=True)
                       if value and not crypto.key_id_of(value)}
            if index:
                plain = values[0] if not crypto.key_id_of(values[0] or "") else crypto.decrypt(values[0], f"{label}.{names[0]}")
                changed[index] = crypto.blind_index(plain or "", f"{label}.{names[0]}")
            if changed:
                write(schema_editor, model, pk, changed)

    def backward(apps, schema_editor) -> None:
        model = apps.get_model(app_label, model_name)
        label = model._meta.label_lower
        for pk, *values in rows(schema_editor, model):
            opened = {name: crypto.decrypt(value, f"{label}.{name}") for name, value in zip(names, values, strict=True)
                      if value and crypto.key_id_of(value)}
            if opened:
                write(schema_editor, model, pk, opened)

    return forward, backward
