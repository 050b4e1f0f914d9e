"""The local web viewer (``sessiondb serve``) and transcript export (``sessiondb export``).

A thin, read-only face over the public :mod:`sessiondb` API. Stored session text is
untrusted: every piece of it is escaped before it reaches a page, markdown is rendered
with raw HTML disabled and only http(s)/mailto links, and pages carry a strict
Content-Security-Policy. Nothing here writes to the database.
"""
