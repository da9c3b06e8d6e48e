"""The write half of a bulk upsert, shared by every ingester: one batch's rows deduplicated by
their key, matched to the rows already stored, changed rows written in one statement per set
of changed fields and new rows in one bulk insert."""

from dataclasses import dataclass, field


def dedupe(rows, *, key, message):
    """Keep the first row of each key: `rows` is [(position, data)]; returns (unique rows,
    errors), a later duplicate getting `message(first position)` as its error, which is
    {field: [text]}."""
    seen, unique, errors = {}, [], []
    for position, data in rows:
        value = key(data)
        if value in seen:
            errors.append((position, message(seen[value])))
            continue
        seen[value] = position
        unique.append((position, data))
    return unique, errors


@dataclass
class Upsert:
    """What a batch will write: the new rows, the changed rows grouped by the set of fields
    that changed (see `stage_changes`), and how many were already as given."""

    created: list = field(default_factory=list)
    changed: dict = field(default_factory=dict)
    unchanged: int = 0

    @property
    def updated(self):
        return sum(map(len, self.changed.values()))

    def match(self, rows, *, existing, key, fields, build, now):
        """Match each of `rows` ([(position, data)]) to `existing` ({key: stored row}): a
        stored row gets the values of `fields` the data carries; a new one is `build(data)`."""
        for _, data in rows:
            row = existing.get(key(data))
            if row is None:
                self.created.append(build(data))
            elif not stage_changes(row, data, fields, now=now, pending=self.changed):
                self.unchanged += 1
        return self

    def write(self, model):
        """Insert the new rows and write the changed ones (in the caller's transaction)."""
        model.objects.bulk_create(self.created, batch_size=1000)
        write_changes(model, self.changed)


def stage_changes(obj, data, fields, *, now, pending):
    """Copy onto a loaded row the values of `fields` that `data` carries; if any differ,
    stamp `updated_at` and queue the row in `pending`, grouped by the set of changed fields
    (one bulk write per group). Returns whether it changed."""
    changed = [name for name in fields if name in data and _stored(obj, name) != _raw(data[name])]
    for name in changed:
        setattr(obj, name, data[name])
    if changed:
        obj.updated_at = now
        pending.setdefault(frozenset(changed), []).append(obj)
    return bool(changed)


def _stored(obj, name):
    # A foreign key is compared by its id: reading the related object would be a query a row.
    return getattr(obj, obj._meta.get_field(name).attname)


def _raw(value):
    return value.pk if hasattr(value, "_meta") else value


def write_changes(model, pending):
    """Write the rows `stage_changes` queued, by primary key, with INSERT … ON CONFLICT DO
    UPDATE: one statement per batch, several times faster than bulk_update's CASE WHEN.
    The rows must be fully loaded (every column goes into the INSERT part)."""
    for fields, objects in pending.items():
        model.objects.bulk_create(objects, update_conflicts=True,
                                  unique_fields=[model._meta.pk.name],
                                  update_fields=[*fields, "updated_at"], batch_size=1000)


