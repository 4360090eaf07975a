"""Service plumbing shared by the billing services.

Nothing here builds anything at import time: every engine, client, producer and app comes from a
factory that takes a settings object, so each service's ``bootstrap`` is the one place that wires them.
"""
