"""The APIs this connector knows, one module each; the configuration key `source` picks one.

Each module defines `SOURCE = Source(...)` with the public API of `async_core.source` (see the README,
"Connecting your own API"). Nothing in `async_core` names a source.
"""
