"""The institution data contract (CONTRACT.md): table specs, the loader and the validator."""

from earlywarn.contract.load import load_tables
from earlywarn.contract.report import ValidationReport
from earlywarn.contract.schema import SCHEMA, TABLES, Column, TableSpec
from earlywarn.contract.tables import ALL_TABLES, OPTIONAL_TABLES, REQUIRED_TABLES, Tables
from earlywarn.contract.validate import validate_folder

__all__ = [
    "ALL_TABLES",
    "OPTIONAL_TABLES",
    "REQUIRED_TABLES",
    "SCHEMA",
    "TABLES",
    "Column",
    "TableSpec",
    "Tables",
    "ValidationReport",
    "load_tables",
    "validate_folder",
]
