"""Trainset Studio core: everything the app computes, without any UI."""

__version__ = "0.1.0"
