"""Visionsassistenten / Visioavustaja: grounded answers about Nya hållbara kommuner."""

__version__ = "0.1.0"
