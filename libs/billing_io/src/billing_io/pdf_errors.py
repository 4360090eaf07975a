"""The one error the invoice renderer raises, so callers can tell bad input from bugs."""


class InvoiceRenderError(ValueError):
    """The invoice JSON handed to the renderer is malformed; the message names the field path."""
