"""The operator console (PRODUCT.md §9): the people who run a tenant, and what they see."""
