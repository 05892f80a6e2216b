"""Webhook subscriptions and the delivery worker (PRODUCT.md §5)."""
