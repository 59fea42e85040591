"""Errors that the app shows to a person (everything else is a bug and surfaces)."""


class DatasetError(Exception):
    """A problem with the person's data or settings that they can fix."""


class FormatError(DatasetError):
    """The bytes match no supported format, or the file cannot be read at all."""
