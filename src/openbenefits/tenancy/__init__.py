"""Tenants, studios, partners and their integrations, and the credentials that act for them."""
