"""The token endpoint's statements, written out: take a code, start a grant, take and add refresh tokens.

Through the ORM, compiling these few statements and converting their rows cost more CPU than the two
RSA signatures of a token response (bench/README.md). They run on every code exchange and refresh, so
they are written once here as SQL. Table and column names come from the models; values go through each
field's own conversion to and from the database (as the ORM's compiler would apply them), so the rows
read are ordinary model instances and the rows written are what `Model.save()` would write.
"""

import functools
import weakref
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connection, connections
from oauth2_provider.models import get_grant_model, get_refresh_token_model

from .models import Client, RevokedAccessToken, TokenFamily

_CONVERTERS = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class _Table:
    """A model's concrete fields (or the `only` ones) under a table alias: their SELECT list, and rows
    back into instances. Fields left out are deferred: reading one later costs a query of its own."""

    model: type
    alias: str
    only: tuple = ()

    @functools.cached_property
    def fields(self):
        fields = self.model._meta.concrete_fields
        return tuple(f for f in fields if f.attname in self.only) if self.only else tuple(fields)

    @functools.cached_property
    def attnames(self):
        return [f.attname for f in self.fields]

    @functools.cached_property
    def select(self):
        return ", ".join(f"{self.alias}.{_quote(f.column)}" for f in self.fields)

    def converters(self):
        """What the SQL compiler applies to each column: the backend's converters, then the field's own.

        Per connection: a backend's converters are bound to the connection of the thread that made them.
        """
        wrapper = connections[DEFAULT_DB_ALIAS]
        per_connection = _CONVERTERS.get(wrapper)
        if per_connection is None:
            per_connection = _CONVERTERS[wrapper] = {}
        found = per_connection.get(self)
        if found is None:
            found = per_connection[self] = []
            for index, field in enumerate(self.fields):
                expression = field.get_col(self.alias)
                functions = [
                    *wrapper.ops.get_db_converters(expression),
                    *expression.get_db_converters(wrapper),
                ]
                if functions:
                    found.append((index, expression, functions))
        return found

    @functools.cached_property
    def pk_index(self):
        return self.fields.index(self.model._meta.pk)

    def load(self, values):
        """The model instance a row's slice of values is, or None when a LEFT JOIN found no row."""
        values = list(values)
        if values[self.pk_index] is None:
            return None
        for index, expression, functions in self.converters():
            value = values[index]
            for function in functions:
                value = function(value, expression, connection)
            values[index] = value
        return self.model.from_db(connection.alias, self.attnames, values)

    def width(self):
        return len(self.fields)


def _quote(name):
    return connection.ops.quote_name(name)


def _table_name(model):
    return _quote(model._meta.db_table)


def _for_update_of(alias):
    """Lock the named table's rows where the database can (SQLite's one writer needs no lock)."""
    if connection.features.has_select_for_update_of:
        return f" FOR UPDATE OF {alias}"
    if connection.features.has_select_for_update:
        return " FOR UPDATE"
    return ""


@functools.cache
def _tables():
    return {
        "code": _Table(get_grant_model(), "g"),
        "user": _Table(get_user_model(), "u"),
        "refresh": _Table(get_refresh_token_model(), "r"),
        "grant": _Table(TokenFamily, "f"),
        # What deciding an access token's activity and answering userinfo and introspection read: each
        # column costs its decoding on every call.
        "grant_state": _Table(
            TokenFamily,
            "f",
            ("id", "family", "client_id", "user_id", "scope", "userinfo_claims", "revoked_at", "expires_at"),
        ),
        "grant_state_user": _Table(
            get_user_model(),
            "u",
            ("id", "is_active", "first_name", "last_name", "email", "email_verified", "updated_at"),
        ),
    }


@functools.cache
def _code_sql():
    t = _tables()
    code, user = t["code"], t["user"]
    return (
        f"SELECT {code.select}, {user.select} FROM {_table_name(code.model)} g "  # noqa: S608
        f"JOIN {_table_name(user.model)} u ON u.{_quote('id')} = g.{_quote('user_id')} "
        f"WHERE g.{_quote('code')} = %s" + _for_update_of("g")
    )


def code_take(code):
    """The authorization code row `code` names, locked for this transaction, with its user; or None."""
    t = _tables()
    row = _fetch_one(_code_sql(), [code])
    if row is None:
        return None
    width = t["code"].width()
    found = t["code"].load(row[:width])
    found.user = t["user"].load(row[width:])
    return found


@functools.cache
def _code_delete_sql():
    return f"DELETE FROM {_table_name(get_grant_model())} WHERE {_quote('id')} = %s"  # noqa: S608


def code_delete(row):
    _execute(_code_delete_sql(), [row.pk])


@functools.cache
def _refresh_sql():
    t = _tables()
    refresh, grant, user = t["refresh"], t["grant"], t["user"]
    return (
        f"SELECT {refresh.select}, {grant.select}, {user.select} "  # noqa: S608
        f"FROM {_table_name(refresh.model)} r "
        f"LEFT JOIN {_table_name(grant.model)} f ON f.{_quote('family')} = r.{_quote('token_family')} "
        f"LEFT JOIN {_table_name(user.model)} u ON u.{_quote('id')} = f.{_quote('user_id')} "
        f"WHERE r.{_quote('token_checksum')} = %s" + _for_update_of("r")
    )


def refresh_tokens_take(checksum):
    """[(refresh token, its grant or None)] of the rows with `checksum`, locked; each grant with its user."""
    t = _tables()
    refresh, grant, user = t["refresh"], t["grant"], t["user"]
    with connection.cursor() as cursor:
        cursor.execute(_refresh_sql(), [checksum])
        rows = cursor.fetchall()
    taken = []
    a, b = refresh.width(), refresh.width() + grant.width()
    for row in rows:
        token, family = refresh.load(row[:a]), grant.load(row[a:b])
        if family is not None:
            family.user = user.load(row[b:])
        taken.append((token, family))
    return taken


@functools.cache
def _grant_state_sql():
    t = _tables()
    grant, user = t["grant_state"], t["grant_state_user"]
    refresh, denied = _table_name(get_refresh_token_model()), _table_name(RevokedAccessToken)
    return (
        f"SELECT {grant.select}, {user.select}, c.{_quote('client_id')}, c.{_quote('is_active')}, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {refresh} r WHERE r.{_quote('id')} = %s "
        f"AND r.{_quote('token_family')} = f.{_quote('family')} AND r.{_quote('revoked')} IS NULL), "
        f"EXISTS (SELECT 1 FROM {denied} d WHERE d.{_quote('jti')} = %s) "
        f"FROM {_table_name(grant.model)} f "
        f"JOIN {_table_name(user.model)} u ON u.{_quote('id')} = f.{_quote('user_id')} "
        f"JOIN {_table_name(Client)} c ON c.{_quote('id')} = f.{_quote('client_id')} "
        f"WHERE f.{_quote('family')} = %s"
    )


@dataclass(frozen=True)
class GrantState:
    """What decides whether an access token of a grant is active, read in one statement."""

    grant: object  # the TokenFamily, its user attached
    client_id: str
    client_active: bool
    refresh_token_current: bool  # the refresh token issued with the access token is not yet used
    denied: bool  # the access token's jti is on the deny-list


def grant_state(*, family, refresh_id, jti):
    """The GrantState of grant `family` for an access token (`refresh_id`, `jti`), or None."""
    t = _tables()
    value = TokenFamily._meta.get_field("family").get_db_prep_value(family, connection)
    row = _fetch_one(_grant_state_sql(), [refresh_id, jti, value])
    if row is None:
        return None
    grant_table, user_table = t["grant_state"], t["grant_state_user"]
    a, b = grant_table.width(), grant_table.width() + user_table.width()
    grant = grant_table.load(row[:a])
    grant.user = user_table.load(row[a:b])
    client_id, client_active, current, denied = row[b:]
    return GrantState(grant, client_id, bool(client_active), bool(current), bool(denied))


@functools.cache
def _refresh_use_sql():
    return (
        f"UPDATE {_table_name(get_refresh_token_model())} "  # noqa: S608
        f"SET {_quote('revoked')} = %s, {_quote('updated')} = %s WHERE {_quote('id')} = %s"
    )


def refresh_token_use(token, *, now):
    """Mark a refresh token used (rotated): from now on presenting it is reuse."""
    field = get_refresh_token_model()._meta.get_field("revoked")
    value = field.get_db_prep_save(now, connection)
    _execute(_refresh_use_sql(), [value, value, token.pk])
    token.revoked = token.updated = now


def insert(instance, *, returning_pk=False):
    """INSERT one new model instance as `save()` would, without its cost; sets its pk when asked."""
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and getattr(f, "db_returning", False))]
    sql = _insert_sql(type(instance), tuple(f.column for f in fields), returning_pk)
    values = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if returning_pk:
            returned = connection.features.can_return_columns_from_insert
            pk = cursor.fetchone()[0] if returned else cursor.lastrowid
            setattr(instance, meta.pk.attname, pk)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


@functools.cache
def _insert_sql(model, columns, returning_pk):
    sql = (
        f"INSERT INTO {_table_name(model)} ({', '.join(_quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    if returning_pk and connection.features.can_return_columns_from_insert:
        sql += f" RETURNING {_quote(model._meta.pk.column)}"
    return sql


def _fetch_one(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _execute(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
