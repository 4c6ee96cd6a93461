"""The typed errors of egx-notebook.

Every error derives from :class:`EgxError` and from the closest built-in exception, so callers can
catch either ``egx.errors.EgxError`` or e.g. ``ValueError``. Messages say what was wrong and how to fix it.
"""

from __future__ import annotations


class EgxError(Exception):
    """Base class of every error raised on purpose by egx-notebook."""


class RasterReadError(EgxError, OSError):
    """A raster source could not be opened or read (missing file, unknown format, bad URL)."""


class UnsupportedDataError(EgxError, TypeError):
    """The data cannot be analysed as is (e.g. complex SLC samples, a boolean image, mismatched band grids)."""


class MissingCRSError(EgxError, ValueError):
    """A map coordinate was given but the scene has no coordinate reference system (or vice versa)."""


class ModalityError(EgxError, ValueError):
    """An unknown modality name, or an operation that does not exist for this modality."""


class PromptError(EgxError, ValueError):
    """A visual prompt is malformed (empty polygon, negative stroke width, wrong mask shape, ...)."""


class PromptOutsideImageError(PromptError):
    """A visual prompt lies entirely outside the image."""


class QueryError(EgxError, ValueError):
    """A grounding query is empty or asks for something the backend cannot find."""


class EmptyQueryError(QueryError):
    """The grounding query is empty."""


class UnsupportedQueryError(QueryError):
    """The backend does not understand the query; the message lists what it understands."""


class BackendError(EgxError, RuntimeError):
    """A backend is unknown, cannot be loaded, or failed."""


class ExportError(EgxError, ValueError):
    """A result cannot be written to the requested format or place."""


class PromptClippedWarning(UserWarning):
    """A visual prompt was partly outside the image and has been clipped to it."""
