"""Store errors; the type tells the caller whether retrying can help."""


class StoreError(Exception):
    """Root of collectpulse store errors."""

    retriable = False


class WriteConflict(StoreError):
    """Another writer kept changing the partition while this batch was planned."""

    retriable = True
