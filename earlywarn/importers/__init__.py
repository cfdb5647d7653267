"""Converters from public data sets to contract folders (CONTRACT.md).

:mod:`earlywarn.importers.oulad.convert` turns the Open University Learning Analytics Dataset into
a folder
that ``earlywarn validate`` accepts, so the project can be measured on data nobody here made.
"""
