"""Edge formats around billing_core: contract files, JSON Lines events and invoice documents.

Submodules are imported by their users (``billing_io.contract_yaml``,
``billing_io.events_jsonl``, ...) so that reading events never loads the PDF stack.
"""
