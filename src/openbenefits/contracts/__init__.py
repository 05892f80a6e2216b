"""Rates (membership tariffs), main contracts and the term arithmetic they share."""
