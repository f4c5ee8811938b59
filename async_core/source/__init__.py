"""The public API a source is written with: tables, columns, paginators, cursors, auth, error rules. See `sources/`.

from async_core.source import Column, JsonLink, Source, TableSpec

SOURCE = Source(name="my_api", base_url="https://api.example.com", tables=(TableSpec(...),))
"""

from async_core.source.auth import ApiKeyAuth, Auth, BasicAuth, BearerAuth, NoAuth, SessionAuth
from async_core.source.defaults import TableDefaults, TablePolicy
from async_core.source.deletes import Reconcile, Tombstone
from async_core.source.graphql import GraphQL, Relay
from async_core.source.incremental import Incremental
from async_core.source.nested import NestedList
from async_core.source.oauth2 import OAuth2ClientCredentials, OAuth2RefreshToken
from async_core.source.pagination import (
    Cursor,
    HeaderLink,
    JsonLink,
    JsonServer,
    Offset,
    PageNumber,
    Paginator,
    Single,
)
from async_core.source.policy import Policy
from async_core.source.rules import RecordAction, RecordRule, ResponseAction, ResponseRule, Rules
from async_core.source.spec import Column, ConfigKey, Parent, Source, TableSpec
from async_core.source.windows import Windows

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "BasicAuth",
    "BearerAuth",
    "Column",
    "ConfigKey",
    "Cursor",
    "GraphQL",
    "HeaderLink",
    "Incremental",
    "JsonLink",
    "JsonServer",
    "NestedList",
    "NoAuth",
    "OAuth2ClientCredentials",
    "OAuth2RefreshToken",
    "Offset",
    "PageNumber",
    "Paginator",
    "Parent",
    "Policy",
    "Reconcile",
    "RecordAction",
    "RecordRule",
    "Relay",
    "ResponseAction",
    "ResponseRule",
    "Rules",
    "SessionAuth",
    "Single",
    "Source",
    "TableDefaults",
    "TablePolicy",
    "TableSpec",
    "Tombstone",
    "Windows",
]
