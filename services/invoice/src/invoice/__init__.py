"""Invoice service: turns closed periods into numbered, immutable invoices with their PDFs."""
