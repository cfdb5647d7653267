"""The institution data contract (CONTRACT.md): table specs, the loader and the validator."""

from earlywarn.contract.tables import ALL_TABLES, OPTIONAL_TABLES, REQUIRED_TABLES, Tables

__all__ = ["ALL_TABLES", "OPTIONAL_TABLES", "REQUIRED_TABLES", "Tables"]
